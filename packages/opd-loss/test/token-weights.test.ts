// Gate weights per token ([B, T], the token-level gate) next to the per-sequence ones ([B]).
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { InvalidInputError, ShapeMismatchError, selectBackend, type BackendName } from '@vzero/core';
import {
  AGGREGATIONS,
  opdLoss,
  opdLossConfig,
  opdLossMetrics,
  validateOpdInputs,
  type OpdLossConfig,
  type OpdLossInputs,
} from '../src/index.js';
import { MASK, S, T, disposeAll, fixture } from './fixtures.js';

const TOKEN_W = [
  [1, 2, 3],
  [0.5, 0, Number.NaN], // the NaN is at padding
];

const bits = (x: tf.Tensor) => Array.from(new Uint32Array(Float32Array.from(x.dataSync()).buffer));

const logprob = fc.float({ min: -12, max: 0, noNaN: true });
const batchArb = fc
  .record({
    b: fc.integer({ min: 1, max: 4 }),
    t: fc.integer({ min: 1, max: 6 }),
    k: fc.integer({ min: 1, max: 3 }),
  })
  .chain(({ b, t, k }) =>
    fc.record({
      b: fc.constant(b),
      t: fc.constant(t),
      k: fc.constant(k),
      s: fc.array(logprob, { minLength: b * t, maxLength: b * t }),
      teacher: fc.array(logprob, { minLength: b * t, maxLength: b * t }),
      old: fc.array(logprob, { minLength: b * t, maxLength: b * t }),
      sK: fc.array(logprob, { minLength: b * t * k, maxLength: b * t * k }),
      tK: fc.array(logprob, { minLength: b * t * k, maxLength: b * t * k }),
      mask: fc.array(fc.constantFrom(0, 1), { minLength: b * t, maxLength: b * t }),
      w: fc.array(fc.float({ min: 0, max: 2, noNaN: true }), { minLength: b, maxLength: b }),
    }),
  );
const configArb = fc
  .constantFrom<Partial<OpdLossConfig>>(
    { estimator: 'k1', mode: 'pg' },
    { estimator: 'k3', mode: 'pg' },
    { estimator: 'abs', mode: 'direct' },
    { estimator: 'k2', mode: 'direct' },
    { estimator: 'k3', mode: 'direct' },
    { estimator: 'forward-kl-topk', mode: 'direct' },
  )
  .chain((c) => fc.constantFrom(...AGGREGATIONS).map((aggregation) => opdLossConfig({ ...c, aggregation })));

describe.each<BackendName>(['cpu', 'wasm'])('per-token gate weights on %s', (backend) => {
  beforeAll(async () => {
    await selectBackend({ prefer: backend });
  });

  it('per-sequence weights and the same weights repeated on every token give bit-identical loss and gradient', () => {
    fc.assert(
      fc.property(batchArb, configArb, (x, config) => {
        tf.tidy(() => {
          const base = (weights: tf.Tensor1D | tf.Tensor2D): OpdLossInputs => ({
            studentLogprobs: tf.tensor2d(x.s, [x.b, x.t]),
            teacherLogprobs: tf.tensor2d(x.teacher, [x.b, x.t]),
            oldLogprobs: tf.tensor2d(x.old, [x.b, x.t]),
            mask: tf.tensor2d(x.mask, [x.b, x.t]),
            studentTopK: tf.tensor3d(x.sK, [x.b, x.t, x.k]),
            teacherTopK: tf.tensor3d(x.tK, [x.b, x.t, x.k]),
            weights,
          });
          const perSequence = base(tf.tensor1d(x.w));
          const perToken = base(
            tf.tensor2d(
              x.w.flatMap((w) => new Array<number>(x.t).fill(w)),
              [x.b, x.t],
            ),
          );
          const valueAndGrads = (inputs: OpdLossInputs) => {
            const wrt = config.estimator === 'forward-kl-topk' ? 'studentTopK' : 'studentLogprobs';
            const f = (v: tf.Tensor) => opdLoss({ ...inputs, [wrt]: v }, config);
            return tf.valueAndGrad(f)(inputs[wrt] as tf.Tensor);
          };
          const a = valueAndGrads(perSequence);
          const b = valueAndGrads(perToken);
          expect(bits(b.value)).toEqual(bits(a.value));
          expect(bits(b.grad)).toEqual(bits(a.grad));
          expect(opdLossMetrics(perToken, config)).toEqual(opdLossMetrics(perSequence, config));
        });
      }),
      { numRuns: 60 },
    );
  });

  it('direct k2, token-mean: loss sum w_k 0.5 d_k^2 / 5 and gradient w_k d_k / 5; a NaN weight at padding reaches nothing', () => {
    tf.tidy(() => {
      // d = s - t = (0.5, -1, 0), (-2, 1, padding); w = (1, 2, 3), (0.5, 0, NaN)
      // loss = (1 * 0.125 + 2 * 0.5 + 3 * 0 + 0.5 * 2 + 0 * 0.5) / 5 = 2.125 / 5 = 0.425
      const weights = tf.tensor2d(TOKEN_W);
      const f = (s: tf.Tensor) =>
        opdLoss(
          {
            studentLogprobs: s as tf.Tensor2D,
            teacherLogprobs: tf.tensor2d(T),
            mask: tf.tensor2d(MASK),
            weights,
          },
          opdLossConfig({ estimator: 'k2', mode: 'direct' }),
        );
      const { value, grad } = tf.valueAndGrad(f)(tf.tensor2d(S));
      expect(value.dataSync()[0]).toBeCloseTo(0.425, 6);
      const g = Array.from(grad.dataSync());
      [0.1, -0.4, 0, -0.2, 0, 0].forEach((e, i) => expect(g[i]).toBeCloseTo(e, 6));
      expect(g.every(Number.isFinite)).toBe(true);
    });
  });

  it('pg k1 at ratio 1: gradient w_k (s_k - t_k) / 5', () => {
    tf.tidy(() => {
      const weights = tf.tensor2d(TOKEN_W);
      const f = (s: tf.Tensor) =>
        opdLoss({
          studentLogprobs: s as tf.Tensor2D,
          teacherLogprobs: tf.tensor2d(T),
          mask: tf.tensor2d(MASK),
          weights,
        });
      const g = Array.from(tf.grad(f)(tf.tensor2d(S)).dataSync());
      [0.1, -0.4, 0, -0.2, 0, 0].forEach((e, i) => expect(g[i]).toBeCloseTo(e, 6));
    });
  });

  it('errors name the weights: a [B, T] of the wrong T, a non-finite weight at a real token', () => {
    const inputs = fixture();
    const wide = tf.ones([2, 4]) as tf.Tensor2D;
    expect(() => opdLoss({ ...inputs, weights: wide })).toThrow(ShapeMismatchError);
    expect(() => opdLoss({ ...inputs, weights: wide })).toThrow(
      /^weights: expected \[2, 3\] \(one weight per token of studentLogprobs\), got \[2, 4\]/,
    );
    const bad = tf.tensor2d([
      [1, 1, 1],
      [Number.NaN, 1, 1],
    ]);
    expect(() => validateOpdInputs({ ...inputs, weights: bad })).toThrow(InvalidInputError);
    expect(() => validateOpdInputs({ ...inputs, weights: bad })).toThrow(
      /^weights\[1\]\[0\] = NaN: expected a finite weight at a real token \(mask 1\)/,
    );
    const padded = tf.tensor2d(TOKEN_W);
    expect(() => validateOpdInputs({ ...inputs, weights: padded })).not.toThrow();
    tf.dispose([wide, bad, padded]);
    disposeAll(inputs);
  });

  it('leaves no tensor behind across repeated loss, gradient and metrics calls', () => {
    const inputs = { ...fixture(), weights: tf.tensor2d(TOKEN_W) };
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      for (const config of [opdLossConfig(), opdLossConfig({ estimator: 'k3', mode: 'direct' })]) {
        const loss = opdLoss(inputs, config);
        expect(tf.memory().numTensors).toBe(before + 1);
        loss.dispose();
        const g = tf.grad((s: tf.Tensor) =>
          opdLoss({ ...inputs, studentLogprobs: s as tf.Tensor2D }, config),
        )(inputs.studentLogprobs);
        g.dispose();
        opdLossMetrics(inputs, config);
        expect(tf.memory().numTensors).toBe(before);
      }
    }
    disposeAll(inputs);
  });
});
