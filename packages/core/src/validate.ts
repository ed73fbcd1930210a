// Small guards used at package boundaries; each throws InvalidInputError naming the field.
import { InvalidInputError } from './errors.js';

export function assertFiniteNumber(field: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new InvalidInputError(field, value, 'expected a finite number');
  }
}

export function assertPositiveInteger(field: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new InvalidInputError(field, value, 'expected a positive integer');
  }
}

export function assertNonNegative(field: string, value: unknown): asserts value is number {
  assertFiniteNumber(field, value);
  if (value < 0) throw new InvalidInputError(field, value, 'expected a number >= 0');
}

export function assertInRange(
  field: string,
  value: unknown,
  lo: number,
  hi: number,
): asserts value is number {
  assertFiniteNumber(field, value);
  if (value < lo || value > hi)
    throw new InvalidInputError(field, value, `expected a number in [${lo}, ${hi}]`);
}

/**
 * Checks the SamplingOptions every Policy takes (n, temperature, topP, topK, maxTokens, seed,
 * stop); errors name `options.<field>`. With `vocabSize`, stop ids must be below it.
 */
export function checkSamplingOptions(
  o: {
    readonly n: unknown;
    readonly temperature: unknown;
    readonly topP: unknown;
    readonly topK: unknown;
    readonly maxTokens: unknown;
    readonly seed: unknown;
    readonly stop?: unknown;
    readonly promptSeeds?: unknown;
  },
  vocabSize?: number,
): void {
  const int = (field: string, v: unknown, lo: number, hint = ''): void => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo) {
      throw new InvalidInputError(`options.${field}`, v, `expected an integer >= ${lo}${hint}`);
    }
  };
  int('n', o.n, 1);
  int('maxTokens', o.maxTokens, 1);
  int('topK', o.topK, 0, ' (0 disables top-k)');
  if (typeof o.temperature !== 'number' || !Number.isFinite(o.temperature) || o.temperature < 0) {
    throw new InvalidInputError('options.temperature', o.temperature, 'expected a finite number >= 0');
  }
  if (typeof o.topP !== 'number' || !(o.topP > 0 && o.topP <= 1)) {
    throw new InvalidInputError('options.topP', o.topP, 'expected a number in (0, 1]');
  }
  if (typeof o.seed !== 'number' || !Number.isInteger(o.seed)) {
    throw new InvalidInputError('options.seed', o.seed, 'expected an integer');
  }
  if (o.promptSeeds !== undefined) {
    if (!Array.isArray(o.promptSeeds))
      throw new InvalidInputError('options.promptSeeds', o.promptSeeds, 'expected an array of integers');
    o.promptSeeds.forEach((v: unknown, i) => {
      if (typeof v !== 'number' || !Number.isInteger(v))
        throw new InvalidInputError(`options.promptSeeds[${i}]`, v, 'expected an integer');
    });
  }
  if (o.stop === undefined) return;
  if (!Array.isArray(o.stop))
    throw new InvalidInputError('options.stop', o.stop, 'expected an array of token ids');
  o.stop.forEach((id: unknown, i) => {
    const limit = vocabSize ?? Infinity;
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= limit) {
      throw new InvalidInputError(
        `options.stop[${i}]`,
        id,
        vocabSize === undefined
          ? 'expected a token id (integer >= 0)'
          : `expected a token id in [0, ${vocabSize})`,
      );
    }
  });
}
