// Shared data types of the toolkit. The label-free sample has no answer field at all, so the
// V-Zero and OPD paths, which accept only LabelFreeSample, cannot be handed answers: the
// compiler enforces "answer-label-free", not discipline.

/** An axis-aligned box in pixel coordinates of its image: [x0, y0) to (x1, y1], x1 > x0, y1 > y0. */
export interface Box {
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
}

/** How a box's numbers are to be read: pixels, fractions of the image, or Qwen-style 0-1000. */
export type BoxFormat = 'pixel' | 'normalized' | 'qwen1000';

/** Where a sample's image lives: a file on disk, or bytes already in memory. */
export type ImageSource = { readonly path: string } | { readonly bytes: Uint8Array };

/** Question families of the fine-grained visual question world (and of V* Bench). */
export type QuestionCategory = 'attribute' | 'spatial' | (string & {});

/** A training or evaluation question without its answer. */
export interface LabelFreeSample {
  readonly id: string;
  readonly image: ImageSource;
  readonly question: string;
  /** Multiple-choice options in display order; option i is labelled by letter i (A, B, ...). */
  readonly options: readonly string[];
  /** The question-relevant region(s), in pixels of the image: the source of the positive crop. */
  readonly boxes: readonly Box[];
  readonly category: QuestionCategory;
  /** No answer on the label-free path, enforced at the type level. */
  readonly answer?: never;
  readonly answerIndex?: never;
}

/** A sample with its answer: for baselines (SFT, GRPO), pre-training and evaluation only. */
export interface LabelledSample extends Omit<LabelFreeSample, 'answer' | 'answerIndex'> {
  /** The correct option's letter ("A", "B", ...). */
  readonly answer: string;
  readonly answerIndex: number;
}

/** Drops the answer: the one sanctioned way from labelled to label-free data. */
export function withoutAnswer(sample: LabelledSample): LabelFreeSample {
  const { answer: _a, answerIndex: _i, ...rest } = sample;
  return rest;
}

/** Option letter for index i (0 -> "A"). */
export function optionLetter(index: number): string {
  return String.fromCharCode(65 + index);
}

/** Decoded image pixels, channels-last, values in [0, 1]. */
export interface ImagePixels {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly data: Float32Array;
}

/** The role an image plays in a prompt: the full image, or an evidence view (crop) after it. */
export type ImageRole = 'full' | 'crop';

/**
 * One image slot of a prompt. Remote policies send `encoded`; local models read `pixels`.
 * `id` identifies the content: prompts whose images share ids share their encoded prefix.
 */
export interface PromptImage {
  readonly id: string;
  readonly role: ImageRole;
  readonly encoded?: { readonly bytes: Uint8Array; readonly mime: 'image/png' | 'image/jpeg' };
  readonly pixels?: ImagePixels;
}

/** A prompt: images in order (full image first, then an optional crop), then the question text. */
export interface Prompt {
  readonly id: string;
  readonly images: readonly PromptImage[];
  readonly text: string;
}

/** Why a sampled response ended. */
export type FinishReason = 'stop' | 'length';

/** Sampling settings shared by every Policy. */
export interface SamplingOptions {
  /** Responses per prompt (G). */
  readonly n: number;
  readonly temperature: number;
  readonly topP: number;
  /** 0 disables top-k. */
  readonly topK: number;
  readonly maxTokens: number;
  /** Token ids that end a response (the tokenizer's end-of-sequence is always one). */
  readonly stop?: readonly number[];
  readonly seed: number;
  /**
   * One seed per prompt that replaces the seed a 'prompt-id' policy derives from (seed, prompt.id):
   * a server that receives each prompt's seed already derived (a training service's sampler)
   * reproduces the rollouts an in-process policy would make.
   */
  readonly promptSeeds?: readonly number[];
}

/** One sampled response of a policy. */
export interface SampledResponse {
  readonly tokenIds: readonly number[];
  /** Log-prob of each sampled token under the policy at temperature 1 (what OPD needs). */
  readonly logprobs: Float32Array;
  /** Log-prob of each sampled token under the distribution actually sampled from. */
  readonly samplingLogprobs: Float32Array;
  readonly finishReason: FinishReason;
  readonly text: string;
}

/** Teacher-forced scoring of given response tokens after a prompt. */
export interface ScoreRequest {
  readonly prompt: Prompt;
  readonly responseTokenIds: readonly number[];
}

/** Per-token log-probs of a scored response; `topK` when requested. */
export interface ScoreResult {
  readonly logprobs: Float32Array;
  readonly topK?: { readonly ids: readonly Int32Array[]; readonly logprobs: readonly Float32Array[] };
}

/**
 * The Policy contract. Local tfjs models implement it, so does a remote OpenAI-compatible
 * server. Rollout, teacher replay and the benchmark harness see only this interface.
 */
export interface Policy {
  /** A human-readable name for logs. */
  readonly name: string;
  /** Identifies the tokenizer; teacher and student must agree on it. */
  readonly tokenizerId: string;
  /** Longest prompt + response the policy can process, in tokens (image tokens included). */
  readonly contextLength: number;
  /**
   * 'prompt-id': a prompt's rollouts depend only on (options.seed, prompt.id, the prompt), never on
   * the other prompts in the call, so callers may batch prompts freely. Absent: seeding may depend
   * on the call, and @vzero/rollout sends one prompt per call to stay reproducible.
   */
  readonly samplingSeedScope?: 'prompt-id';
  /** Samples `options.n` responses for each prompt: result[i][g] is rollout g of prompt i. */
  sample(prompts: readonly Prompt[], options: SamplingOptions): Promise<SampledResponse[][]>;
  /** Teacher-forced log-probs of each request's response tokens, in request order. */
  score(requests: readonly ScoreRequest[], options?: { readonly topK?: number }): Promise<ScoreResult[]>;
  /** Text of token ids (for logs and answer extraction). */
  decode(tokenIds: readonly number[]): string;
}

/** A student rollout as the rest of the pipeline sees it. */
export interface Trajectory {
  readonly promptId: string;
  /** Rollouts of the same prompt share a group id; the gate normalises within a group. */
  readonly groupId: string;
  readonly index: number;
  readonly tokenIds: readonly number[];
  /** Student log-probs at temperature 1 at sampling time (old policy). */
  readonly logprobs: Float32Array;
  readonly samplingLogprobs: Float32Array;
  /** 1 for real response tokens, 0 for padding. Same length as tokenIds. */
  readonly mask: Uint8Array;
  readonly finishReason: FinishReason;
  readonly text: string;
}

/** Teacher log-probs of one trajectory's tokens under the positive and (optionally) negative view. */
export interface TeacherScores {
  readonly positive: Float32Array;
  readonly negative?: Float32Array;
  readonly topK?: { readonly ids: readonly Int32Array[]; readonly logprobs: readonly Float32Array[] };
}
