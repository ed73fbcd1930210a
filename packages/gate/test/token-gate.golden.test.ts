import { describe, expect, it } from 'vitest';
import { computeGate, computeTokenGate, gateConfig, type GateSequence } from '../src/index.js';

// Hand-worked batch, groups interleaved (a, b, c, a, b, c), padding that holds garbage.
//
//   seq  group  real tokens: delta = l+ - l-
//   0    a      (-0.5+4, -1+3.5)    = (3.5, 2.5)       (third position padded, NaN)
//   1    b      (-1+5)              = (4)              the only real token of group b
//   2    c      (-1+2, -1+2)        = (1, 1)
//   3    a      (-1+3, -2+1, -1+3)  = (2, -1, 2)
//   4    b      none (mask all 0)
//   5    c      (0+1)               = (1)              group c: every score 1
const batch: GateSequence[] = [
  { group: 'a', positive: [-0.5, -1, -7], negative: [-4, -3.5, Number.NaN], mask: [1, 1, 0] },
  { group: 'b', positive: [-1], negative: [-5] },
  { group: 'c', positive: [-1, -1], negative: [-2, -2] },
  { group: 'a', positive: [-1, -2, -1], negative: [-3, -1, -3] },
  { group: 'b', positive: [Number.NaN, 3], negative: [Infinity, 0], mask: [0, 0] },
  { group: 'c', positive: [0], negative: [-1], mask: [1] },
];
const EPS = 1e-6;

function expectRows(actual: Float64Array[], expected: readonly (readonly number[])[], digits = 9): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((row, i) => {
    expect(actual[i]!.length, `row ${i}`).toBe(row.length);
    row.forEach((e, k) => expect(actual[i]![k], `[${i}][${k}]`).toBeCloseTo(e, digits));
  });
}

describe('computeTokenGate golden values', () => {
  it('gamma 1, alpha 1 (paper): group a standardised over its 5 real tokens, clipped to [0, 2]', () => {
    const r = computeTokenGate(batch, gateConfig('paper'));
    // group a scores (3.5, 2.5 | 2, -1, 2): sum 9, mu 1.8; deviations (1.7, 0.7 | 0.2, -2.8, 0.2);
    // squares 2.89 + 0.49 + 0.04 + 7.84 + 0.04 = 11.3; var 11.3 / 5 = 2.26; sd = 1.5033296
    const sd = Math.sqrt(2.26);
    expect(sd).toBeCloseTo(1.5033296, 7);
    const a = (dev: number) => dev / (sd + EPS);
    expectRows(r.scores, [[3.5, 2.5, 0], [4], [1, 1], [2, -1, 2], [0, 0], [1]]);
    expectRows(r.advantages, [[a(1.7), a(0.7), 0], [0], [0, 0], [a(0.2), a(-2.8), a(0.2)], [0, 0], [0]]);
    // w = clip(1 + a): 2.131 -> 2, 1.466, 1.133, -0.863 -> 0; group b's single token: a = 0, w = 1;
    // group c: equal scores, a = 0 exactly, w = 1; padding: 0
    expect(1 + a(0.7)).toBeCloseTo(1.4656328, 6);
    expectRows(r.weights, [[2, 1 + a(0.7), 0], [1], [1, 1], [1 + a(0.2), 0, 1 + a(0.2)], [0, 0], [1]]);
    expect(Array.from(r.weights[2]!)).toEqual([1, 1]); // exactly, not up to rounding
    expect(Array.from(r.weights[5]!)).toEqual([1]);

    const d = r.diagnostics;
    // 9 real tokens: weights (2, w1, 1, 1, 1, w2, 0, w2, 1)
    const w = [2, 1 + a(0.7), 1, 1, 1, 1 + a(0.2), 0, 1 + a(0.2), 1];
    const mean = w.reduce((x, y) => x + y, 0) / 9;
    expect(d.tokens).toBe(9);
    expect(d.weightMean).toBeCloseTo(mean, 12);
    expect(d.weightStd).toBeCloseTo(Math.sqrt(w.reduce((x, y) => x + (y - mean) ** 2, 0) / 9), 12);
    expect(d.weightMin).toBe(0);
    expect(d.weightMax).toBe(2);
    expect(d.fractionAtWMin).toBeCloseTo(1 / 9, 12);
    // scores (3.5, 2.5, 4, 1, 1, 2, -1, 2, 1): sum 16
    expect(d.scoreMean).toBeCloseTo(16 / 9, 12);
    // delta = score at gamma 1; positive: all but the -1
    expect(d.deltaMean).toBeCloseTo(16 / 9, 12);
    expect(d.fractionDeltaPositive).toBeCloseTo(8 / 9, 12);
    // advantages: group a's sum to 0, the others are 0
    expect(d.advantageMean).toBeCloseTo(0, 12);
    expect(d.sequences).toBe(6);
    expect(d.groups).toBe(3);
  });

  it('gamma 1, alpha 0.5 (reference, the default): no clipping', () => {
    const r = computeTokenGate(batch);
    const sd = Math.sqrt(2.26);
    const w = (dev: number) => 1 + (0.5 * dev) / (sd + EPS);
    expectRows(r.weights, [[w(1.7), w(0.7), 0], [1], [1, 1], [w(0.2), w(-2.8), w(0.2)], [0, 0], [1]]);
    expect(r.weights[0]![0]).toBeCloseTo(1.5654112, 6);
    expect(r.weights[3]![1]).toBeCloseTo(0.0687345, 6);
    expect(r.diagnostics.fractionAtWMin).toBe(0);
  });

  it('gamma 2 doubles the negative score: group a becomes (3.5, 2.5 | 2, -2, 2)', () => {
    const r = computeTokenGate(batch, gateConfig('reference', { gamma: 2 }));
    // sum 8, mu 1.6; deviations (1.9, 0.9 | 0.4, -3.6, 0.4); squares 3.61 + 0.81 + 0.16 + 12.96
    // + 0.16 = 17.7; var 3.54; sd = 1.8814888
    const sd = Math.sqrt(3.54);
    expect(sd).toBeCloseTo(1.8814888, 7);
    const w = (dev: number) => 1 + (0.5 * dev) / (sd + EPS);
    expectRows(r.scores, [[3.5, 2.5, 0], [4], [1, 1], [2, -2, 2], [0, 0], [1]]);
    expectRows(r.weights, [[w(1.9), w(0.9), 0], [1], [1, 1], [w(0.4), w(-3.6), w(0.4)], [0, 0], [1]]);
    expect(r.weights[3]![1]).toBeCloseTo(0.0433113, 6);
    // delta statistics do not depend on gamma
    expect(r.diagnostics.deltaMean).toBeCloseTo(16 / 9, 12);
  });

  it('custom clip bounds wMin 0.5, wMax 1.5', () => {
    const r = computeTokenGate(batch, gateConfig('paper', { wMin: 0.5, wMax: 1.5 }));
    const a = (dev: number) => dev / (Math.sqrt(2.26) + EPS);
    expectRows(r.weights, [[1.5, 1 + a(0.7), 0], [1], [1, 1], [1 + a(0.2), 0.5, 1 + a(0.2)], [0, 0], [1]]);
    expect(r.diagnostics.fractionAtWMin).toBeCloseTo(1 / 9, 12);
    expect(r.diagnostics.weightMin).toBe(0.5); // over real tokens: padding's 0 is not a weight
  });

  it('one real token per sequence: the token gate is the sequence gate', () => {
    const single: GateSequence[] = [
      { group: 'g', positive: [-1, 9], negative: [-3, 9], mask: [1, 0] },
      { group: 'g', positive: [-2], negative: [-1] },
      { group: 'g', positive: [-1], negative: [-1.5] },
    ];
    const config = gateConfig('paper');
    const tokens = computeTokenGate(single, config);
    const sequences = computeGate(single, config);
    expect(tokens.weights.map((row) => row[0])).toEqual(Array.from(sequences.weights));
    expect(tokens.weights[0]![1]).toBe(0);
  });

  it('a batch with no real token: every weight 0 and zero statistics, not NaN', () => {
    const r = computeTokenGate([{ group: 'x', positive: [Number.NaN, 1], negative: [1, 1], mask: [0, 0] }]);
    expect(Array.from(r.weights[0]!)).toEqual([0, 0]);
    const d = r.diagnostics;
    expect([
      d.tokens,
      d.weightMean,
      d.weightStd,
      d.weightMin,
      d.weightMax,
      d.fractionAtWMin,
      d.deltaMean,
    ]).toEqual([0, 0, 0, 0, 0, 0, 0]);
  });
});
