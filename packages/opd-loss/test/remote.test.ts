import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { InvalidInputError, ShapeMismatchError, selectBackend, type BackendName } from '@vzero/core';
import {
  AGGREGATIONS,
  aggregationFactors,
  crossEntropyWeights,
  opdLoss,
  opdLossConfig,
  policyGradientAdvantages,
  topKCrossEntropyWeights,
  type Aggregation,
  type OpdLossConfig,
  type OpdLossInputs,
  type RemoteLossInputs,
} from '../src/index.js';
import { MASK, S, STUDENT_P, T, TEACHER_P, W } from './fixtures.js';

// ---------------------------------------------------------------------------------------------
// Random batches. Log-probs lie on a 1/64 grid, weights on a 1/8 grid and the clamp on a 1/8
// grid: float32 tensors then hold exactly the numbers the float64 path reads, differences and k2
// values are exact in both, so both paths see the same kinks (ties s = t, |s - t| = clamp) and
// the comparison is of the derivative, not of rounding at a kink.

interface Batch {
  readonly b: number;
  readonly t: number;
  readonly k: number;
  readonly s: number[][];
  readonly teacher: number[][];
  readonly old: number[][];
  readonly mask: number[][];
  /** [B] or [B][T] */
  readonly w: number[] | number[][];
  readonly sK: number[][][];
  readonly tK: number[][][];
}

const grid = (lo: number, hi: number, step: number) =>
  fc.integer({ min: Math.round(lo / step), max: Math.round(hi / step) }).map((i) => i * step + 0);
const logprob = grid(-12, 0, 1 / 64);
const weight = grid(0, 2, 1 / 8);
const matrix = <T>(b: number, t: number, arb: fc.Arbitrary<T>) =>
  fc.array(fc.array(arb, { minLength: t, maxLength: t }), { minLength: b, maxLength: b });

const batchArb: fc.Arbitrary<Batch> = fc
  .record({
    b: fc.integer({ min: 1, max: 4 }),
    t: fc.integer({ min: 1, max: 5 }),
    k: fc.integer({ min: 1, max: 3 }),
  })
  .chain(({ b, t, k }) =>
    fc.record({
      b: fc.constant(b),
      t: fc.constant(t),
      k: fc.constant(k),
      s: matrix(b, t, logprob),
      teacher: matrix(b, t, logprob),
      old: matrix(b, t, grid(-0.5, 1.5, 1 / 64)),
      mask: matrix(b, t, fc.constantFrom(0, 1)),
      w: fc.oneof(fc.array(weight, { minLength: b, maxLength: b }), matrix(b, t, weight)) as fc.Arbitrary<
        number[] | number[][]
      >,
      sK: matrix(b, t, fc.array(grid(-8, 0, 1 / 64), { minLength: k, maxLength: k })),
      tK: matrix(b, t, fc.array(grid(-8, 0, 1 / 64), { minLength: k, maxLength: k })),
    }),
  );

/** Random clamp and loss scale for one estimator x aggregation (every pair gets its own test). */
const configArb = (
  estimator: OpdLossConfig['estimator'],
  aggregation: Aggregation,
  mode: OpdLossConfig['mode'],
) =>
  fc
    .record({
      clamp: grid(0.125, 12, 1 / 8),
      lossScaleFactor: fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }),
    })
    .map((c) => opdLossConfig({ ...c, estimator, aggregation, mode }));

const pairs = <E extends string>(estimators: readonly E[]) =>
  estimators.flatMap((e) => AGGREGATIONS.map((a) => [e, a] as [E, Aggregation]));

const remoteInputs = (x: Batch): RemoteLossInputs => ({
  studentLogprobs: x.s,
  teacherLogprobs: x.teacher,
  mask: x.mask,
  weights: x.w,
  studentTopK: x.sK,
  teacherTopK: x.tK,
});

function tensorInputs(x: Batch, student: tf.Tensor2D): OpdLossInputs {
  const perToken = Array.isArray(x.w[0]);
  return {
    studentLogprobs: student,
    teacherLogprobs: tf.tensor2d(x.teacher, [x.b, x.t]),
    mask: tf.tensor2d(x.mask, [x.b, x.t]),
    weights: perToken ? tf.tensor2d(x.w as number[][], [x.b, x.t]) : tf.tensor1d(x.w as number[]),
    studentTopK: tf.tensor3d(x.sK, [x.b, x.t, x.k]),
    teacherTopK: tf.tensor3d(x.tK, [x.b, x.t, x.k]),
  };
}

/** d opdLoss / d studentLogprobs, from the package's own tfjs gradient. */
function tfGradStudent(x: Batch, config: OpdLossConfig): number[][] {
  return tf.tidy(() => {
    const g = tf.grad((s: tf.Tensor) => opdLoss(tensorInputs(x, s as tf.Tensor2D), config))(
      tf.tensor2d(x.s, [x.b, x.t]),
    );
    return g.arraySync() as number[][];
  });
}

/** d opdLoss / d studentTopK. */
function tfGradTopK(x: Batch, config: OpdLossConfig): number[][][] {
  return tf.tidy(() => {
    const student = tf.tensor2d(x.s, [x.b, x.t]);
    const g = tf.grad((sK: tf.Tensor) =>
      opdLoss({ ...tensorInputs(x, student), studentTopK: sK as tf.Tensor3D }, config),
    )(tf.tensor3d(x.sK, [x.b, x.t, x.k]));
    return g.arraySync() as number[][][];
  });
}

function expectClose(actual: unknown, expected: unknown, what: string): void {
  const a = (actual as number[]).flat(2) as number[];
  const e = (expected as number[]).flat(2) as number[];
  expect(a.length).toBe(e.length);
  a.forEach((v, i) => {
    expect(Math.abs(v - e[i]!), `${what} at flat index ${i}: ${v} vs ${e[i]}`).toBeLessThanOrEqual(
      1e-6 + 1e-5 * Math.abs(e[i]!),
    );
  });
}

const negate = (x: number[][]) => x.map((r) => r.map((v) => -v));

describe.each<BackendName>(['cpu', 'wasm'])('remote mappings against the tfjs gradient on %s', (backend) => {
  beforeAll(async () => {
    await selectBackend({ prefer: backend });
  });

  it.each(pairs(['abs', 'k2', 'k3'] as const))(
    'direct %s, %s: crossEntropyWeights = -(tf.grad of opdLoss w.r.t. the student)',
    (estimator, aggregation) => {
      fc.assert(
        fc.property(batchArb, configArb(estimator, aggregation, 'direct'), (x, config) => {
          expectClose(
            crossEntropyWeights(remoteInputs(x), config),
            negate(tfGradStudent(x, config)),
            config.estimator,
          );
        }),
        { numRuns: 30 },
      );
    },
  );

  it.each(AGGREGATIONS)(
    'direct forward-kl-topk, %s: topKCrossEntropyWeights = -(tf.grad w.r.t. studentTopK)',
    (aggregation) => {
      fc.assert(
        fc.property(batchArb, configArb('forward-kl-topk', aggregation, 'direct'), (x, config) => {
          const g = tfGradTopK(x, config);
          expectClose(
            topKCrossEntropyWeights(remoteInputs(x), config),
            g.map((r) => r.map((c) => c.map((v) => -v))),
            'forward-kl-topk',
          );
        }),
        { numRuns: 30 },
      );
    },
  );

  it.each(pairs(['k1', 'abs', 'k2', 'k3'] as const))(
    "pg %s, %s: at ratio 1 the gradient of opdLoss is -A' (the importance_sampling gradient)",
    (estimator, aggregation) => {
      fc.assert(
        fc.property(batchArb, configArb(estimator, aggregation, 'pg'), (x, config) => {
          expectClose(
            policyGradientAdvantages(remoteInputs(x), config),
            negate(tfGradStudent(x, config)),
            config.estimator,
          );
        }),
        { numRuns: 30 },
      );
    },
  );

  it.each(pairs(['k1', 'k3'] as const))(
    "pg %s, %s at any ratio: opdLoss equals the sum-reduced PPO surrogate of A' (sum_k ppo(r_k, A'_k))",
    (estimator, aggregation) => {
      fc.assert(
        fc.property(batchArb, configArb(estimator, aggregation, 'pg'), (x, config) => {
          const adv = policyGradientAdvantages(remoteInputs(x), config);
          // old = s - offset, so r = exp(offset) in [e^-0.5, e^1.5]: both clips and the dual clip 3 are reached
          const oldRows = x.s.map((r, i) => r.map((v, k) => v - x.old[i]![k]!));
          let summed = 0;
          x.mask.forEach((row, i) =>
            row.forEach((m, k) => {
              if (m === 1) summed += ppoToken(Math.exp(x.old[i]![k]!), adv[i]![k]!, config);
            }),
          );
          const loss = tf.tidy(() => {
            const inputs = tensorInputs(x, tf.tensor2d(x.s, [x.b, x.t]));
            return opdLoss(
              { ...inputs, oldLogprobs: tf.tensor2d(oldRows, [x.b, x.t]) },
              config,
            ).dataSync()[0]!;
          });
          expect(Math.abs(loss - summed)).toBeLessThanOrEqual(1e-5 + 1e-5 * Math.abs(summed));
        }),
        { numRuns: 30 },
      );
    },
  );
});

/** verl's dual-clip PPO per token, as documented in the package README (float64). */
function ppoToken(r: number, a: number, config: OpdLossConfig): number {
  const clipped = Math.max(-a * r, -a * Math.min(1 + config.clipHigh, Math.max(1 - config.clipLow, r)));
  return a < 0 ? Math.min(clipped, -a * config.dualClip) : clipped;
}

// ---------------------------------------------------------------------------------------------
// Goldens on the shared fixture: d = s - t = (0.5, -1, 0), (-2, 1, padding); w = (2, 0.5);
// 5 real tokens, 2 non-empty sequences of 3 and 2 tokens, T = 3.

const fixtureInputs = (extra: Partial<RemoteLossInputs> = {}): RemoteLossInputs => ({
  studentLogprobs: S,
  teacherLogprobs: T,
  mask: MASK,
  weights: W,
  ...extra,
});
const E = Math.E;

function expectRows(actual: number[][], expected: number[][]): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((row, i) =>
    row.forEach((v, k) => expect(v, `[${i}][${k}]`).toBeCloseTo(expected[i]![k]!, 12)),
  );
}

describe('aggregationFactors', () => {
  it('gives each aggregation its per-token factor, 0 at padding', () => {
    const f = (a: Aggregation, F?: number) => aggregationFactors(MASK, a, F);
    expectRows(f('token-mean'), [
      [0.2, 0.2, 0.2],
      [0.2, 0.2, 0],
    ]);
    // 2 sequences; row 0 has 3 tokens, row 1 has 2
    expectRows(f('seq-mean-token-mean'), [
      [1 / 6, 1 / 6, 1 / 6],
      [1 / 4, 1 / 4, 0],
    ]);
    expectRows(f('seq-mean-token-sum'), [
      [0.5, 0.5, 0.5],
      [0.5, 0.5, 0],
    ]);
    expectRows(f('seq-mean-token-sum-norm'), [
      [1 / 6, 1 / 6, 1 / 6],
      [1 / 6, 1 / 6, 0],
    ]); // / (2 * T), T = 3
    expectRows(f('seq-mean-token-sum-norm', 10), [
      [0.05, 0.05, 0.05],
      [0.05, 0.05, 0],
    ]);
    // an all-padding row is not a sequence: it counts in neither N nor |S|
    expectRows(
      aggregationFactors(
        [
          [1, 1],
          [0, 0],
        ],
        'seq-mean-token-sum',
      ),
      [
        [1, 1],
        [0, 0],
      ],
    );
    expectRows(aggregationFactors([[0, 0]], 'token-mean'), [[0, 0]]);
  });
});

describe('crossEntropyWeights goldens (-dL/ds)', () => {
  it('abs, token-mean: -w sign(d) / 5, and 0 at the tie d = 0', () => {
    const out = crossEntropyWeights(fixtureInputs(), opdLossConfig({ estimator: 'abs', mode: 'direct' }));
    expectRows(out, [
      [-0.4, 0.4, 0],
      [0.1, -0.1, 0],
    ]);
    expect(Object.is(out[0]![2], 0)).toBe(true); // a plain 0, not -0
  });

  it('abs at |d| = clamp exactly passes (the bound is inside, as tfjs and torch clamp)', () => {
    // clamp 1: |d| = (0.5, 1, 0), (2, 1): only |d| = 2 is outside
    const out = crossEntropyWeights(
      fixtureInputs(),
      opdLossConfig({ estimator: 'abs', mode: 'direct', clamp: 1 }),
    );
    expectRows(out, [
      [-0.4, 0.4, 0],
      [0, -0.1, 0],
    ]);
  });

  it('k2, token-mean: -w d / 5; with clamp 1 the token of value 2 gets 0', () => {
    expectRows(crossEntropyWeights(fixtureInputs(), opdLossConfig({ estimator: 'k2', mode: 'direct' })), [
      [-0.2, 0.4, 0],
      [0.2, -0.1, 0],
    ]);
    // values 0.5 d^2 = (0.125, 0.5, 0), (2, 0.5)
    expectRows(
      crossEntropyWeights(fixtureInputs(), opdLossConfig({ estimator: 'k2', mode: 'direct', clamp: 1 })),
      [
        [-0.2, 0.4, 0],
        [0, -0.1, 0],
      ],
    );
  });

  it('k3, seq-mean-token-sum: -(1/2) w (1 - e^(t - s)); with clamp 4 the value e^2 - 3 = 4.39 gets 0', () => {
    // t - s = (-0.5, 1, 0), (2, -1); c = 1/2 (two sequences)
    const expected = [
      [-(1 - Math.exp(-0.5)), -(1 - E), 0],
      [-0.25 * (1 - E * E), -0.25 * (1 - 1 / E), 0],
    ];
    expect(expected[0]![0]).toBeCloseTo(-0.393469, 6);
    expect(expected[1]![0]).toBeCloseTo(1.597264, 6);
    const config = { estimator: 'k3', mode: 'direct', aggregation: 'seq-mean-token-sum' } as const;
    expectRows(crossEntropyWeights(fixtureInputs(), opdLossConfig(config)), expected);
    expectRows(crossEntropyWeights(fixtureInputs(), opdLossConfig({ ...config, clamp: 4 })), [
      expected[0]!,
      [0, expected[1]![1]!, 0],
    ]);
  });

  it('k3 beyond its own clamps (|t - s| > 20, or a value above 10) gets 0', () => {
    // t - s = 30 (c clamped to 20), -30, 3 (value e^3 - 4 = 16.1 > 10), 2 (4.39: passes)
    const out = crossEntropyWeights(
      { studentLogprobs: [[-30, 0, -3, -2]], teacherLogprobs: [[0, -30, 0, 0]], mask: [[1, 1, 1, 1]] },
      opdLossConfig({ estimator: 'k3', mode: 'direct', clamp: 12, aggregation: 'seq-mean-token-sum' }),
    );
    expectRows(out, [[0, 0, 0, -(1 - E * E)]]);
  });

  it('per-token weights multiply token by token', () => {
    const out = crossEntropyWeights(
      fixtureInputs({
        weights: [
          [1, 2, 3],
          [0.5, 0, Number.NaN],
        ],
      }),
      opdLossConfig({ estimator: 'k2', mode: 'direct' }),
    );
    // -w_k d_k / 5; the NaN weight is at padding and never read
    expectRows(out, [
      [-0.1, 0.4, 0],
      [0.2, 0, 0],
    ]);
  });

  it('no gate weights means w = 1', () => {
    const { weights: _, ...noWeights } = fixtureInputs();
    expectRows(crossEntropyWeights(noWeights, opdLossConfig({ estimator: 'k2', mode: 'direct' })), [
      [-0.1, 0.2, 0],
      [0.4, -0.2, 0],
    ]);
  });
});

describe('topKCrossEntropyWeights golden', () => {
  const inputs = fixtureInputs({
    studentTopK: STUDENT_P.map((r) => r.map((c) => c.map(Math.log))),
    teacherTopK: TEACHER_P.map((r) => r.map((c) => c.map(Math.log))),
  });
  it('token-mean: w p_T(j) / 5 at every real token, 0 at padding', () => {
    const out = topKCrossEntropyWeights(
      inputs,
      opdLossConfig({ estimator: 'forward-kl-topk', mode: 'direct' }),
    );
    const expected = TEACHER_P.map((row, i) =>
      row.map((tok, k) => tok.map((p) => (MASK[i]![k] === 1 ? (W[i]! * p) / 5 : 0))),
    );
    expectRows(out.flat(), expected.flat());
  });

  it('clamp 0.1 zeroes the tokens whose top-K KL is above 0.1', () => {
    // KL per token: 0.5 ln 2 - 0.3 ln(5/3) = 0.193, 0, 0.85 ln 2 = 0.589; 0, 0.7 ln 2 = 0.485
    const out = topKCrossEntropyWeights(
      inputs,
      opdLossConfig({ estimator: 'forward-kl-topk', mode: 'direct', clamp: 0.1 }),
    );
    expectRows(out.flat(), [
      [0, 0],
      [0.24, 0.16],
      [0, 0],
      [0.05, 0.03],
      [0, 0],
      [0, 0],
    ]);
  });
});

describe("policyGradientAdvantages goldens (A' = c A, A = -(w clamp(v)))", () => {
  it('k1 token-mean: A / N, N = 5', () => {
    expectRows(policyGradientAdvantages(fixtureInputs(), opdLossConfig()), [
      [-0.2, 0.4, 0],
      [0.2, -0.1, 0],
    ]);
  });

  it('k1 seq-mean-token-mean: A / (|S| n_b); seq-mean-token-sum-norm: A / (|S| T)', () => {
    expectRows(
      policyGradientAdvantages(fixtureInputs(), opdLossConfig({ aggregation: 'seq-mean-token-mean' })),
      [
        [-1 / 6, 1 / 3, 0],
        [0.25, -0.125, 0],
      ],
    );
    expectRows(
      policyGradientAdvantages(fixtureInputs(), opdLossConfig({ aggregation: 'seq-mean-token-sum-norm' })),
      [
        [-1 / 6, 1 / 3, 0],
        [1 / 6, -1 / 12, 0],
      ],
    );
  });

  it('k1 with clamp 0.75 caps |d|', () => {
    expectRows(policyGradientAdvantages(fixtureInputs(), opdLossConfig({ clamp: 0.75 })), [
      [-0.2, 0.3, 0],
      [0.075, -0.075, 0],
    ]);
  });

  it('abs, k2 and k3 as advantages', () => {
    expectRows(policyGradientAdvantages(fixtureInputs(), opdLossConfig({ estimator: 'abs' })), [
      [-0.2, -0.4, 0],
      [-0.2, -0.1, 0],
    ]);
    // k2 values (0.125, 0.5, 0), (2, 0.5)
    expectRows(policyGradientAdvantages(fixtureInputs(), opdLossConfig({ estimator: 'k2' })), [
      [-0.05, -0.2, 0],
      [-0.2, -0.05, 0],
    ]);
    // k3 values e^(t-s) - (t-s) - 1: (e^-0.5 - 0.5, e - 2, 0), (e^2 - 3, e^-1)
    expectRows(policyGradientAdvantages(fixtureInputs(), opdLossConfig({ estimator: 'k3' })), [
      [-0.4 * (Math.exp(-0.5) - 0.5), -0.4 * (E - 2), 0],
      [-0.1 * (E * E - 3), -0.1 / E, 0],
    ]);
  });
});

describe('remote mappings: errors name the field', () => {
  const expectError = (fn: () => unknown, type: new (...args: never[]) => Error, message: RegExp) => {
    expect(fn).toThrow(type);
    expect(fn).toThrow(message);
  };
  const direct = opdLossConfig({ estimator: 'k2', mode: 'direct' });

  it('refuses k1 in direct mode with the same error as opdLossConfig', () => {
    const k1Direct = { ...direct, estimator: 'k1' } as OpdLossConfig;
    expectError(
      () => crossEntropyWeights(fixtureInputs(), k1Direct),
      InvalidInputError,
      /^opdLoss\.estimator = "k1": k1 cannot be used in direct mode/,
    );
  });

  it('refuses a mode or estimator the function does not map', () => {
    expectError(
      () => crossEntropyWeights(fixtureInputs(), opdLossConfig()),
      InvalidInputError,
      /^opdLoss\.mode = "pg": crossEntropyWeights maps direct mode/,
    );
    expectError(
      () => policyGradientAdvantages(fixtureInputs(), direct),
      InvalidInputError,
      /^opdLoss\.mode = "direct": policyGradientAdvantages maps mode "pg"/,
    );
    expectError(
      () =>
        crossEntropyWeights(fixtureInputs(), opdLossConfig({ estimator: 'forward-kl-topk', mode: 'direct' })),
      InvalidInputError,
      /^opdLoss\.estimator = "forward-kl-topk": .*use topKCrossEntropyWeights/,
    );
    expectError(
      () => topKCrossEntropyWeights(fixtureInputs(), direct),
      InvalidInputError,
      /^opdLoss\.estimator = "k2"/,
    );
  });

  it('a mask longer than the log-probs is a ShapeMismatchError naming the row', () => {
    expectError(
      () =>
        crossEntropyWeights(
          fixtureInputs({
            mask: [
              [1, 1, 1],
              [1, 1, 0, 1],
            ],
          }),
          direct,
        ),
      ShapeMismatchError,
      /^mask\[1\]: expected length 3 \(as studentLogprobs\[0\]\), got length 4/,
    );
    expectError(
      () =>
        policyGradientAdvantages(
          fixtureInputs({
            mask: [
              [1, 1, 1],
              [1, 1, 0],
              [1, 1, 1],
            ],
          }),
          opdLossConfig(),
        ),
      ShapeMismatchError,
      /^mask: expected 2 rows \(as studentLogprobs\), got 3 rows/,
    );
    expectError(
      () =>
        crossEntropyWeights(
          fixtureInputs({
            teacherLogprobs: [
              [-1, -1, -1],
              [-1, -1],
            ],
          }),
          direct,
        ),
      ShapeMismatchError,
      /^teacherLogprobs\[1\]: expected length 3/,
    );
    expectError(
      () => crossEntropyWeights(fixtureInputs({ weights: [1, 2, 3] }), direct),
      ShapeMismatchError,
      /^weights: expected 2 rows \(one per sequence, as studentLogprobs\), got 3/,
    );
    expectError(
      () =>
        crossEntropyWeights(
          fixtureInputs({
            weights: [
              [1, 1, 1],
              [1, 1],
            ],
          }),
          direct,
        ),
      ShapeMismatchError,
      /^weights\[1\]: expected length 3/,
    );
  });

  it('NaN or infinity at a real token names the field and position; padding may hold anything', () => {
    expectError(
      () =>
        crossEntropyWeights(
          fixtureInputs({
            studentLogprobs: [
              [-1, Number.NaN, -1],
              [-1, -1, -1],
            ],
          }),
          direct,
        ),
      InvalidInputError,
      /^studentLogprobs\[0\]\[1\] = NaN: expected a finite log-prob at a real token/,
    );
    expectError(
      () =>
        policyGradientAdvantages(
          fixtureInputs({
            teacherLogprobs: [
              [-1, -1, -1],
              [-Infinity, -1, 0],
            ],
          }),
          opdLossConfig(),
        ),
      InvalidInputError,
      /^teacherLogprobs\[1\]\[0\] = -Infinity/,
    );
    expectError(
      () => crossEntropyWeights(fixtureInputs({ weights: [2, Number.NaN] }), direct),
      InvalidInputError,
      /^weights\[1\] = NaN: expected a finite weight/,
    );
    expectError(
      () =>
        crossEntropyWeights(
          fixtureInputs({
            weights: [
              [1, 1, 1],
              [Infinity, 1, 1],
            ],
          }),
          direct,
        ),
      InvalidInputError,
      /^weights\[1\]\[0\] = Infinity: expected a finite weight at a real token/,
    );
    const topK = opdLossConfig({ estimator: 'forward-kl-topk', mode: 'direct' });
    // the fixture's top-K arrays hold NaN at padding only ([1][2]); put one at a real token
    const studentTopK = STUDENT_P.map((r) => r.map((c) => c.map(Math.log)));
    const teacherTopK = TEACHER_P.map((r, i) =>
      r.map((c, k) => c.map((p, j) => (i === 0 && k === 1 && j === 1 ? Number.NaN : Math.log(p)))),
    );
    expect(() =>
      topKCrossEntropyWeights(
        fixtureInputs({ studentTopK, teacherTopK: TEACHER_P.map((r) => r.map((c) => c.map(Math.log))) }),
        topK,
      ),
    ).not.toThrow();
    expectError(
      () => topKCrossEntropyWeights(fixtureInputs({ studentTopK, teacherTopK }), topK),
      InvalidInputError,
      /^teacherTopK\[0\]\[1\]\[1\] = NaN: expected a finite log-prob at a real token/,
    );
    expectError(
      () => topKCrossEntropyWeights(fixtureInputs(), topK),
      InvalidInputError,
      /^teacherTopK = undefined: required by estimator forward-kl-topk/,
    );
    // the fixture's padded teacher value is NaN and is not read
    expect(() => crossEntropyWeights(fixtureInputs(), direct)).not.toThrow();
  });

  it('an empty batch, a bad mask value or a non-array is an InvalidInputError naming the field', () => {
    expectError(
      () => crossEntropyWeights({ studentLogprobs: [], teacherLogprobs: [], mask: [] }, direct),
      InvalidInputError,
      /^studentLogprobs = \[\]: expected at least one sequence/,
    );
    expectError(
      () =>
        crossEntropyWeights(
          fixtureInputs({
            mask: [
              [1, 1, 1],
              [1, 0.5, 0],
            ],
          }),
          direct,
        ),
      InvalidInputError,
      /^mask\[1\]\[1\] = 0\.5: expected 0 or 1/,
    );
    expectError(
      () => crossEntropyWeights(fixtureInputs({ teacherLogprobs: 'x' as unknown as number[][] }), direct),
      InvalidInputError,
      /^teacherLogprobs = "x": expected an array of rows/,
    );
  });
});
