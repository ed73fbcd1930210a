import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { InvalidInputError } from '@vzero/core';
import { pairedBootstrap, seedDifference, t975 } from '../src/paired.js';

describe('seedDifference (Student-t over per-seed differences)', () => {
  it('matches a hand computation', () => {
    // d = (2, 4, 6, 4, 4): mean 4, sample sd sqrt((4 + 0 + 4 + 0 + 0) / 4) = sqrt(2);
    // half width t(4) = 2.776 * sqrt(2) / sqrt(5) = 1.75574
    const r = seedDifference([12, 14, 16, 14, 14], [10, 10, 10, 10, 10]);
    expect(r.mean).toBe(4);
    expect(r.interval.lo).toBeCloseTo(4 - 1.75574, 4);
    expect(r.interval.hi).toBeCloseTo(4 + 1.75574, 4);
    expect(r.measurable).toBe(true);
  });

  it('is not measurable when the interval straddles 0, nor from a single seed', () => {
    // d = (1, -1, 2, -2, 0.5): mean 0.1
    expect(seedDifference([1, -1, 2, -2, 0.5], [0, 0, 0, 0, 0]).measurable).toBe(false);
    const one = seedDifference([5], [1]);
    expect(one.mean).toBe(4);
    expect(one.measurable).toBe(false);
  });

  it('rejects unpaired input with a typed error', () => {
    expect(() => seedDifference([1, 2], [1])).toThrow(InvalidInputError);
    expect(() => seedDifference([], [])).toThrow(/at least one seed/);
    expect(() => t975(0)).toThrow(/df/);
    expect(t975(4)).toBe(2.776);
    expect(t975(100)).toBe(1.96);
  });
});

describe('pairedBootstrap (seeds and items)', () => {
  it('gives a zero-width interval at the exact difference when every pair differs by the same amount', () => {
    const a = [
      [1, 1, 1, 1],
      [1, 1, 1, 1],
    ];
    const b = [
      [0, 0, 0, 0],
      [0, 0, 0, 0],
    ];
    const r = pairedBootstrap(a, b, { replicates: 200 });
    expect(r.mean).toBe(1);
    expect(r.interval).toEqual({ lo: 1, hi: 1 });
    expect(r.measurable).toBe(true);
  });

  it('pairs a seedless method (one row) with every seed of the other', () => {
    // base right on items 0-1; the method right on items 0-2 in seed 0 and 0-1 in seed 1:
    // differences (0,0,1,0) and (0,0,0,0): mean 1/8
    const r = pairedBootstrap(
      [
        [1, 1, 1, 0],
        [1, 1, 0, 0],
      ],
      [[1, 1, 0, 0]],
      { replicates: 500 },
    );
    expect(r.mean).toBe(0.125);
    expect(r.interval.lo).toBe(0);
    expect(r.measurable).toBe(false);
  });

  it('contains the observed difference, is reproducible for a seed, and narrows with more items', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1000 }), (seed) => {
        const make = (n: number, p: number, salt: number) =>
          [0, 1, 2].map((s) =>
            Array.from({ length: n }, (_, i) => (((i * 7 + s * 13 + salt) % 100) / 100 < p ? 1 : 0)),
          );
        const small = pairedBootstrap(make(40, 0.7, 1), make(40, 0.5, 3), { replicates: 300, seed });
        const large = pairedBootstrap(make(400, 0.7, 1), make(400, 0.5, 3), { replicates: 300, seed });
        expect(small.interval.lo).toBeLessThanOrEqual(small.mean);
        expect(small.interval.hi).toBeGreaterThanOrEqual(small.mean);
        expect(large.interval.hi - large.interval.lo).toBeLessThan(small.interval.hi - small.interval.lo);
        expect(pairedBootstrap(make(40, 0.7, 1), make(40, 0.5, 3), { replicates: 300, seed })).toEqual(small);
      }),
      { numRuns: 10 },
    );
  });

  it('names mismatched shapes and non-finite scores', () => {
    expect(() => pairedBootstrap([[1, 0]], [[1]])).toThrow(/items/);
    expect(() => pairedBootstrap([[1], [1], [1]], [[1], [1]])).toThrow(/seed rows/);
    expect(() => pairedBootstrap([[Number.NaN]], [[1]])).toThrow(/finite/);
  });
});
