import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { largestK } from '../src/top-k.js';

/** The definition: a stable sort of all indices by value, descending, then the first k. */
function bySorting(row: readonly number[], k: number): number[] {
  return Array.from(row.keys())
    .sort((x, y) => row[y]! - row[x]! || x - y)
    .slice(0, Math.max(0, k));
}

describe('largestK', () => {
  it('picks the largest values, largest first, lower index first on ties', () => {
    expect(largestK([0.1, 0.5, 0.3, 0.5, -1], 3)).toEqual([1, 3, 2]);
    expect(largestK(Float32Array.from([-2, -1, -3]), 1)).toEqual([1]);
  });

  it('clamps k to [0, length]', () => {
    expect(largestK([3, 1, 2], 0)).toEqual([]);
    expect(largestK([3, 1, 2], 10)).toEqual([0, 2, 1]);
    expect(largestK([], 2)).toEqual([]);
  });

  it('equals sorting the whole row (random rows with many ties, any k)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.integer({ min: -5, max: 5 }).map((v) => v / 2),
          { maxLength: 60 },
        ),
        fc.integer({ min: 0, max: 70 }),
        (row, k) => {
          expect(largestK(row, k)).toEqual(bySorting(row, k));
        },
      ),
    );
  });
});
