// The logSoftmax op against tf.logSoftmax and tfjs's gradient of it: forward values and the
// gradient in x on random shapes, wide value ranges, -Infinity and NaN entries, with and without
// the native kernels. Without them the op is tf.logSoftmax (bitwise equal); the kernels use the
// vectorised exp and a double sum, so 1e-5 tolerances there. Also: every fused op of the package
// accepts empty inputs with the kernels registered (they take the plain path).
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError, Rng, selectBackend } from '@vzero/core';
import {
  LOG_SOFTMAX_GRAD_KERNEL,
  LOG_SOFTMAX_KERNEL,
  adamwUpdate,
  attention,
  layerNorm,
  logSoftmax,
  registerNativeKernels,
  scaledMaskedSoftmax,
  unregisterNativeKernels,
  type NativeBackendName,
} from '../src/index.js';
import { AVAILABLE, SKIP_REASON, expectClose, randomTensor } from './helpers.js';

type LogSoftmax = (x: tf.Tensor) => tf.Tensor;

/** Output and gradient in x of sum(op(x) * w). */
function valueAndGrad(op: LogSoftmax, x: tf.Tensor, w: tf.Tensor): Float32Array[] {
  const out = tf.tidy(() => [op(x), tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(op(xi), w)))(x)]);
  const values = out.map((t) => t.dataSync() as Float32Array);
  tf.dispose(out);
  return values;
}

function randomCase(rng: Rng): { x: tf.Tensor; w: tf.Tensor } {
  const rank = rng.int(1, 4);
  const shape = Array.from({ length: rank }, (_, i) => (i === rank - 1 ? rng.int(1, 80) : rng.int(1, 6)));
  const x = tf.tidy(() => tf.mul(randomTensor(rng, shape), 1 + rng.float() * 20));
  return { x, w: randomTensor(rng, shape) };
}

export function defineLogSoftmaxSuite(backend: NativeBackendName): void {
  describe(`logSoftmax op on ${backend}`, () => {
    beforeAll(async () => {
      await selectBackend({ prefer: backend });
    });
    afterEach(() => unregisterNativeKernels());

    it('matches a hand-computed row: [0, ln 3] -> [ln 1/4, ln 3/4]', () => {
      const y = tf.tidy(() => logSoftmax(tf.tensor1d([0, Math.log(3)])));
      expectClose(
        y.dataSync() as Float32Array,
        Float32Array.from([Math.log(0.25), Math.log(0.75)]),
        1e-6,
        1e-6,
      );
      y.dispose();
    });

    it('without native kernels: forward and gradient bitwise equal to tf.logSoftmax', () => {
      const rng = new Rng(71);
      for (let trial = 0; trial < 15; trial++) {
        const { x, w } = randomCase(rng);
        const fused = valueAndGrad(logSoftmax, x, w);
        const plain = valueAndGrad((t) => tf.logSoftmax(t), x, w);
        for (let i = 0; i < 2; i++) expect(fused[i]).toEqual(plain[i]);
        tf.dispose([x, w]);
      }
    });

    it('rejects a scalar', () => {
      expect(() => logSoftmax(tf.scalar(1))).toThrow(InvalidInputError);
    });

    describe.skipIf(!AVAILABLE)(`with the native kernels${SKIP_REASON}`, () => {
      it('registers both kernels', () => {
        const report = registerNativeKernels({ backends: [backend] });
        expect(report.registered[backend]).toContain(LOG_SOFTMAX_KERNEL);
        expect(report.registered[backend]).toContain(LOG_SOFTMAX_GRAD_KERNEL);
      });

      it('forward and gradient match tf.logSoftmax on random shapes (1 and 2 threads)', () => {
        const rng = new Rng(72);
        for (let trial = 0; trial < 30; trial++) {
          const { x, w } = randomCase(rng);
          const plain = valueAndGrad((t) => tf.logSoftmax(t), x, w);
          registerNativeKernels({ backends: [backend], threads: trial % 2 === 0 ? 1 : 2 });
          const fused = valueAndGrad(logSoftmax, x, w);
          unregisterNativeKernels();
          for (let i = 0; i < 2; i++) expectClose(fused[i]!, plain[i]!, 1e-5, 1e-5);
          tf.dispose([x, w]);
        }
      });

      it('large rows split over threads: the same as one thread and as tf.logSoftmax', () => {
        const rng = new Rng(73);
        const x = tf.tidy(() => tf.mul(randomTensor(rng, [2000, 70]), 8));
        const w = randomTensor(rng, [2000, 70]);
        registerNativeKernels({ backends: [backend], threads: 1 });
        const one = valueAndGrad(logSoftmax, x, w);
        registerNativeKernels({ backends: [backend], threads: 2 });
        const two = valueAndGrad(logSoftmax, x, w);
        unregisterNativeKernels();
        const plain = valueAndGrad((t) => tf.logSoftmax(t), x, w);
        for (let i = 0; i < 2; i++) {
          expect(two[i]).toEqual(one[i]);
          expectClose(two[i]!, plain[i]!, 1e-5, 1e-5);
        }
        tf.dispose([x, w]);
      });

      it('keeps -Infinity entries at -Infinity (probability 0), lets NaN through, spans [-120, 40]', () => {
        const cols = 161;
        const data = Float32Array.from({ length: 2 * cols }, (_, i) => (i % cols) - 120 + (i / cols) * 0.37);
        const x = tf.tensor2d(data, [2, cols]);
        const plain = tf.tidy(() => tf.logSoftmax(x));
        registerNativeKernels({ backends: [backend] });
        const fused = tf.tidy(() => logSoftmax(x));
        const special = tf.tidy(() =>
          logSoftmax(
            tf.tensor2d([
              [0, -Infinity, 1],
              [0, Number.NaN, 1],
            ]),
          ),
        );
        unregisterNativeKernels();
        expectClose(fused.dataSync() as Float32Array, plain.dataSync() as Float32Array, 1e-5, 1e-6);
        const s = special.dataSync();
        expect(s[1]).toBe(-Infinity);
        expect(Number.isFinite(s[0]) && Number.isFinite(s[2])).toBe(true);
        expect([s[3], s[4], s[5]].every(Number.isNaN)).toBe(true);
        tf.dispose([x, plain, fused, special]);
      });

      it('every fused op takes empty inputs (the plain path) with the kernels registered', () => {
        registerNativeKernels({ backends: [backend] });
        tf.tidy(() => {
          expect(logSoftmax(tf.zeros([0, 5])).shape).toEqual([0, 5]);
          expect(scaledMaskedSoftmax(tf.zeros([0, 3]), 0.5).shape).toEqual([0, 3]);
          expect(layerNorm(tf.zeros([0, 4]), tf.ones([4]), tf.zeros([4])).shape).toEqual([0, 4]);
          const k = tf.zeros([0, 2, 3, 2]) as tf.Tensor4D;
          expect(attention(tf.zeros([0, 1, 4]) as tf.Tensor3D, k, k, 2, 1).shape).toEqual([0, 1, 4]);
          const e = tf.zeros([0]);
          const settings = {
            lr: 0.1,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            step: 1,
            weightDecay: 0,
            gradScale: 1,
          };
          expect(adamwUpdate(e, e, e, e, settings).x.shape).toEqual([0]);
        });
      });
    });

    it('leaves the tensor count unchanged over repeated forward + gradient calls (both paths)', () => {
      const rng = new Rng(74);
      const { x, w } = randomCase(rng);
      for (const native of AVAILABLE ? [false, true] : [false]) {
        if (native) registerNativeKernels({ backends: [backend] });
        valueAndGrad(logSoftmax, x, w);
        const before = tf.memory().numTensors;
        for (let i = 0; i < 5; i++) valueAndGrad(logSoftmax, x, w);
        expect(tf.memory().numTensors).toBe(before);
        unregisterNativeKernels();
      }
      tf.dispose([x, w]);
    });
  });
}
