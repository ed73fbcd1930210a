import { describe, expect, it } from 'vitest';
import { InvalidInputError, UnknownKeyError } from '@vzero/core';
import { DEFAULT_ROLLOUT_OPTIONS, validateRolloutOptions, type RolloutOptions } from '../src/index.js';

const ok: RolloutOptions = { ...DEFAULT_ROLLOUT_OPTIONS, maxTokens: 16 };

function rejects(patch: Record<string, unknown>, field: string): void {
  const bad = { ...ok, ...patch } as unknown as RolloutOptions;
  let error: unknown;
  try {
    validateRolloutOptions(bad);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(InvalidInputError);
  expect((error as InvalidInputError).field).toBe(field);
  expect((error as InvalidInputError).message).toContain(field);
}

describe('validateRolloutOptions', () => {
  it('accepts the reference settings and the edges of every range', () => {
    expect(() => validateRolloutOptions(ok)).not.toThrow();
    expect(() =>
      validateRolloutOptions({ ...ok, n: 1, temperature: 0, topP: 1, topK: 0, maxTokens: 1, stop: [0, 5] }),
    ).not.toThrow();
    expect(() => validateRolloutOptions({ ...ok, topP: 1e-9, topK: 40, batchSize: 1 })).not.toThrow();
  });

  it('names the field of every bad value', () => {
    rejects({ n: 0 }, 'options.n');
    rejects({ n: 2.5 }, 'options.n');
    rejects({ temperature: -0.1 }, 'options.temperature');
    rejects({ temperature: Number.NaN }, 'options.temperature');
    rejects({ topP: 0 }, 'options.topP');
    rejects({ topP: 1.01 }, 'options.topP');
    rejects({ topP: Number.NaN }, 'options.topP');
    rejects({ topK: -1 }, 'options.topK');
    rejects({ topK: 1.5 }, 'options.topK');
    rejects({ maxTokens: 0 }, 'options.maxTokens');
    rejects({ seed: 0.5 }, 'options.seed');
    rejects({ stop: [1, -2] }, 'options.stop[1]');
    rejects({ batchSize: 0 }, 'options.batchSize');
    rejects({ onProgress: 3 }, 'options.onProgress');
  });

  it('rejects a misspelt key with a suggestion', () => {
    const bad = { ...ok, temprature: 1 } as unknown as RolloutOptions;
    expect(() => validateRolloutOptions(bad)).toThrow(UnknownKeyError);
    expect(() => validateRolloutOptions(bad)).toThrow(/did you mean "temperature"/);
  });
});
