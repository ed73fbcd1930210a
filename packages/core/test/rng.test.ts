import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Rng, deriveSeed, hashString } from '../src/rng.js';

describe('Rng', () => {
  it('gives the same stream for the same seed and a different one for another seed', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const sa = Array.from({ length: 8 }, () => a.nextUint32());
    const sb = Array.from({ length: 8 }, () => b.nextUint32());
    const sc = Array.from({ length: 8 }, () => c.nextUint32());
    expect(sa).toEqual(sb);
    expect(sa).not.toEqual(sc);
  });

  it('pins the first outputs so that every machine reproduces them', () => {
    // splitmix32 seeding then xoshiro128**, computed with 32-bit integer math; any change to
    // the generator changes these and breaks reproducibility of saved runs.
    const r = new Rng(1);
    const first = [r.nextUint32(), r.nextUint32(), r.nextUint32()];
    expect(first).toEqual(reference(1, 3));
  });

  it('int(lo, hi) stays in range and covers every value', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.integer({ min: -50, max: 50 }),
        fc.integer({ min: 1, max: 20 }),
        (seed, lo, span) => {
          const r = new Rng(seed);
          for (let i = 0; i < 50; i++) {
            const v = r.int(lo, lo + span);
            if (v < lo || v >= lo + span || !Number.isInteger(v)) return false;
          }
          return true;
        },
      ),
    );
    const r = new Rng(7);
    const seen = new Set<number>();
    for (let i = 0; i < 500; i++) seen.add(r.int(0, 6));
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('float is uniform in [0, 1) to within sampling error', () => {
    const r = new Rng(3);
    let sum = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const x = r.float();
      expect(x >= 0 && x < 1).toBe(true);
      sum += x;
    }
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.01);
  });

  it('normal has mean 0 and variance 1 to within sampling error', () => {
    const r = new Rng(5);
    const n = 20000;
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const x = r.normal();
      s += x;
      s2 += x * x;
    }
    expect(Math.abs(s / n)).toBeLessThan(0.03);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.05);
  });

  it('shuffle is a permutation and child streams are independent of the parent position', () => {
    const r = new Rng(9);
    const items = [1, 2, 3, 4, 5, 6, 7];
    expect(r.shuffle(items).sort()).toEqual(items);
    const parent = new Rng(11);
    const before = parent.child('views').nextUint32();
    parent.nextUint32();
    expect(parent.child('views').nextUint32()).toBe(before);
    expect(deriveSeed(11, 'views')).not.toBe(deriveSeed(11, 'rollout'));
  });

  it('restores from a saved state exactly', () => {
    const r = new Rng(99);
    r.nextUint32();
    const state = r.getState();
    const next = [r.nextUint32(), r.nextUint32()];
    const other = new Rng(0);
    other.setState(JSON.parse(JSON.stringify(state)));
    expect([other.nextUint32(), other.nextUint32()]).toEqual(next);
  });

  it('rejects bad seeds and ranges', () => {
    expect(() => new Rng(Number.NaN)).toThrow(/seed/);
    expect(() => new Rng(1).int(3, 3)).toThrow(/lo < hi/);
    expect(() => new Rng(1).pick([])).toThrow(/empty/);
    expect(hashString('abc')).toBe(0x1a47e90b);
  });
});

/** An independent re-implementation of splitmix32 + xoshiro128** with BigInt arithmetic. */
function reference(seed: number, count: number): number[] {
  const M = 0xffffffffn;
  let st = BigInt(seed) & M;
  const words: bigint[] = [];
  for (let i = 0; i < 4; i++) {
    st = (st + 0x9e3779b9n) & M;
    let z = st;
    z = ((z ^ (z >> 16n)) * 0x85ebca6bn) & M;
    z = ((z ^ (z >> 13n)) * 0xc2b2ae35n) & M;
    z = z ^ (z >> 16n);
    words.push(z);
  }
  let [s0, s1, s2, s3] = words as [bigint, bigint, bigint, bigint];
  const rotl = (x: bigint, k: bigint) => ((x << k) | (x >> (32n - k))) & M;
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    out.push(Number((rotl((s1 * 5n) & M, 7n) * 9n) & M));
    const t = (s1 << 9n) & M;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11n);
  }
  return out;
}
