import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '@vzero/core';
import {
  AGGREGATIONS,
  opdLoss,
  opdLossConfig,
  tokenEstimator,
  type OpdLossConfig,
  type OpdLossInputs,
} from '../src/index.js';

const logprob = fc.float({ min: -12, max: 0, noNaN: true });
const garbage = fc.oneof(fc.float(), fc.constantFrom(Number.NaN, Infinity, -Infinity));

interface Batch {
  b: number;
  t: number;
  k: number;
  s: number[];
  teacher: number[];
  old: number[];
  sK: number[];
  tK: number[];
  mask: number[];
  w: number[];
}

const batchArb: fc.Arbitrary<Batch> = fc
  .record({
    b: fc.integer({ min: 1, max: 3 }),
    t: fc.integer({ min: 1, max: 4 }),
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

const configArb: fc.Arbitrary<OpdLossConfig> = fc
  .record({
    pair: fc.constantFrom(
      ['k1', 'pg'] as const,
      ['abs', 'pg'] as const,
      ['k2', 'pg'] as const,
      ['k3', 'pg'] as const,
      ['abs', 'direct'] as const,
      ['k2', 'direct'] as const,
      ['k3', 'direct'] as const,
      ['forward-kl-topk', 'direct'] as const,
    ),
    aggregation: fc.constantFrom(...AGGREGATIONS),
    clamp: fc.constantFrom(0.5, 10),
  })
  .map(({ pair, aggregation, clamp }) =>
    opdLossConfig({ estimator: pair[0], mode: pair[1], aggregation, clamp }),
  );

/** Loss value and gradients w.r.t. the student inputs. */
function evaluate(batch: Batch, config: OpdLossConfig): { loss: number; grad: number[] } {
  return tf.tidy(() => {
    const { b, t, k } = batch;
    const inputs = (s: tf.Tensor2D, sK: tf.Tensor3D): OpdLossInputs => ({
      studentLogprobs: s,
      teacherLogprobs: tf.tensor2d(batch.teacher, [b, t]),
      oldLogprobs: tf.tensor2d(batch.old, [b, t]),
      mask: tf.tensor2d(batch.mask, [b, t]),
      weights: tf.tensor1d(batch.w),
      studentTopK: sK,
      teacherTopK: tf.tensor3d(batch.tK, [b, t, k]),
    });
    const topK = config.estimator === 'forward-kl-topk';
    const s = tf.tensor2d(batch.s, [b, t]);
    const sK = tf.tensor3d(batch.sK, [b, t, k]);
    const { value, grad } = topK
      ? tf.valueAndGrad((x: tf.Tensor) => opdLoss(inputs(s, x as tf.Tensor3D), config))(sK)
      : tf.valueAndGrad((x: tf.Tensor) => opdLoss(inputs(x as tf.Tensor2D, sK), config))(s);
    return { loss: value.dataSync()[0]!, grad: Array.from(grad.dataSync()) };
  });
}

describe('opdLoss properties (cpu)', () => {
  beforeAll(async () => {
    await selectBackend({ prefer: 'cpu' });
  });

  it('values at padded positions, NaN included, change neither the loss nor its gradient', () => {
    fc.assert(
      fc.property(batchArb, configArb, fc.infiniteStream(garbage), (batch, config, stream) => {
        const it = stream[Symbol.iterator]();
        const scramble = (values: number[], per: number) =>
          values.map((v, i) => (batch.mask[Math.floor(i / per)] === 1 ? v : (it.next().value as number)));
        const scrambled: Batch = {
          ...batch,
          s: scramble(batch.s, 1),
          teacher: scramble(batch.teacher, 1),
          old: scramble(batch.old, 1),
          sK: scramble(batch.sK, batch.k),
          tK: scramble(batch.tK, batch.k),
        };
        const a = evaluate(batch, config);
        const b = evaluate(scrambled, config);
        expect(Number.isFinite(a.loss)).toBe(true);
        expect(b.loss).toBe(a.loss);
        expect(b.grad.map((g) => g + 0)).toEqual(a.grad.map((g) => g + 0));
      }),
      { numRuns: 60 },
    );
  });

  it('scaling every weight by c scales the direct-mode loss by c', () => {
    fc.assert(
      fc.property(
        batchArb,
        configArb.filter((c) => c.mode === 'direct'),
        fc.float({ min: Math.fround(0.1), max: 10, noNaN: true }),
        (batch, config, c) => {
          const base = evaluate(batch, config).loss;
          const scaled = evaluate({ ...batch, w: batch.w.map((w) => w * c) }, config).loss;
          expect(Math.abs(scaled - c * base)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(c * base)));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('abs, k2 and k3 are never negative; k3 never exceeds 10', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.float({ min: -1e4, max: 1e4, noNaN: true }), logprob), {
          minLength: 1,
          maxLength: 16,
        }),
        (pairs) => {
          tf.tidy(() => {
            const s = tf.tensor1d(pairs.map((p) => p[0]));
            const t = tf.tensor1d(pairs.map((p) => p[1]));
            for (const estimator of ['abs', 'k2', 'k3'] as const) {
              for (const v of tokenEstimator(estimator, s, t).dataSync()) expect(v).toBeGreaterThanOrEqual(0);
            }
            for (const v of tokenEstimator('k3', s, t).dataSync()) expect(v).toBeLessThanOrEqual(10);
          });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('plain OPD in pg mode at ratio 1 equals the aggregated clamped k1 (old = new, w = 1)', () => {
    fc.assert(
      fc.property(batchArb, (batch) => {
        const config = opdLossConfig();
        const value = tf.tidy(
          () =>
            opdLoss(
              {
                studentLogprobs: tf.tensor2d(batch.s, [batch.b, batch.t]),
                teacherLogprobs: tf.tensor2d(batch.teacher, [batch.b, batch.t]),
                mask: tf.tensor2d(batch.mask, [batch.b, batch.t]),
              },
              config,
            ).dataSync()[0]!,
        );
        let sum = 0;
        let n = 0;
        batch.mask.forEach((m, i) => {
          if (m === 1) {
            sum += Math.min(10, Math.max(-10, batch.s[i]! - batch.teacher[i]!));
            n++;
          }
        });
        expect(value).toBeCloseTo(n > 0 ? sum / n : 0, 4);
      }),
      { numRuns: 60 },
    );
  });
});
