import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend, type BackendName } from '@vzero/core';
import {
  opdLoss,
  opdLossConfig,
  tokenEstimator,
  type OpdLossConfig,
  type OpdLossInputs,
} from '../src/index.js';
import { MASK, S, STUDENT_P, T, TEACHER_P, W } from './fixtures.js';

// Student values moved off the kinks (|d| at 0, clip boundaries) for finite differences.
const S2 = [
  [-1, -2, -0.4],
  [-3, -1, 9],
];
// old = new - offset: ratios e^0.3 = 1.35 (above 1 + 0.2), e^-0.1, e^0.05, e^-0.5 = 0.61 (below 0.8), e^1.3 = 3.7
const OLD_OFFSET = [
  [0.3, -0.1, 0.05],
  [-0.5, 1.3, 0],
];
const OLD2 = S2.map((r, i) => r.map((v, j) => v - OLD_OFFSET[i]![j]!));

type Raw = { s: number[][]; t: number[][]; old?: number[][]; sK?: number[][][]; tK?: number[][][] };

function lossValue(raw: Raw, config: OpdLossConfig): number {
  return tf.tidy(() => {
    const inputs: OpdLossInputs = {
      studentLogprobs: tf.tensor2d(raw.s),
      teacherLogprobs: tf.tensor2d(raw.t),
      mask: tf.tensor2d(MASK),
      weights: tf.tensor1d(W),
      ...(raw.old ? { oldLogprobs: tf.tensor2d(raw.old) } : {}),
      ...(raw.sK ? { studentTopK: tf.tensor3d(raw.sK), teacherTopK: tf.tensor3d(raw.tK!) } : {}),
    };
    return opdLoss(inputs, config).dataSync()[0]!;
  });
}

/** Analytic gradient of the loss w.r.t. studentLogprobs (or studentTopK). */
function analytic(raw: Raw, config: OpdLossConfig, wrtTopK = false): number[] {
  return tf.tidy(() => {
    const t = tf.tensor2d(raw.t);
    const mask = tf.tensor2d(MASK);
    const weights = tf.tensor1d(W);
    const old = raw.old ? { oldLogprobs: tf.tensor2d(raw.old) } : {};
    if (wrtTopK) {
      const s = tf.tensor2d(raw.s);
      const tK = tf.tensor3d(raw.tK!);
      const g = tf.grad((sK: tf.Tensor) =>
        opdLoss(
          {
            studentLogprobs: s,
            teacherLogprobs: t,
            mask,
            weights,
            studentTopK: sK as tf.Tensor3D,
            teacherTopK: tK,
          },
          config,
        ),
      )(tf.tensor3d(raw.sK!));
      return Array.from(g.dataSync());
    }
    const g = tf.grad((s: tf.Tensor) =>
      opdLoss({ studentLogprobs: s as tf.Tensor2D, teacherLogprobs: t, mask, weights, ...old }, config),
    )(tf.tensor2d(raw.s));
    return Array.from(g.dataSync());
  });
}

const bump2 = (x: number[][], i: number, j: number, h: number) =>
  x.map((r, a) => r.map((v, b) => (a === i && b === j ? v + h : v)));

/**
 * Central differences w.r.t. the student log-prob of each real token. In pg mode the advantage
 * is a constant, so the teacher moves with the student (s - t, hence A, stays fixed) and only the
 * ratio sees the step.
 */
function numeric(raw: Raw, config: OpdLossConfig, h = 1e-2): number[] {
  const out: number[] = [];
  for (let i = 0; i < 2; i++) {
    for (let j = 0; j < 3; j++) {
      if (MASK[i]![j] === 0) {
        out.push(0);
        continue;
      }
      const step = (sign: number): Raw => ({
        ...raw,
        s: bump2(raw.s, i, j, sign * h),
        t: config.mode === 'pg' ? bump2(raw.t, i, j, sign * h) : raw.t,
      });
      out.push((lossValue(step(1), config) - lossValue(step(-1), config)) / (2 * h));
    }
  }
  return out;
}

function numericTopK(raw: Raw, config: OpdLossConfig, h = 1e-2): number[] {
  const out: number[] = [];
  const sK = raw.sK!;
  for (let i = 0; i < 2; i++)
    for (let j = 0; j < 3; j++)
      for (let k = 0; k < 2; k++) {
        if (MASK[i]![j] === 0) {
          out.push(0);
          continue;
        }
        const step = (sign: number) =>
          sK.map((r, a) =>
            r.map((c, b) => c.map((v, e) => (a === i && b === j && e === k ? v + sign * h : v))),
          );
        out.push(
          (lossValue({ ...raw, sK: step(1) }, config) - lossValue({ ...raw, sK: step(-1) }, config)) /
            (2 * h),
        );
      }
  return out;
}

function expectAllClose(a: number[], b: number[], tol: number): void {
  expect(a.length).toBe(b.length);
  a.forEach((v, i) => expect(Math.abs(v - b[i]!), `index ${i}: ${v} vs ${b[i]}`).toBeLessThan(tol));
}

const log3 = (x: number[][][]) =>
  x.map((r) => r.map((c) => c.map((v) => (Number.isNaN(v) ? 0.3 : Math.log(v)))));

describe.each<BackendName>(['cpu', 'wasm'])('gradients on %s', (backend) => {
  beforeAll(async () => {
    await selectBackend({ prefer: backend });
  });

  const cases: Array<[string, Partial<OpdLossConfig>, boolean]> = [
    ['direct abs', { estimator: 'abs', mode: 'direct' }, false],
    ['direct k2', { estimator: 'k2', mode: 'direct', aggregation: 'seq-mean-token-mean' }, false],
    ['direct k3', { estimator: 'k3', mode: 'direct', aggregation: 'seq-mean-token-sum' }, false],
    ['pg k1 (reference), with clipping', { estimator: 'k1' }, true],
    ['pg k1 seq-mean-token-sum-norm', { estimator: 'k1', aggregation: 'seq-mean-token-sum-norm' }, true],
    ['pg k2', { estimator: 'k2', aggregation: 'seq-mean-token-mean' }, true],
    ['pg k3', { estimator: 'k3' }, true],
    ['pg abs', { estimator: 'abs' }, true],
  ];
  it.each(cases)('%s matches central finite differences', (_, overrides, withOld) => {
    const config = opdLossConfig(overrides);
    const raw: Raw = { s: S2, t: T, ...(withOld ? { old: OLD2 } : {}) };
    const a = analytic(raw, config);
    expectAllClose(a, numeric(raw, config), 2e-3);
    expect(a.some((v) => Math.abs(v) > 0.05)).toBe(true); // the check is not vacuous
    expect(Math.abs(a[5]!)).toBe(0); // the padded token gets no gradient, though its teacher value is NaN
  });

  it('direct abs has zero gradient where student and teacher tie (sign(0) = 0, as in torch)', () => {
    // Fixture S, T: d = s - t = (0.5, -1, 0), (-2, 1); token [0][2] is an exact tie.
    // d/ds token-mean(w |d|) = w sign(d) / 5: (0.4, -0.4, 0), (-0.1, 0.1, 0 padding)
    const g = analytic({ s: S, t: T }, opdLossConfig({ estimator: 'abs', mode: 'direct' }));
    expect(g[2]).toBe(0);
    expectAllClose(g, [0.4, -0.4, 0, -0.1, 0.1, 0], 1e-6);
  });

  it('seq-mean-token-sum-norm: gradient w d / (sequences * T), the reference order', () => {
    // pg k1 at r = 1: per-token gradient w (s - t); the mean over 2 non-empty sequences, then / T = 3
    const g = analytic(
      { s: S, t: T },
      opdLossConfig({ estimator: 'k1', aggregation: 'seq-mean-token-sum-norm' }),
    );
    const d = [0.5, -1, 0, -2, 1, 0];
    const w = [2, 2, 2, 0.5, 0.5, 0];
    expectAllClose(
      g,
      d.map((v, i) => (w[i]! * v) / (2 * 3)),
      1e-6,
    );
  });

  it('direct forward-KL top-K matches finite differences w.r.t. studentTopK: -w pT / N', () => {
    const config = opdLossConfig({ estimator: 'forward-kl-topk', mode: 'direct' });
    const raw: Raw = { s: S, t: T, sK: log3(STUDENT_P), tK: log3(TEACHER_P) };
    const a = analytic(raw, config, true);
    expectAllClose(a, numericTopK(raw, config), 2e-3);
    // exact: d/d log pS_j = -w pT_j / 5 at real tokens, 0 at padding
    const expected = TEACHER_P.flatMap((row, i) =>
      row.flatMap((tok, j) => tok.map((p) => (MASK[i]![j] === 1 ? (-W[i]! * p) / 5 : 0))),
    );
    expectAllClose(a, expected, 1e-6);
  });

  it('pg at ratio 1 has gradient w * clamp(k1) / N (token-mean) and / (n_b * B) (seq-mean-token-mean)', () => {
    // d = s - t = (0.5, -1, 0), (-2, 1); w = (2, 0.5); N = 5
    // token-mean: w d / 5 = (0.2, -0.4, 0), (-0.2, 0.1, 0)
    expectAllClose(analytic({ s: S, t: T }, opdLossConfig()), [0.2, -0.4, 0, -0.2, 0.1, 0], 1e-6);
    // seq-mean-token-mean: row 0 w d / (3 * 2), row 1 w d / (2 * 2)
    expectAllClose(
      analytic({ s: S, t: T }, opdLossConfig({ aggregation: 'seq-mean-token-mean' })),
      [1 / 6, -2 / 6, 0, -1 / 4, 0.5 / 4, 0],
      1e-6,
    );
    // clamp 0.75 caps |d|: (0.5, -0.75, 0), (-0.75, 0.75) -> w d / 5
    expectAllClose(
      analytic({ s: S, t: T }, opdLossConfig({ clamp: 0.75 })),
      [0.2, -0.3, 0, -0.075, 0.075, 0],
      1e-6,
    );
  });

  it('teacher, old log-probs and weights get no gradient: only the student is on the tape', () => {
    tf.tidy(() => {
      const mask = tf.tensor2d(MASK);
      for (const config of [opdLossConfig(), opdLossConfig({ estimator: 'k2', mode: 'direct' })]) {
        const s = tf.variable(tf.tensor2d(S2));
        const t = tf.variable(tf.tensor2d(T));
        const old = tf.variable(tf.tensor2d(OLD2));
        const w = tf.variable(tf.tensor1d(W));
        const { value, grads } = tf.variableGrads(
          () =>
            opdLoss({ studentLogprobs: s, teacherLogprobs: t, oldLogprobs: old, weights: w, mask }, config),
          [s, t, old, w],
        );
        expect(Number.isFinite(value.dataSync()[0]!)).toBe(true);
        expect(Object.keys(grads)).toEqual([s.name]);
        expect(Array.from(grads[s.name]!.dataSync()).some((v) => v !== 0)).toBe(true);
        tf.dispose([s, t, old, w]);
      }
      // forward-KL top-K: only studentTopK receives a gradient (not the teacher's top-K, and not
      // studentLogprobs, which this estimator does not use)
      const sK = tf.variable(tf.tensor3d(log3(STUDENT_P)));
      const tK = tf.variable(tf.tensor3d(log3(TEACHER_P)));
      const s = tf.variable(tf.tensor2d(S2));
      const { grads } = tf.variableGrads(
        () =>
          opdLoss(
            { studentLogprobs: s, teacherLogprobs: tf.tensor2d(T), mask, studentTopK: sK, teacherTopK: tK },
            opdLossConfig({ estimator: 'forward-kl-topk', mode: 'direct' }),
          ),
        [sK, tK, s],
      );
      expect(Object.keys(grads)).toEqual([sK.name]);
      tf.dispose([sK, tK, s]);
    });
  });

  it('PPO clip: a ratio above 1 + clipHigh with positive advantage gives zero gradient; dual clip caps negative advantages', () => {
    // one token, s - t = -1 -> A = +1 (w = 1); r = e^0.3 = 1.35 > 1.2: loss = -1.2, gradient 0
    const one = (s: number, t: number, old: number, extra: Partial<OpdLossConfig> = {}) =>
      tf.tidy(() => {
        const f = (x: tf.Tensor2D) =>
          opdLoss(
            {
              studentLogprobs: x,
              teacherLogprobs: tf.tensor2d([[t]]),
              oldLogprobs: tf.tensor2d([[old]]),
              mask: tf.tensor2d([[1]]),
            },
            opdLossConfig(extra),
          );
        const { value, grad } = tf.valueAndGrad(f)(tf.tensor2d([[s]]));
        return [value.dataSync()[0]!, grad.dataSync()[0]!];
      });
    let [loss, grad] = one(-2, -1, -2.3);
    expect(loss).toBeCloseTo(-1.2, 5);
    expect(Math.abs(grad!)).toBe(0);
    // same advantage, r = e^0.1 inside the clip range: loss = -r, gradient -r
    [loss, grad] = one(-2, -1, -2.1);
    expect(loss).toBeCloseTo(-Math.exp(0.1), 5);
    expect(grad).toBeCloseTo(-Math.exp(0.1), 5);
    // A = -1 (s - t = 1), r = e^1.5 = 4.48 > dualClip 3: loss capped at -A * 3 = 3, gradient 0
    [loss, grad] = one(-1, -2, -2.5);
    expect(loss).toBeCloseTo(3, 5);
    expect(Math.abs(grad!)).toBe(0);
    // A = -1, r = e^0.5 = 1.65 below the dual clip: loss -A r = 1.65, gradient r
    [loss, grad] = one(-1, -2, -1.5);
    expect(loss).toBeCloseTo(Math.exp(0.5), 5);
    expect(grad).toBeCloseTo(Math.exp(0.5), 5);
    // A = -1, r = e^-0.5 = 0.61 < 1 - clipLow: loss -A * 0.8 = 0.8 (clipped), gradient 0
    [loss, grad] = one(-1, -2, -0.5);
    expect(loss).toBeCloseTo(0.8, 5);
    expect(Math.abs(grad!)).toBe(0);
    // a wider clipHigh lets r = 1.35 through: loss = -1.35, gradient -1.35
    [loss, grad] = one(-2, -1, -2.3, { clipHigh: 0.5 });
    expect(loss).toBeCloseTo(-Math.exp(0.3), 5);
    expect(grad).toBeCloseTo(-Math.exp(0.3), 5);
    // the log-ratio clamp: new - old = 30 is clamped to logRatioClamp 2: r = e^2, dual cap 3 > e^2 = 7.39? no: capped at 3
    [loss, grad] = one(-1, -2, -31, { logRatioClamp: 2, dualClip: 10 });
    expect(loss).toBeCloseTo(Math.exp(2), 4);
    expect(Math.abs(grad!)).toBe(0); // the clamp of the log-ratio stops the gradient, as in the reference
  });

  it('k3 at the extremes: clamped to 10, finite, and with zero gradient', () => {
    tf.tidy(() => {
      // t - s = 50 -> c = 20, e^20 - 21 -> 10; t - s = -50 -> c = -20, e^-20 + 19 -> 10;
      // t - s = 1e4 -> 10 (no Infinity); t - s = 2 -> e^2 - 3 = 4.389; t - s = 0 -> 0
      const s = tf.tensor1d([0, 0, 0, 0, 0]);
      const t = tf.tensor1d([50, -50, 1e4, 2, 0]);
      const { value, grad } = tf.valueAndGrad((x: tf.Tensor1D) => tf.sum(tokenEstimator('k3', x, t)))(s);
      const values = tokenEstimator('k3', s, t).dataSync();
      expect(values[0]).toBe(10);
      expect(values[1]).toBe(10);
      expect(values[2]).toBe(10);
      expect(values[3]).toBeCloseTo(Math.exp(2) - 3, 5);
      expect(values[4]).toBe(0);
      expect(Number.isFinite(value.dataSync()[0]!)).toBe(true);
      // d/ds (e^(t-s) - (t-s) - 1) = 1 - e^(t-s): zero where clamped, 1 - e^2 at t - s = 2
      const g = grad.dataSync();
      for (const i of [0, 1, 2, 4]) expect(Math.abs(g[i]!)).toBe(0);
      expect(g[3]).toBeCloseTo(1 - Math.exp(2), 4);
    });
  });
});
