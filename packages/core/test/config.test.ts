import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config.js';
import { InvalidInputError, UnknownKeyError, describeValue } from '../src/errors.js';

const defaults = { alpha: 0.5, gamma: 1, name: 'reference', extra: undefined as number | undefined };

describe('resolveConfig', () => {
  it('returns defaults merged with overrides', () => {
    expect(resolveConfig(defaults, { alpha: 1 }, 'gate')).toEqual({ ...defaults, alpha: 1 });
    expect(resolveConfig(defaults, undefined, 'gate')).toEqual(defaults);
    expect(resolveConfig(defaults, { extra: 3 }, 'gate').extra).toBe(3);
  });

  it('rejects an unknown key by name and suggests the closest known one', () => {
    const bad = { alhpa: 1 } as unknown as Partial<typeof defaults>;
    expect(() => resolveConfig(defaults, bad, 'gate')).toThrow(UnknownKeyError);
    expect(() => resolveConfig(defaults, bad, 'gate')).toThrow(
      /unknown key "alhpa" in gate \(did you mean "alpha"\?\)/,
    );
  });

  it('rejects a value of the wrong type naming the field', () => {
    const bad = { alpha: '1' } as unknown as Partial<typeof defaults>;
    expect(() => resolveConfig(defaults, bad, 'gate')).toThrow(InvalidInputError);
    expect(() => resolveConfig(defaults, bad, 'gate')).toThrow(/gate\.alpha = "1": expected a number/);
  });

  it('describes awkward values readably', () => {
    expect(describeValue(Number.NaN)).toBe('NaN');
    expect(describeValue(-Infinity)).toBe('-Infinity');
    expect(describeValue([1, 2])).toBe('[1,2]');
  });
});
