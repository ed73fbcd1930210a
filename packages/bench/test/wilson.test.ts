import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { wilsonInterval } from '../src/index.js';

describe('wilsonInterval', () => {
  it('matches the formula at hand-computed points', () => {
    // (p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n), z = 1.95996.
    const a = wilsonInterval(8, 10);
    expect(a.lo).toBeCloseTo(0.49016247, 7);
    expect(a.hi).toBeCloseTo(0.94331785, 7);
    const b = wilsonInterval(0, 10);
    expect(b.lo).toBe(0);
    expect(b.hi).toBeCloseTo(0.2775328, 7);
    const c = wilsonInterval(10, 10);
    expect(c.lo).toBeCloseTo(0.7224672, 7);
    expect(c.hi).toBe(1);
    const d = wilsonInterval(1, 2);
    expect(d.lo).toBeCloseTo(0.09453121, 7);
    expect(d.hi).toBeCloseTo(0.90546879, 7);
    expect(wilsonInterval(0, 0)).toEqual({ lo: 0, hi: 1 });
  });

  it('contains the estimate, stays in [0, 1] and narrows with more trials (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (n, frac) => {
          const k = Math.round(frac * n);
          const { lo, hi } = wilsonInterval(k, n);
          expect(lo).toBeGreaterThanOrEqual(0);
          expect(hi).toBeLessThanOrEqual(1);
          expect(lo).toBeLessThanOrEqual(k / n + 1e-12);
          expect(hi).toBeGreaterThanOrEqual(k / n - 1e-12);
          const wider = wilsonInterval(k, n);
          const narrower = wilsonInterval(4 * k, 4 * n);
          expect(narrower.hi - narrower.lo).toBeLessThan(wider.hi - wider.lo + 1e-12);
        },
      ),
    );
  });
});
