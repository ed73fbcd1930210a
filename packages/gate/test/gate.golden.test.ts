import { describe, expect, it } from 'vitest';
import { computeGate, gateConfig, type GateSequence } from '../src/index.js';

// Hand-worked batch: groups interleaved (a, b, a, a, a, b, c), padding that holds garbage.
//
//   seq  group  real tokens: delta = l+ - l-          gamma 1: p          gamma 2: p
//   0    a      (-0.5+4, -1+3.5)   = (3.5, 2.5)         6/2 = 3            3 (no negative delta)
//   1    b      (-1+1.5, -1+0.5)   = (0.5, -0.5)        0/2 = 0            (0.5 - 1)/2 = -0.25
//   2    a      (-1+3, -2+1, -1+3) = (2, -1, 2)         3/3 = 1            (2 - 2 + 2)/3 = 2/3
//   3    a      (-2+3, -2+3)       = (1, 1)             2/2 = 1            1
//   4    a      (-4+1, -1+2, -3+2, -3+2) = (-3,1,-1,-1) -4/4 = -1          (-6+1-2-2)/4 = -9/4
//   5    b      none (mask all 0)                       0/max(0,eps) = 0   0
//   6    c      (-1+5)             = (4)                4                  4
const batch: GateSequence[] = [
  { group: 'a', positive: [-0.5, -1, -7], negative: [-4, -3.5, Number.NaN], mask: [1, 1, 0] },
  { group: 'b', positive: [-1, -1], negative: [-1.5, -0.5] },
  { group: 'a', positive: [-1, -2, -1], negative: [-3, -1, -3], mask: [1, 1, 1] },
  { group: 'a', positive: [-2, -2, 0], negative: [-3, -3, 0], mask: [1, 1, 0] },
  { group: 'a', positive: [-4, -1, -3, -3], negative: [-1, -2, -2, -2] },
  { group: 'b', positive: [Number.NaN, 5], negative: [0, Infinity], mask: [0, 0] },
  { group: 'c', positive: [-1], negative: [-5] },
];
const EPS = 1e-6;
const SQRT2 = Math.SQRT2;

function expectClose(actual: ArrayLike<number>, expected: readonly number[], digits = 9): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => expect(actual[i], `index ${i}`).toBeCloseTo(e, digits));
}

describe('computeGate golden values', () => {
  it('gamma 1, alpha 1 (paper): clips at wMax and wMin; equal scores and singletons get w = 1', () => {
    const r = computeGate(batch, gateConfig('paper'));
    expectClose(r.scores, [3, 0, 1, 1, -1, 0, 4]);
    // group a: p = (3, 1, 1, -1): mu = 1, deviations (2, 0, 0, -2), var = 8/4 = 2, sd = sqrt 2
    //   a = (2/(sqrt2+eps), 0, 0, -2/(sqrt2+eps)) = (+-1.41421286, 0)
    // group b: p = (0, 0): sd = 0, a = 0/(0+eps) = 0; group c: singleton, a = 0
    const a = 2 / (SQRT2 + EPS);
    expectClose(r.advantages, [a, 0, 0, 0, -a, 0, 0]);
    // w = clip(1 + a): 2.414 -> 2 (wMax), -0.414 -> 0 (wMin), the rest 1
    expect(Array.from(r.weights)).toEqual([2, 1, 1, 1, 0, 1, 1]);
    const d = r.diagnostics;
    // mean p = (3+0+1+1-1+0+4)/7 = 8/7; sum (p-8/7)^2 = (169+64+1+1+225+64+400)/49 = 924/49
    expect(d.scoreMean).toBeCloseTo(8 / 7, 12);
    expect(d.scoreStd).toBeCloseTo(Math.sqrt(924 / 49 / 7), 12);
    expect(d.advantageMean).toBeCloseTo(0, 12);
    expect(d.advantageStd).toBeCloseTo(Math.sqrt((2 * a * a) / 7), 12);
    // w = (2,1,1,1,0,1,1): mean 1, sum (w-1)^2 = 2
    expect(d.weightMean).toBeCloseTo(1, 12);
    expect(d.weightStd).toBeCloseTo(Math.sqrt(2 / 7), 12);
    expect(d.weightMin).toBe(0);
    expect(d.weightMax).toBe(2);
    expect(d.fractionAtWMin).toBeCloseTo(1 / 7, 12);
    // real tokens 2+2+3+2+4+0+1 = 14; delta sum 6+0+3+2-4+4 = 11; delta > 0: 2+1+2+2+1+1 = 9
    expect(d.tokens).toBe(14);
    expect(d.deltaMean).toBeCloseTo(11 / 14, 12);
    expect(d.fractionDeltaPositive).toBeCloseTo(9 / 14, 12);
    expect(d.sequences).toBe(7);
    expect(d.groups).toBe(3);
  });

  it('gamma 1, alpha 0.5 (reference, the default): no clipping', () => {
    const r = computeGate(batch);
    const a = 2 / (SQRT2 + EPS);
    // w = 1 +- 0.5 * 1.41421286 = 1.70710643, 0.29289357
    expectClose(r.weights, [1 + 0.5 * a, 1, 1, 1, 1 - 0.5 * a, 1, 1]);
    expect(r.weights[0]).toBeCloseTo(1.7071063, 6);
    expect(r.diagnostics.fractionAtWMin).toBe(0);
    expect(r.diagnostics.weightStd).toBeCloseTo(Math.sqrt((2 * 0.25 * a * a) / 7), 12);
  });

  it('gamma 2 penalises negative evidence twice as hard', () => {
    const paper2 = computeGate(batch, gateConfig('paper', { gamma: 2 }));
    expectClose(paper2.scores, [3, -0.25, 2 / 3, 1, -9 / 4, 0, 4]);
    // group a: p = (3, 2/3, 1, -9/4), sum = (144+32+48-108)/48 = 116/48, mu = 29/48
    //   deviations (115, 3, 19, -137)/48; sum of squares 13225+9+361+18769 = 32364 (over 48^2)
    //   sd = sqrt(32364/4)/48 = 1.8739610
    const sdA = Math.sqrt(32364 / 4) / 48;
    const aA = [115, 3, 19, -137].map((x) => x / 48 / (sdA + EPS));
    expect(aA[0]).toBeCloseTo(1.2784876, 6);
    // group b: p = (-0.25, 0): mu = -0.125, sd = 0.125, a = -+0.125/(0.125+eps) = -+0.999992
    const aB = 0.125 / (0.125 + EPS);
    expect(aB).toBeCloseTo(0.999992, 6);
    const expectedA = [aA[0]!, -aB, aA[1]!, aA[2]!, aA[3]!, aB, 0];
    expectClose(paper2.advantages, expectedA);
    // alpha 1: 1 + 1.278 -> 2; 1 - 0.999992 = 8e-6; 1 + 0.0334; 1 + 0.2112; 1 - 1.523 -> 0; 1.999992; 1
    expectClose(paper2.weights, [2, 1 - aB, 1 + aA[1]!, 1 + aA[2]!, 0, 1 + aB, 1]);
    expect(paper2.diagnostics.fractionAtWMin).toBeCloseTo(1 / 7, 12);
    // alpha 0.5: nothing reaches a clip bound
    const ref2 = computeGate(batch, gateConfig('reference', { gamma: 2 }));
    expectClose(
      ref2.weights,
      expectedA.map((x) => 1 + 0.5 * x),
    );
    expect(ref2.weights[4]).toBeCloseTo(0.2384661, 6);
    // delta statistics do not depend on gamma
    expect(ref2.diagnostics.deltaMean).toBeCloseTo(11 / 14, 12);
  });

  it('custom clip bounds wMin 0.5, wMax 1.5', () => {
    const r = computeGate(batch, gateConfig('paper', { wMin: 0.5, wMax: 1.5 }));
    expect(Array.from(r.weights)).toEqual([1.5, 1, 1, 1, 0.5, 1, 1]);
    expect(r.diagnostics.fractionAtWMin).toBeCloseTo(1 / 7, 12);
  });

  it('a batch made only of singletons and an all-masked sequence gives all weights 1', () => {
    const r = computeGate([
      { group: 'x', positive: [-1, -2], negative: [-3, -1] },
      { group: 'y', positive: [1], negative: [2], mask: [0] },
    ]);
    // x: delta (2, -1), p = 1/2; y: no real token, p = 0; both singletons: a = 0, w = 1
    expectClose(r.scores, [0.5, 0]);
    expect(Array.from(r.advantages)).toEqual([0, 0]);
    expect(Array.from(r.weights)).toEqual([1, 1]);
    expect(r.diagnostics.tokens).toBe(2);
    expect(r.diagnostics.deltaMean).toBeCloseTo(0.5, 12);
    expect(r.diagnostics.fractionDeltaPositive).toBeCloseTo(0.5, 12);
  });

  it('a batch with no real token has zero delta statistics, not NaN', () => {
    const r = computeGate([{ group: 'x', positive: [Number.NaN], negative: [1], mask: [0] }]);
    expect(r.diagnostics.deltaMean).toBe(0);
    expect(r.diagnostics.fractionDeltaPositive).toBe(0);
    expect(r.diagnostics.tokens).toBe(0);
    expect(Array.from(r.weights)).toEqual([1]);
  });

  it('accepts typed arrays', () => {
    const r = computeGate([
      {
        group: 'g',
        positive: Float32Array.of(-1, -1),
        negative: Float32Array.of(-2, -2),
        mask: Uint8Array.of(1, 1),
      },
      { group: 'g', positive: Float64Array.of(-1), negative: Float64Array.of(-1) },
    ]);
    // p = (1, 0): mu 0.5, sd 0.5, a = +-0.5/(0.5+eps)
    expectClose(r.advantages, [0.5 / (0.5 + EPS), -0.5 / (0.5 + EPS)]);
  });
});
