// Teacher replay: teacher-forced log-probs of the student's response tokens under the positive
// evidence view (l+) and, for V-Zero, under the negative view (l-). Alignment is checked, never
// assumed: a length mismatch or a non-finite log-prob at a real token is an error naming the
// trajectory and position, because a silently shifted l+ trains the student on noise.
import {
  InvalidInputError,
  ShapeMismatchError,
  VZeroError,
  type Policy,
  type Prompt,
  type ScoreRequest,
  type ScoreResult,
  type TeacherScores,
  type Trajectory,
} from '@vzero/core';

/** The teacher's two prompts for one student prompt: [full image, crop, question] each. */
export interface ReplayViews {
  /** Full image, positive crop z+ (the question-relevant region), question. */
  readonly positive: Prompt;
  /** Same full image (same PromptImage id), negative view z- in the crop slot, same question. */
  readonly negative?: Prompt;
}

/** Views per student prompt id. */
export type ViewsByPrompt = ReadonlyMap<string, ReplayViews> | Readonly<Record<string, ReplayViews>>;

export interface ReplayProgress {
  readonly promptsDone: number;
  readonly promptsTotal: number;
  /** Score requests sent so far (one per trajectory and view). */
  readonly requests: number;
}

export interface ReplayOptions {
  /**
   * The student's tokenizer id (student `policy.tokenizerId`). Required: the teacher scores the
   * student's token ids, which mean the same words only under the same tokenizer.
   */
  readonly studentTokenizerId: string;
  /** Also replay under the negative view (V-Zero). Default false: plain OPD needs only l+. */
  readonly negative?: boolean;
  /** Teacher top-K log-probs and ids per position, positive view only (forward-KL estimator). */
  readonly topK?: number;
  /** Student prompts per teacher score call (default: all in one call). */
  readonly batchSize?: number;
  /**
   * Tokens the teacher spends on a prompt (image tokens included), to check that prompt plus
   * response fits the teacher's context. Default: `teacher.promptLength(prompt)` when the teacher
   * has such a method; otherwise only the response is checked against `contextLength`.
   */
  readonly promptLength?: (prompt: Prompt) => number;
  readonly onProgress?: (progress: ReplayProgress) => void;
}

/** Teacher and student inputs do not line up (tokenizer, lengths, or the teacher's output). */
export class AlignmentError extends VZeroError {
  readonly field: string;
  constructor(field: string, message: string) {
    super('ALIGNMENT', `${field}: ${message}`);
    this.field = field;
  }
}

/** A policy that can say how many tokens a prompt occupies (local models can). */
interface PromptLengthAware {
  promptLength(prompt: Prompt): number;
}

function hasPromptLength(policy: Policy): policy is Policy & PromptLengthAware {
  return typeof (policy as Partial<PromptLengthAware>).promptLength === 'function';
}

function viewsFor(views: ViewsByPrompt, promptId: string): ReplayViews | undefined {
  if (views instanceof Map) return (views as ReadonlyMap<string, ReplayViews>).get(promptId);
  const record = views as Readonly<Record<string, ReplayViews>>;
  return Object.prototype.hasOwnProperty.call(record, promptId) ? record[promptId] : undefined;
}

function checkOptions(teacher: Policy, options: ReplayOptions): void {
  if (typeof options?.studentTokenizerId !== 'string') {
    throw new InvalidInputError(
      'options.studentTokenizerId',
      options?.studentTokenizerId,
      'expected the student policy tokenizerId',
    );
  }
  if (options.studentTokenizerId !== teacher.tokenizerId) {
    throw new AlignmentError(
      'options.studentTokenizerId',
      `student tokenizer ${JSON.stringify(options.studentTokenizerId)} differs from teacher ${teacher.name}'s ${JSON.stringify(teacher.tokenizerId)}: token ids would not mean the same words`,
    );
  }
  const { topK, batchSize } = options;
  if (topK !== undefined && (!Number.isInteger(topK) || topK < 1)) {
    throw new InvalidInputError('options.topK', topK, 'expected an integer >= 1');
  }
  if (batchSize !== undefined && (!Number.isInteger(batchSize) || batchSize < 1)) {
    throw new InvalidInputError('options.batchSize', batchSize, 'expected an integer >= 1');
  }
}

/** One trajectory's request, with where its result goes. */
interface Slot {
  readonly trajectory: number;
  readonly view: 'positive' | 'negative';
}

/**
 * Replays every trajectory under the teacher: result[b] holds the teacher's log-prob of each
 * token of trajectories[b] under the positive view (and the negative view when
 * `options.negative`), in trajectory order.
 *
 * Call contract (what lets a Policy encode each full image once): trajectories are grouped by
 * prompt id, and one `teacher.score` call carries, for each of up to `batchSize` prompts, all of
 * the prompt's rollouts under the positive view followed by all of them under the negative view.
 * Those requests share the full image's PromptImage id, so an implementation that caches by image
 * id encodes the shared full-image prefix once per prompt and per call.
 *
 * Positions where a trajectory's mask is 0 are scored too (teacher forcing needs the whole
 * sequence) but come back as 0, so padding can never carry a NaN into the loss.
 */
export async function replay(
  teacher: Policy,
  trajectories: readonly Trajectory[],
  views: ViewsByPrompt,
  options: ReplayOptions,
): Promise<TeacherScores[]> {
  checkOptions(teacher, options);
  const negative = options.negative ?? false;
  const promptLength =
    options.promptLength ?? (hasPromptLength(teacher) ? (p: Prompt) => teacher.promptLength(p) : undefined);

  // Group trajectories by prompt id in order of first appearance, checking views and lengths.
  const byPrompt = new Map<string, number[]>();
  trajectories.forEach((t, b) => {
    const v = viewsFor(views, t.promptId);
    if (v === undefined) {
      throw new InvalidInputError(
        `views[${JSON.stringify(t.promptId)}]`,
        undefined,
        `no teacher views for trajectory ${b}`,
      );
    }
    if (negative && v.negative === undefined) {
      throw new InvalidInputError(
        `views[${JSON.stringify(t.promptId)}].negative`,
        undefined,
        'options.negative is set but this prompt has no negative view',
      );
    }
    if (t.mask.length !== t.tokenIds.length) {
      throw new ShapeMismatchError(
        `trajectories[${b}].mask`,
        `${t.tokenIds.length} values`,
        `${t.mask.length}`,
      );
    }
    const prompts = negative && v.negative ? [v.positive, v.negative] : [v.positive];
    for (const p of prompts) {
      const used = promptLength ? promptLength(p) : 0;
      if (used + t.tokenIds.length > teacher.contextLength) {
        throw new AlignmentError(
          `trajectories[${b}]`,
          `response of ${t.tokenIds.length} tokens after a ${used}-token prompt (${p.id}) exceeds teacher ${teacher.name}'s context of ${teacher.contextLength} tokens`,
        );
      }
    }
    const list = byPrompt.get(t.promptId);
    if (list) list.push(b);
    else byPrompt.set(t.promptId, [b]);
  });

  const promptIds = [...byPrompt.keys()];
  const batchSize = options.batchSize ?? Math.max(1, promptIds.length);
  const positive: (Float32Array | undefined)[] = new Array<Float32Array | undefined>(trajectories.length);
  const negatives: (Float32Array | undefined)[] = new Array<Float32Array | undefined>(trajectories.length);
  type TopK = NonNullable<TeacherScores['topK']>;
  const topKs: (TopK | undefined)[] = new Array<TopK | undefined>(trajectories.length);
  let requestsSent = 0;

  for (let start = 0; start < promptIds.length; start += batchSize) {
    const requests: ScoreRequest[] = [];
    const slots: Slot[] = [];
    for (const promptId of promptIds.slice(start, start + batchSize)) {
      const v = viewsFor(views, promptId) as ReplayViews;
      const members = byPrompt.get(promptId) ?? [];
      for (const b of members) {
        requests.push({ prompt: v.positive, responseTokenIds: trajectories[b]?.tokenIds ?? [] });
        slots.push({ trajectory: b, view: 'positive' });
      }
      if (negative && v.negative) {
        for (const b of members) {
          requests.push({ prompt: v.negative, responseTokenIds: trajectories[b]?.tokenIds ?? [] });
          slots.push({ trajectory: b, view: 'negative' });
        }
      }
    }
    const results = await teacher.score(requests, options.topK !== undefined ? { topK: options.topK } : {});
    if (!Array.isArray(results) || results.length !== requests.length) {
      throw new ShapeMismatchError(
        `${teacher.name}.score result`,
        `${requests.length} results (one per request)`,
        `${Array.isArray(results) ? results.length : typeof results}`,
      );
    }
    results.forEach((result, r) => {
      const slot = slots[r] as Slot;
      const t = trajectories[slot.trajectory] as Trajectory;
      const logprobs = checkedLogprobs(result, t, slot);
      if (slot.view === 'positive') {
        positive[slot.trajectory] = logprobs;
        if (options.topK !== undefined) topKs[slot.trajectory] = checkedTopK(result, t, slot, options.topK);
      } else {
        negatives[slot.trajectory] = logprobs;
      }
    });
    requestsSent += requests.length;
    options.onProgress?.({
      promptsDone: Math.min(start + batchSize, promptIds.length),
      promptsTotal: promptIds.length,
      requests: requestsSent,
    });
  }

  return trajectories.map((_t, b) => {
    const scores: { positive: Float32Array; negative?: Float32Array; topK?: TopK } = {
      positive: positive[b] as Float32Array,
    };
    const neg = negatives[b];
    if (neg) scores.negative = neg;
    const top = topKs[b];
    if (top) scores.topK = top;
    return scores;
  });
}

function where(t: Trajectory, slot: Slot): string {
  return `trajectory ${slot.trajectory} (prompt ${t.promptId}, rollout ${t.index}) ${slot.view} view`;
}

function checkedLogprobs(result: ScoreResult, t: Trajectory, slot: Slot): Float32Array {
  const len = t.tokenIds.length;
  const got = result?.logprobs;
  if (!(got instanceof Float32Array) || got.length !== len) {
    throw new AlignmentError(
      where(t, slot),
      `teacher returned ${got instanceof Float32Array ? got.length : String(got)} log-probs for a response of ${len} tokens`,
    );
  }
  const out = Float32Array.from(got);
  for (let k = 0; k < len; k++) {
    if (!t.mask[k]) {
      out[k] = 0;
      continue;
    }
    const v = out[k] as number;
    if (!Number.isFinite(v) || v > 1e-4) {
      throw new AlignmentError(
        `${where(t, slot)}, position ${k}`,
        `teacher log-prob is ${v} (token ${t.tokenIds[k]})`,
      );
    }
  }
  return out;
}

function checkedTopK(
  result: ScoreResult,
  t: Trajectory,
  slot: Slot,
  k: number,
): NonNullable<TeacherScores['topK']> {
  const top = result.topK;
  const len = t.tokenIds.length;
  if (!top || top.ids.length !== len || top.logprobs.length !== len) {
    throw new AlignmentError(
      where(t, slot),
      `expected top-${k} ids and log-probs at each of ${len} positions, got ${top ? `${top.ids.length} and ${top.logprobs.length}` : 'none'}`,
    );
  }
  for (let p = 0; p < len; p++) {
    const ids = top.ids[p];
    const lps = top.logprobs[p];
    if (!ids || !lps || ids.length !== lps.length || ids.length < 1 || ids.length > k) {
      throw new AlignmentError(
        `${where(t, slot)}, position ${p}`,
        `top-K ids (${ids?.length}) and log-probs (${lps?.length}) must be 1..${k} values of equal length`,
      );
    }
    if (t.mask[p]) {
      for (let j = 0; j < lps.length; j++) {
        if (!Number.isFinite(lps[j] as number)) {
          throw new AlignmentError(`${where(t, slot)}, position ${p}`, `top-K log-prob ${j} is ${lps[j]}`);
        }
      }
    }
  }
  return { ids: top.ids, logprobs: top.logprobs };
}
