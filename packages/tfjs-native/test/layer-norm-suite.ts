// The layerNorm op against the unfused formula it replaces (the model's former mean / sub /
// square / mean / rsqrt / mul / add and tfjs's autodiff of it): forward values and gradients in
// x, gamma and beta, on random shapes, with and without the native kernels registered.
// Tolerances: the plain forward is the same ops (bitwise equal); the native kernels accumulate
// in double and the closed-form gradient sums in another order, so 1e-5 relative + 1e-5 absolute.
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError, Rng, ShapeMismatchError, selectBackend } from '@vzero/core';
import {
  LAYER_NORM_GRAD_KERNEL,
  LAYER_NORM_KERNEL,
  layerNorm,
  registerNativeKernels,
  unregisterNativeKernels,
  type NativeBackendName,
} from '../src/index.js';
import { AVAILABLE, SKIP_REASON, expectClose, randomTensor } from './helpers.js';

function unfused(x: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const mean = tf.mean(x, -1, true);
  const xc = tf.sub(x, mean);
  const variance = tf.mean(tf.square(xc), -1, true);
  return tf.add(tf.mul(tf.mul(xc, tf.rsqrt(tf.add(variance, 1e-5))), g), b);
}

/** Output and gradients of sum(norm(x, g, b) * w) in x, g and b. */
function valueAndGrads(
  norm: (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.Tensor,
  x: tf.Tensor,
  g: tf.Tensor,
  b: tf.Tensor,
  w: tf.Tensor,
): Float32Array[] {
  const out = tf.tidy(() => {
    const y = norm(x, g, b);
    const grads = tf.grads((xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor) =>
      tf.sum(tf.mul(norm(xi, gi, bi), w)),
    )([x, g, b]);
    return [y, ...grads];
  });
  const values = out.map((t) => t.dataSync() as Float32Array);
  tf.dispose(out);
  return values;
}

function randomCase(rng: Rng): tf.Tensor[] {
  const rank = rng.int(1, 5);
  const shape = Array.from({ length: rank }, (_, i) => (i === rank - 1 ? rng.int(1, 70) : rng.int(1, 6)));
  const d = shape[rank - 1]!;
  // Offsets and scales per row so mean and variance are not ~0 and ~1/3 everywhere.
  const x = tf.tidy(() =>
    tf.add(tf.mul(randomTensor(rng, shape), rng.float() * 4 + 0.1), rng.float() * 6 - 3),
  );
  return [x, randomTensor(rng, [d]), randomTensor(rng, [d]), randomTensor(rng, shape)];
}

export function defineLayerNormSuite(backend: NativeBackendName): void {
  describe(`layerNorm op on ${backend}`, () => {
    beforeAll(async () => {
      await selectBackend({ prefer: backend });
    });
    afterEach(() => unregisterNativeKernels());

    it('matches a hand-computed row: x [1, 3], gamma [2, 1], beta [0, 1]', () => {
      // mean 2, variance 1: y = (x - 2) / sqrt(1 + 1e-5) * gamma + beta.
      const s = 1 / Math.sqrt(1 + 1e-5);
      const y = tf.tidy(() => layerNorm(tf.tensor2d([[1, 3]]), tf.tensor1d([2, 1]), tf.tensor1d([0, 1])));
      expectClose(y.dataSync() as Float32Array, Float32Array.from([-2 * s, 1 + s]), 1e-6, 1e-6);
      y.dispose();
    });

    it('without native kernels: forward bitwise equal, gradients equal to autodiff of the unfused formula', () => {
      const rng = new Rng(21);
      for (let trial = 0; trial < 25; trial++) {
        const [x, g, b, w] = randomCase(rng) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        const fused = valueAndGrads(layerNorm, x, g, b, w);
        const plain = valueAndGrads(unfused, x, g, b, w);
        expect(fused[0]).toEqual(plain[0]);
        for (let i = 1; i < 4; i++) expectClose(fused[i]!, plain[i]!, 1e-5, 1e-5);
        tf.dispose([x, g, b, w]);
      }
    });

    it('rejects gamma/beta of the wrong shape, a bad epsilon and a scalar x', () => {
      tf.tidy(() => {
        const x = tf.zeros([2, 3]);
        const ok = tf.ones([3]);
        expect(() => layerNorm(x, tf.ones([4]), ok)).toThrow(ShapeMismatchError);
        expect(() => layerNorm(x, ok, tf.ones([1, 3]))).toThrow(/beta/);
        expect(() => layerNorm(x, ok, ok, 0)).toThrow(InvalidInputError);
        expect(() => layerNorm(x, ok, ok, Number.NaN)).toThrow(/epsilon/);
        expect(() => layerNorm(tf.scalar(1), ok, ok)).toThrow(InvalidInputError);
      });
    });

    describe.skipIf(!AVAILABLE)(`with the native kernels${SKIP_REASON}`, () => {
      it('registers both layer-norm kernels and removes them again', () => {
        const report = registerNativeKernels({ backends: [backend], threads: 2 });
        expect(report.registered[backend]).toContain(LAYER_NORM_KERNEL);
        expect(report.registered[backend]).toContain(LAYER_NORM_GRAD_KERNEL);
        expect(tf.getKernel(LAYER_NORM_KERNEL, backend)).toBeDefined();
        unregisterNativeKernels();
        expect(tf.getKernel(LAYER_NORM_KERNEL, backend)).toBeUndefined();
        expect(tf.getKernel(LAYER_NORM_GRAD_KERNEL, backend)).toBeUndefined();
      });

      it('forward and gradients match the unfused formula on random shapes (1 and 2 threads)', () => {
        const rng = new Rng(22);
        for (let trial = 0; trial < 30; trial++) {
          const [x, g, b, w] = randomCase(rng) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
          const plain = valueAndGrads(unfused, x, g, b, w);
          registerNativeKernels({ backends: [backend], threads: trial % 2 === 0 ? 1 : 2 });
          const fused = valueAndGrads(layerNorm, x, g, b, w);
          unregisterNativeKernels();
          for (let i = 0; i < 4; i++) expectClose(fused[i]!, plain[i]!, 1e-5, 1e-5);
          tf.dispose([x, g, b, w]);
        }
      });

      it('splits large inputs across threads with the same result as one thread', () => {
        const rng = new Rng(23);
        const [x, g, b, w] = [
          randomTensor(rng, [3000, 96]),
          randomTensor(rng, [96]),
          randomTensor(rng, [96]),
          randomTensor(rng, [3000, 96]),
        ];
        registerNativeKernels({ backends: [backend], threads: 1 });
        const one = valueAndGrads(layerNorm, x, g, b, w);
        registerNativeKernels({ backends: [backend], threads: 2 });
        const two = valueAndGrads(layerNorm, x, g, b, w);
        unregisterNativeKernels();
        const plain = valueAndGrads(unfused, x, g, b, w);
        for (let i = 0; i < 4; i++) {
          expect(two[i]).toEqual(one[i]);
          // dgamma and dbeta are sums over 3000 rows, which the plain kernels add in float32
          // (the native ones in double): ~1e-5 relative of the sum's error there.
          const tol = i >= 2 ? 1e-4 : 1e-5;
          expectClose(two[i]!, plain[i]!, tol, tol);
        }
        tf.dispose([x, g, b, w]);
      });

      it('float32 only: int32 inputs take the plain path', () => {
        registerNativeKernels({ backends: [backend] });
        const y = tf.tidy(() =>
          layerNorm(tf.tensor2d([[1, 3]], [1, 2], 'int32'), tf.tensor1d([2, 1]), tf.tensor1d([0, 1])),
        );
        const s = 1 / Math.sqrt(1 + 1e-5);
        expectClose(y.dataSync() as Float32Array, Float32Array.from([-2 * s, 1 + s]), 1e-6, 1e-6);
        y.dispose();
      });
    });

    it('leaves the tensor count unchanged over repeated forward + gradient calls (both paths)', () => {
      const rng = new Rng(24);
      const [x, g, b, w] = randomCase(rng) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
      for (const native of AVAILABLE ? [false, true] : [false]) {
        if (native) registerNativeKernels({ backends: [backend] });
        valueAndGrads(layerNorm, x, g, b, w);
        const before = tf.memory().numTensors;
        for (let i = 0; i < 5; i++) valueAndGrads(layerNorm, x, g, b, w);
        expect(tf.memory().numTensors).toBe(before);
        unregisterNativeKernels();
      }
      tf.dispose([x, g, b, w]);
    });
  });
}
