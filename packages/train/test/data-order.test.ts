import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { batchIndices } from '../src/data-order.js';

describe('batchIndices', () => {
  it('never repeats a sample within a step and covers each epoch once', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 99 }),
        (count, size, seed) => {
          if (size > count) return true;
          const perEpoch = Math.floor(count / size);
          const seen = new Set<number>();
          for (let step = 1; step <= perEpoch; step++) {
            const batch = batchIndices(count, size, step, seed);
            if (new Set(batch).size !== size) return false;
            for (const i of batch) {
              if (i < 0 || i >= count || seen.has(i)) return false;
              seen.add(i);
            }
          }
          return seen.size === perEpoch * size;
        },
      ),
    );
  });

  it('depends only on (seed, step)', () => {
    expect(batchIndices(10, 3, 7, 1)).toEqual(batchIndices(10, 3, 7, 1));
    expect(batchIndices(10, 3, 4, 1)).not.toEqual(batchIndices(10, 3, 4, 2));
  });

  it('names a batch larger than the data', () => {
    expect(() => batchIndices(4, 8, 1, 0)).toThrow(
      /optim\.promptsPerStep = 8: exceeds the 4 training samples/,
    );
  });
});
