// Rollout options: the Policy's SamplingOptions plus batching and progress. Validated at the
// boundary so that a bad setting is an error naming the field, never a NaN inside a sampler.
import { InvalidInputError, UnknownKeyError, type SamplingOptions } from '@vzero/core';

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

/** Reference rollout settings (VZERO.md): G = 8 at temperature 1, top-p 1, no top-k. */
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
  const { n, temperature, topP, topK, maxTokens, stop, seed, batchSize, onProgress } = options;
  if (!isInteger(n) || n < 1) throw new InvalidInputError('options.n', n, 'expected an integer >= 1');
  if (typeof temperature !== 'number' || !Number.isFinite(temperature) || temperature < 0) {
    throw new InvalidInputError('options.temperature', temperature, 'expected a finite number >= 0');
  }
  if (typeof topP !== 'number' || !(topP > 0 && topP <= 1)) {
    throw new InvalidInputError('options.topP', topP, 'expected a number in (0, 1]');
  }
  if (!isInteger(topK) || topK < 0) {
    throw new InvalidInputError('options.topK', topK, 'expected an integer >= 0 (0 disables top-k)');
  }
  if (!isInteger(maxTokens) || maxTokens < 1) {
    throw new InvalidInputError('options.maxTokens', maxTokens, 'expected an integer >= 1');
  }
  if (!isInteger(seed)) throw new InvalidInputError('options.seed', seed, 'expected an integer');
  if (stop !== undefined) {
    if (!Array.isArray(stop))
      throw new InvalidInputError('options.stop', stop, 'expected an array of token ids');
    stop.forEach((id: unknown, i) => {
      if (!isInteger(id) || id < 0) {
        throw new InvalidInputError(`options.stop[${i}]`, id, 'expected a token id (integer >= 0)');
      }
    });
  }
  if (batchSize !== undefined && (!isInteger(batchSize) || batchSize < 1)) {
    throw new InvalidInputError('options.batchSize', batchSize, 'expected an integer >= 1');
  }
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    throw new InvalidInputError('options.onProgress', onProgress, 'expected a function');
  }
}
