// Runs any Policy on a benchmark: builds each sample's prompt with the caller's promptFor,
// samples through @vzero/rollout (greedy by default), and scores with scorePredictions.
import { InvalidInputError, UnknownKeyError, type Policy, type Prompt } from '@vzero/core';
import { sample } from '@vzero/rollout';
import type { EvalSettings, Report } from './report.js';
import { scorePredictions, type Aggregate, type BenchSample } from './score.js';

export interface EvaluateProgress {
  readonly done: number;
  readonly total: number;
}

export interface EvaluateOptions {
  /** The prompt the policy sees for a sample (building image views is the caller's job). */
  readonly promptFor: (sample: BenchSample) => Promise<Prompt>;
  /** Greedy decoding, one response per question (default true). */
  readonly greedy?: boolean;
  /** Responses per question when not greedy (default 8). */
  readonly n?: number;
  /** How sampled responses are scored: majority vote or mean accuracy (default 'majority'). */
  readonly aggregate?: Aggregate;
  /** Sampling temperature when not greedy (default 1). */
  readonly temperature?: number;
  readonly topP?: number;
  readonly topK?: number;
  /** Longest response (default 64 tokens). */
  readonly maxTokens?: number;
  readonly stop?: readonly number[];
  readonly seed?: number;
  /** Samples per policy call (default 16). */
  readonly batchSize?: number;
  readonly onProgress?: (progress: EvaluateProgress) => void;
  /** Benchmark name for the report (default "benchmark"). */
  readonly benchmark?: string;
  /** Method label for the report (default the policy's name). */
  readonly method?: string;
  /**
   * Responses already given, by sample id (an evaluation resumed from its answers file): those
   * samples are not asked again, their responses are scored as given.
   */
  readonly answered?: ReadonlyMap<string, readonly string[]>;
  /**
   * Called with each batch's new responses as soon as they arrive, before the next batch is
   * sent (e.g. to append them to a file): an evaluation that fails later keeps them.
   */
  readonly onAnswers?: (
    answers: readonly { readonly id: string; readonly responses: readonly string[] }[],
  ) => void | Promise<void>;
}

const KNOWN = [
  'promptFor',
  'greedy',
  'n',
  'aggregate',
  'temperature',
  'topP',
  'topK',
  'maxTokens',
  'stop',
  'seed',
  'batchSize',
  'onProgress',
  'benchmark',
  'method',
  'answered',
  'onAnswers',
];

/**
 * Evaluates `policy` on `samples`. Each sample's prompt gets the sample's id (so rollouts are
 * seeded per sample); prompts are built one batch at a time to bound memory.
 */
export async function evaluate(
  policy: Policy,
  samples: readonly BenchSample[],
  options: EvaluateOptions,
): Promise<Report> {
  for (const key of Object.keys(options)) {
    if (!KNOWN.includes(key)) throw new UnknownKeyError('evaluate options', key, KNOWN);
  }
  if (typeof options.promptFor !== 'function') {
    throw new InvalidInputError(
      'options.promptFor',
      options.promptFor,
      'expected a function sample => Promise<Prompt>',
    );
  }
  const greedy = options.greedy ?? true;
  if (greedy && options.n !== undefined && options.n !== 1) {
    throw new InvalidInputError(
      'options.n',
      options.n,
      'greedy decoding gives one response per question; set greedy: false to sample',
    );
  }
  const settings: EvalSettings = {
    greedy,
    n: greedy ? 1 : (options.n ?? 8),
    temperature: greedy ? 0 : (options.temperature ?? 1),
    topP: options.topP ?? 1,
    topK: options.topK ?? 0,
    maxTokens: options.maxTokens ?? 64,
    seed: options.seed ?? 0,
  };
  const batchSize = options.batchSize ?? 16;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new InvalidInputError('options.batchSize', batchSize, 'expected an integer >= 1');
  }
  // Score-time checks (ids, answers) run before any policy call.
  scorePredictions(
    samples,
    samples.map(() => ''),
  );

  const started = performance.now();
  const answered = options.answered ?? new Map<string, readonly string[]>();
  const responses = new Map<string, readonly string[]>();
  for (const s of samples) {
    const given = answered.get(s.id);
    if (given) responses.set(s.id, given);
  }
  const todo = samples.filter((s) => !responses.has(s.id));
  if (responses.size > 0) options.onProgress?.({ done: responses.size, total: samples.length });
  for (let start = 0; start < todo.length; start += batchSize) {
    const chunk = todo.slice(start, start + batchSize);
    // Built concurrently, but a failure is reported for the first failing question in sample
    // order (not whichever view finished first), so the same data always names the same question.
    const built = await Promise.allSettled(
      chunk.map(async (s) => ({ ...(await options.promptFor(s)), id: s.id })),
    );
    const failed = built.find((b): b is PromiseRejectedResult => b.status === 'rejected');
    if (failed) throw failed.reason;
    const prompts = built.map((b) => (b as PromiseFulfilledResult<Prompt>).value);
    const groups = await sample(policy, prompts, {
      n: settings.n,
      temperature: settings.temperature,
      topP: settings.topP,
      topK: settings.topK,
      maxTokens: settings.maxTokens,
      seed: settings.seed,
      ...(options.stop !== undefined ? { stop: options.stop } : {}),
      batchSize,
    });
    const fresh = chunk.map((s, i) => ({ id: s.id, responses: (groups[i] ?? []).map((t) => t.text) }));
    await options.onAnswers?.(fresh);
    for (const a of fresh) responses.set(a.id, a.responses);
    options.onProgress?.({ done: responses.size, total: samples.length });
  }
  const summary = scorePredictions(
    samples,
    samples.map((s) => responses.get(s.id) ?? []),
    { aggregate: options.aggregate ?? 'majority' },
  );
  return {
    benchmark: options.benchmark ?? 'benchmark',
    method: options.method ?? policy.name,
    settings,
    createdAt: new Date().toISOString(),
    seconds: (performance.now() - started) / 1000,
    ...summary,
  };
}
