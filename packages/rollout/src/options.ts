// Rollout options: the Policy's SamplingOptions plus batching and progress. Validated at the
// boundary so that a bad setting is an error naming the field, never a NaN inside a sampler.
import { InvalidInputError, UnknownKeyError, checkSamplingOptions, type SamplingOptions } from '@vzero/core';

/** Progress after each policy call. */
export interface RolloutProgress {
  /** Prompts whose rollouts are done. */
  readonly promptsDone: number;
  readonly promptsTotal: number;
  /** Trajectories produced so far. */
  readonly trajectories: number;
  /** Response tokens produced so far. */
  readonly tokens: number;
}

export interface RolloutOptions extends SamplingOptions {
  /** Prompts per policy call (default: all prompts in one call). Never changes the result. */
  readonly batchSize?: number;
  /** Called after each policy call. */
  readonly onProgress?: (progress: RolloutProgress) => void;
}

/** Reference rollout settings (docs/METHOD.md): G = 8 at temperature 1, top-p 1, no top-k. */
export const DEFAULT_ROLLOUT_OPTIONS = {
  n: 8,
  temperature: 1,
  topP: 1,
  topK: 0,
  maxTokens: 2048,
  seed: 0,
} as const satisfies Omit<SamplingOptions, 'stop'>;

const KNOWN_KEYS = [
  'n',
  'temperature',
  'topP',
  'topK',
  'maxTokens',
  'stop',
  'seed',
  'batchSize',
  'onProgress',
] as const;

function isInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value);
}

/**
 * Checks every rollout option; throws InvalidInputError naming `options.<field>` and the value,
 * or UnknownKeyError for a misspelt key.
 */
export function validateRolloutOptions(options: RolloutOptions): void {
  if (options === null || typeof options !== 'object') {
    throw new InvalidInputError('options', options, 'expected an object of rollout options');
  }
  for (const key of Object.keys(options)) {
    if (!(KNOWN_KEYS as readonly string[]).includes(key)) {
      throw new UnknownKeyError('rollout options', key, KNOWN_KEYS);
    }
  }
  checkSamplingOptions(options);
  const { batchSize, onProgress } = options;
  if (batchSize !== undefined && (!isInteger(batchSize) || batchSize < 1)) {
    throw new InvalidInputError('options.batchSize', batchSize, 'expected an integer >= 1');
  }
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    throw new InvalidInputError('options.onProgress', onProgress, 'expected a function');
  }
}
