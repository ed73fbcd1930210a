// The renderer contract: a model family's way from the toolkit's Prompt (images and question
// text) and response token ids to the training service's ModelInput, and back from sampled
// tokens to text. Training inputs follow tinker-cookbook's datum construction
// (supervised/common.py, create_rightshifted_model_input_and_leftshifted_targets and
// rl/data_processing.py): the model reads every token but the last, the targets are every
// token but the first (image positions 0), and the weights are 0 where the target is a prompt
// token and 1 where it is a response token.
import { InvalidInputError } from '@vzero/core';
import type { Prompt } from '@vzero/core';
import { ModelInputBuilder, chunkLength, flattenTokens, modelInputLength, textChunk } from './model-input.js';
import type { ModelInput, ModelInputChunk } from './model-input.js';

export interface RenderOptions {
  /**
   * End with the opening of the assistant turn, where sampling starts (default true). Off, the
   * input ends after the user turn (for building longer conversations by hand).
   */
  readonly addGenerationPrompt?: boolean;
}

/** A rendered prompt. */
export interface RenderedPrompt {
  readonly modelInput: ModelInput;
  /** Positions of the whole prompt, image positions included: `modelInputLength(modelInput)`. */
  readonly promptTokenCount: number;
  /** Positions of each image of the prompt, in `prompt.images` order. */
  readonly imageTokenCounts: readonly number[];
}

/** A prompt and a response as one training example, every per-token array aligned. */
export interface TrainingInput {
  /** The prompt then the response, without the response's last token: what the model reads. */
  readonly modelInput: ModelInput;
  /** The token each input position predicts: the sequence without its first token (images 0). */
  readonly targetTokens: number[];
  /** 1 where the target is a response token, else 0 (sums to `responseTokenCount`). */
  readonly weights: number[];
  readonly promptTokenCount: number;
  readonly responseTokenCount: number;
  /** Index in `targetTokens` (and `weights`) where response token 0 is the target. */
  readonly responseStart: number;
  readonly imageTokenCounts: readonly number[];
}

/** Sampled tokens read back. */
export interface ParsedResponse {
  /** The response text, without the stop token. */
  readonly text: string;
  /** The tokens before the first stop token (all of them when none). */
  readonly tokens: number[];
  /** Whether a stop token ended the response (false: cut off by a length limit). */
  readonly stopped: boolean;
}

export interface Renderer {
  /** The family, for logs ('qwen3-vl-instruct', 'vzero-toolkit'). */
  readonly name: string;
  /** Identifies the tokenizer: two renderers with equal ids give equal token ids. */
  readonly tokenizerId: string;
  /** Token ids in [0, vocabSize) are valid. */
  readonly vocabSize: number;
  /** Token ids that end a sampled response. */
  readonly stopTokens: readonly number[];
  render(prompt: Prompt, options?: RenderOptions): RenderedPrompt;
  /**
   * The prompt (with its generation prompt) followed by `responseTokens` (as sampled: with the
   * stop token when one ended the response), shifted for next-token training.
   */
  renderTraining(prompt: Prompt, responseTokens: readonly number[]): TrainingInput;
  parseResponse(tokens: readonly number[]): ParsedResponse;
  decode(tokens: readonly number[]): string;
}

/** Throws InvalidInputError naming the first id that is not an integer in [0, vocabSize). */
export function checkTokenIds(ids: readonly number[], vocabSize: number, field: string): void {
  if (!Array.isArray(ids)) throw new InvalidInputError(field, ids, 'expected an array of token ids');
  ids.forEach((id, i) => {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new InvalidInputError(`${field}[${i}]`, id, `expected a token id in [0, ${vocabSize})`);
    }
  });
}

/**
 * A training input from a rendered prompt and response tokens: the cookbook's right-shifted
 * input and left-shifted targets, with weights 0 on the prompt and 1 on the response.
 */
export function trainingInput(
  rendered: RenderedPrompt,
  responseTokens: readonly number[],
  vocabSize: number,
  field = 'responseTokens',
): TrainingInput {
  checkTokenIds(responseTokens, vocabSize, field);
  if (responseTokens.length === 0) {
    throw new InvalidInputError(field, [], 'a training example needs at least one response token');
  }
  const builder = new ModelInputBuilder();
  for (const c of rendered.modelInput.chunks) {
    if (c.type === 'encoded_text') builder.text(c.tokens);
    else builder.image(c);
  }
  const full = builder.text(responseTokens).build();
  const promptTokenCount = rendered.promptTokenCount;
  const total = promptTokenCount + responseTokens.length;
  // The last chunk is text (the response just appended): drop its last token.
  const chunks: ModelInputChunk[] = full.chunks.slice(0, -1);
  const last = full.chunks[full.chunks.length - 1];
  if (last?.type !== 'encoded_text') throw new Error('unreachable: the response ends the input');
  if (last.tokens.length > 1) chunks.push(textChunk(last.tokens.slice(0, -1)));
  const targetTokens = flattenTokens(full, 0).slice(1);
  const weights = Array.from({ length: total - 1 }, (_, i) => (i + 1 >= promptTokenCount ? 1 : 0));
  return {
    modelInput: { chunks },
    targetTokens,
    weights,
    promptTokenCount,
    responseTokenCount: responseTokens.length,
    responseStart: promptTokenCount - 1,
    imageTokenCounts: rendered.imageTokenCounts,
  };
}

/**
 * Per-response-token values (sampled log-probs, advantages, gate weights) spread over a
 * training input's targets: value k at `responseStart + k`, `fill` on the prompt's targets.
 */
export function alignToTargets(
  training: TrainingInput,
  values: ArrayLike<number>,
  fill = 0,
  field = 'values',
): number[] {
  if (values.length !== training.responseTokenCount) {
    throw new InvalidInputError(
      field,
      `${values.length} values`,
      `expected one per response token (${training.responseTokenCount})`,
    );
  }
  const out = new Array<number>(training.targetTokens.length).fill(fill);
  for (let k = 0; k < values.length; k++) out[training.responseStart + k] = values[k] as number;
  return out;
}

/** Checks the invariants every renderer's output keeps (used by tests and by callers that build inputs by hand). */
export function checkTrainingInput(training: TrainingInput): void {
  const n = modelInputLength(training.modelInput);
  if (training.targetTokens.length !== n || training.weights.length !== n) {
    throw new InvalidInputError(
      'training',
      { input: n, targets: training.targetTokens.length, weights: training.weights.length },
      'model input, targets and weights must have one entry per position',
    );
  }
  training.modelInput.chunks.forEach((c, i) => chunkLength(c, `training.modelInput.chunks[${i}]`));
}
