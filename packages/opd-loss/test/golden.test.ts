import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '@vzero/core';
import {
  opdLoss,
  opdLossConfig,
  opdLossMetrics,
  type Aggregation,
  type OpdLossConfig,
} from '../src/index.js';
import { disposeAll, fixture } from './fixtures.js';

// Fixture (see fixtures.ts), real tokens only; d = s - t:
//   row 0 (w = 2):   s (-1, -2, -0.5)  t (-1.5, -1, -0.5)  d (0.5, -1, 0)
//   row 1 (w = 0.5): s (-3, -1)        t (-1, -2)          d (-2, 1)
// N = 5 real tokens, T = 3.
//   abs = |d|         row 0 (0.5, 1, 0)           row 1 (2, 1)
//   k2  = d^2 / 2     row 0 (0.125, 0.5, 0)       row 1 (2, 0.5)
//   k3: c = t - s = -d; exp(c) - c - 1:
//                     row 0 (e^-0.5 - 0.5, e - 2, 0) = (0.1065307, 0.7182818, 0)
//                     row 1 (e^2 - 3, e^-1)          = (4.3890561, 0.3678794)
const E = Math.E;
const k3 = [
  [Math.exp(-0.5) - 0.5, E - 2, 0],
  [E * E - 3, 1 / E],
];

/** The four aggregations of a weighted per-token matrix [[r0], [r1]] over the fixture mask. */
function aggregations(rows: number[][]): Record<Aggregation, number> {
  const sums = rows.map((r) => r.reduce((a, b) => a + b, 0));
  const total = sums[0]! + sums[1]!;
  return {
    'token-mean': total / 5,
    'seq-mean-token-mean': (sums[0]! / 3 + sums[1]! / 2) / 2,
    'seq-mean-token-sum': total / 2,
    'seq-mean-token-sum-norm': total / 2 / 3, // mean of the 2 sequence sums, then / T = 3
  };
}

const ALL: Aggregation[] = [
  'token-mean',
  'seq-mean-token-mean',
  'seq-mean-token-sum',
  'seq-mean-token-sum-norm',
];
let inputs: ReturnType<typeof fixture>;

function lossOf(config: OpdLossConfig, extra: Partial<typeof inputs> = {}): number {
  const loss = opdLoss({ ...inputs, ...extra }, config);
  const value = loss.dataSync()[0]!;
  loss.dispose();
  return value;
}

describe('opdLoss golden values (cpu)', () => {
  beforeAll(async () => {
    await selectBackend({ prefer: 'cpu' });
  });
  beforeEach(() => {
    inputs = fixture();
  });
  afterEach(() => disposeAll(inputs));

  it('direct abs, every aggregation', () => {
    // weighted: row 0 2*(0.5, 1, 0) = (1, 2, 0); row 1 0.5*(2, 1) = (1, 0.5); total 4.5
    // token-mean 4.5/5 = 0.9; seq-mean-token-mean (3/3 + 1.5/2)/2 = 0.875;
    // seq-mean-token-sum (3 + 1.5)/2 = 2.25; seq-mean-token-sum-norm ((3 + 1.5)/2)/3 = 0.75
    const expected = {
      'token-mean': 0.9,
      'seq-mean-token-mean': 0.875,
      'seq-mean-token-sum': 2.25,
      'seq-mean-token-sum-norm': 0.75,
    };
    expect(
      aggregations([
        [1, 2, 0],
        [1, 0.5],
      ]),
    ).toEqual(expected);
    for (const aggregation of ALL) {
      expect(
        lossOf(opdLossConfig({ estimator: 'abs', mode: 'direct', aggregation })),
        aggregation,
      ).toBeCloseTo(expected[aggregation], 6);
    }
  });

  it('direct k2, every aggregation', () => {
    // weighted: row 0 2*(0.125, 0.5, 0) = (0.25, 1, 0); row 1 0.5*(2, 0.5) = (1, 0.25); total 2.5
    // token-mean 0.5; seq-mean-token-mean (1.25/3 + 1.25/2)/2 = 0.5208333; seq-sum 1.25;
    // norm: mean of the sequence sums 1.25, / T = 3 -> 0.4166667
    const expected = {
      'token-mean': 0.5,
      'seq-mean-token-mean': (1.25 / 3 + 1.25 / 2) / 2,
      'seq-mean-token-sum': 1.25,
      'seq-mean-token-sum-norm': 1.25 / 3,
    };
    for (const aggregation of ALL) {
      expect(
        lossOf(opdLossConfig({ estimator: 'k2', mode: 'direct', aggregation })),
        aggregation,
      ).toBeCloseTo(expected[aggregation], 6);
    }
  });

  it('direct k3, every aggregation, and the per-token clamp', () => {
    const weighted = [k3[0]!.map((v) => 2 * v), k3[1]!.map((v) => 0.5 * v)];
    const expected = aggregations(weighted);
    // token-mean: 2*(0.1065307 + 0.7182818) + 0.5*(4.3890561 + 0.3678794) = 4.0280927 / 5
    expect(expected['token-mean']).toBeCloseTo(4.0280927 / 5, 6);
    for (const aggregation of ALL) {
      expect(
        lossOf(opdLossConfig({ estimator: 'k3', mode: 'direct', aggregation })),
        aggregation,
      ).toBeCloseTo(expected[aggregation], 5);
    }
    // clamp 1: row 1 token 0 (4.389) becomes 1: total 2*(0.8248125) + 0.5*(1 + 0.3678794)
    const clamped = (2 * (k3[0]![0]! + k3[0]![1]!) + 0.5 * (1 + k3[1]![1]!)) / 5;
    expect(lossOf(opdLossConfig({ estimator: 'k3', mode: 'direct', clamp: 1 }))).toBeCloseTo(clamped, 5);
  });

  it('seq-mean-token-sum-norm divides by lossScaleFactor when set', () => {
    // k2 weighted sequence sums 1.25 and 1.25: their mean 1.25, / 2048
    expect(
      lossOf(
        opdLossConfig({
          estimator: 'k2',
          mode: 'direct',
          aggregation: 'seq-mean-token-sum-norm',
          lossScaleFactor: 2048,
        }),
      ),
    ).toBeCloseTo(1.25 / 2048, 8);
  });

  it('pg k1 at ratio 1 (the reference launcher), every aggregation', () => {
    // A = -(w * clamp(d)): row 0 -2*(0.5, -1, 0) = (-1, 2, 0); row 1 -0.5*(-2, 1) = (1, -0.5)
    // at r = 1 no clip is active, per-token loss = -A r = (1, -2, 0), (-1, 0.5); total -1.5
    const expected = aggregations([
      [1, -2, 0],
      [-1, 0.5],
    ]);
    expect(expected['token-mean']).toBeCloseTo(-0.3, 12);
    for (const aggregation of ALL) {
      expect(lossOf(opdLossConfig({ aggregation })), aggregation).toBeCloseTo(expected[aggregation], 6);
    }
    // without weights (plain OPD): -A = d = (0.5, -1, 0), (-2, 1): total -1.5 as well, token-mean -0.3
    expect(lossOf(opdLossConfig(), { weights: undefined } as never)).toBeCloseTo(-1.5 / 5, 6);
  });

  it('pg with k2, k3 and abs advantages', () => {
    // pg at ratio 1: per-token loss = w * clamp(estimator), the same numbers as direct mode
    for (const estimator of ['abs', 'k2', 'k3'] as const) {
      expect(lossOf(opdLossConfig({ estimator }))).toBeCloseTo(
        lossOf(opdLossConfig({ estimator, mode: 'direct' })),
        6,
      );
    }
  });

  it('direct forward-KL top-K, every aggregation, and its metrics', () => {
    // per token sum_j pT_j (ln pT_j - ln pS_j):
    //   (0,0) 0.5 ln(0.5/0.25) + 0.3 ln(0.3/0.5) = 0.5 ln2 + 0.3 ln0.6 = 0.1933259
    //   (0,1) student = teacher: 0
    //   (0,2) 0.9 ln2 + 0.05 ln0.5 = 0.85 ln2 = 0.5891743
    //   (1,0) 0;  (1,1) 0.8 ln2 + 0.1 ln0.5 = 0.7 ln2 = 0.4852030;  (1,2) padding (NaN)
    const L2 = Math.LN2;
    const v00 = 0.5 * L2 + 0.3 * Math.log(0.6);
    const rows = [
      [2 * v00, 0, 2 * 0.85 * L2],
      [0, 0.5 * 0.7 * L2],
    ];
    const expected = aggregations(rows);
    // token-mean (2.7 ln2 + 0.6 ln0.6 + 0.35 ln2) / 5 = 0.3615217
    expect(expected['token-mean']).toBeCloseTo((3.05 * L2 + 0.6 * Math.log(0.6)) / 5, 12);
    for (const aggregation of ALL) {
      const config = opdLossConfig({ estimator: 'forward-kl-topk', mode: 'direct', aggregation });
      expect(lossOf(config), aggregation).toBeCloseTo(expected[aggregation], 5);
    }
    const m = opdLossMetrics(inputs, opdLossConfig({ estimator: 'forward-kl-topk', mode: 'direct' }));
    // teacher mass (0.8 + 1 + 0.95 + 0.8 + 0.9)/5 = 0.89; student (0.75 + 1 + 0.55 + 0.8 + 0.6)/5 = 0.74
    expect(m.topKTeacherMass).toBeCloseTo(0.89, 5);
    expect(m.topKStudentMass).toBeCloseTo(0.74, 5);
    // |v| mean, unweighted: (0.1933259 + 0.5891743 + 0.4852030)/5
    expect(m.meanAbsLoss).toBeCloseTo((v00 + 0.85 * L2 + 0.7 * L2) / 5, 5);
    expect(m.tokens).toBe(5);
  });

  it('metrics of the reference pg k1 configuration', () => {
    // A = (-1, 2, 0), (1, -0.5) as above. old log-probs chosen so that r = exp(new - old) is
    //   (0,0) A = -1,  r = 0.5: loss1 = 0.5, loss2 = -A clip(r) = 0.8 > loss1: clipped, loss 0.8
    //   (0,1) A = 2,   r = 1.5: loss1 = -3, loss2 = -2.4 > loss1: clipped, loss -2.4
    //   (0,2) A = 0,   r = 1:   loss 0
    //   (1,0) A = 1,   r = 0.5: loss1 = -0.5, loss2 = -0.8: not clipped (PPO only clips the
    //                           side that would raise the objective), loss -0.5
    //   (1,1) A = -0.5, r = 4:  loss1 = 2, loss2 = 0.6, max 2 > dual cap -A*3 = 1.5: loss 1.5
    const old = tf.tensor2d([
      [-1 + Math.LN2, -2 - Math.log(1.5), -0.5],
      [-3 + Math.LN2, -1 - Math.log(4), 0],
    ]);
    const m = opdLossMetrics({ ...inputs, oldLogprobs: old }, opdLossConfig());
    expect(m.tokens).toBe(5);
    expect(m.clipFraction).toBeCloseTo(2 / 5, 6);
    expect(m.clipFractionLower).toBeCloseTo(1 / 5, 6);
    expect(m.ratioMean).toBeCloseTo((0.5 + 1.5 + 1 + 0.5 + 4) / 5, 5);
    expect(m.ratioMin).toBeCloseTo(0.5, 5);
    expect(m.ratioMax).toBeCloseTo(4, 5);
    // approxKl = mean(old - new) = (ln2 - ln1.5 + 0 + ln2 - ln4)/5 = -ln1.5/5
    expect(m.approxKl).toBeCloseTo(-Math.log(1.5) / 5, 5);
    // |k1| mean (0.5 + 1 + 0 + 2 + 1)/5 = 0.9; nothing above clamp 10
    expect(m.meanAbsLoss).toBeCloseTo(0.9, 6);
    expect(m.clampFraction).toBe(0);
    expect(m.loss).toBeCloseTo((0.8 - 2.4 + 0 - 0.5 + 1.5) / 5, 5);
    expect(m.topKTeacherMass).toBeUndefined();
    const loss = opdLoss({ ...inputs, oldLogprobs: old }, opdLossConfig());
    expect(loss.dataSync()[0]).toBeCloseTo(m.loss, 6);
    loss.dispose();
    old.dispose();
  });
});
