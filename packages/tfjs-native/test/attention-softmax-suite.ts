// The scaledMaskedSoftmax op against the attention's former Mul, Add and Softmax and tfjs's
// autodiff of them: forward values and the gradient in x, on random shapes and mask broadcasts,
// with and without the native kernels. The plain forward is the same ops (bitwise equal); the
// native kernels sum in another order (and the gradient's row sum in double): 1e-5 tolerances.
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError, Rng, ShapeMismatchError, selectBackend } from '@vzero/core';
import {
  SCALED_MASKED_SOFTMAX_GRAD_KERNEL,
  SCALED_MASKED_SOFTMAX_KERNEL,
  maskRowIndex,
  registerNativeKernels,
  scaledMaskedSoftmax,
  unregisterNativeKernels,
  type NativeBackendName,
} from '../src/index.js';
import { AVAILABLE, SKIP_REASON, expectClose, randomTensor } from './helpers.js';

type Softmax = (x: tf.Tensor, scale: number, mask: tf.Tensor | null) => tf.Tensor;

const unfused: Softmax = (x, scale, mask) => {
  const s = tf.mul(x, scale);
  return tf.softmax(mask ? tf.add(s, mask) : s);
};

/** Output and gradient in x of sum(op(x) * w). */
function valueAndGrad(
  op: Softmax,
  x: tf.Tensor,
  scale: number,
  mask: tf.Tensor | null,
  w: tf.Tensor,
): Float32Array[] {
  const out = tf.tidy(() => {
    const y = op(x, scale, mask);
    const g = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(op(xi, scale, mask), w)))(x);
    return [y, g];
  });
  const values = out.map((t) => t.dataSync() as Float32Array);
  tf.dispose(out);
  return values;
}

/** x, w of a random rank-1..4 shape and a mask of a random broadcasting shape (or none). */
function randomCase(rng: Rng): { x: tf.Tensor; w: tf.Tensor; mask: tf.Tensor | null; scale: number } {
  const rank = rng.int(1, 5);
  const shape = Array.from({ length: rank }, (_, i) => (i === rank - 1 ? rng.int(1, 40) : rng.int(1, 5)));
  const x = tf.tidy(() => tf.mul(randomTensor(rng, shape), 4));
  const keep = rng.int(1, rank + 1); // trailing axes the mask has
  const maskShape = shape.slice(rank - keep).map((d, i) => (i < keep - 1 && rng.float() < 0.5 ? 1 : d));
  // 0 or -1e9 (a causal-style mask), with some rows fully masked.
  const mask =
    rng.float() < 0.2
      ? null
      : tf.tidy(() => tf.mul(tf.cast(tf.less(randomTensor(rng, maskShape), -0.3), 'float32'), -1e9));
  return { x, w: randomTensor(rng, shape), mask, scale: 0.1 + rng.float() };
}

export function defineAttentionSoftmaxSuite(backend: NativeBackendName): void {
  describe(`scaledMaskedSoftmax op on ${backend}`, () => {
    beforeAll(async () => {
      await selectBackend({ prefer: backend });
    });
    afterEach(() => unregisterNativeKernels());

    it('maps rows to mask rows by broadcasting', () => {
      expect(Array.from(maskRowIndex([2, 3, 4], [3, 4])!)).toEqual([0, 1, 2, 0, 1, 2]);
      expect(Array.from(maskRowIndex([2, 3, 4], [2, 1, 4])!)).toEqual([0, 0, 0, 1, 1, 1]);
      expect(Array.from(maskRowIndex([2, 3, 4], [4])!)).toEqual([0, 0, 0, 0, 0, 0]);
      expect(maskRowIndex([2, 3, 4], [3, 1])).toBeUndefined();
      expect(maskRowIndex([3, 4], [2, 3, 4])).toBeUndefined();
    });

    it('gives the same index when asked again for the same shapes (shared, unchanged)', () => {
      const first = maskRowIndex([2, 3, 4], [2, 1, 4])!;
      const again = maskRowIndex([2, 3, 4], [2, 1, 4])!;
      expect(again).toBe(first);
      expect(Array.from(again)).toEqual([0, 0, 0, 1, 1, 1]);
      expect(Array.from(maskRowIndex([2, 3, 4], [1, 3, 4])!)).toEqual([0, 1, 2, 0, 1, 2]);
      expect(maskRowIndex([2, 3, 4], [3, 1])).toBeUndefined();
    });

    it('matches a hand-computed row: x [0, ln 3], scale 1, mask [0, 0] and [0, -1e9]', () => {
      const y = tf.tidy(() =>
        scaledMaskedSoftmax(
          tf.tensor2d([
            [0, Math.log(3)],
            [1, 5],
          ]),
          1,
          tf.tensor2d([
            [0, 0],
            [0, -1e9],
          ]),
        ),
      );
      expectClose(y.dataSync() as Float32Array, Float32Array.from([0.25, 0.75, 1, 0]), 1e-6, 1e-6);
      y.dispose();
    });

    it('without native kernels: forward bitwise equal, gradient equal to autodiff of the unfused ops', () => {
      const rng = new Rng(61);
      for (let trial = 0; trial < 25; trial++) {
        const { x, w, mask, scale } = randomCase(rng);
        const fused = valueAndGrad(scaledMaskedSoftmax, x, scale, mask, w);
        const plain = valueAndGrad(unfused, x, scale, mask, w);
        expect(fused[0]).toEqual(plain[0]);
        expect(fused[1]).toEqual(plain[1]);
        tf.dispose([x, w, ...(mask ? [mask] : [])]);
      }
    });

    it('rejects a mask that does not broadcast, a bad scale and a scalar x', () => {
      tf.tidy(() => {
        const x = tf.zeros([2, 3]);
        expect(() => scaledMaskedSoftmax(x, 1, tf.zeros([2]))).toThrow(ShapeMismatchError);
        expect(() => scaledMaskedSoftmax(x, 1, tf.zeros([1, 2, 3]))).toThrow(/mask/);
        expect(() => scaledMaskedSoftmax(x, Number.NaN)).toThrow(InvalidInputError);
        expect(() => scaledMaskedSoftmax(tf.scalar(1), 1)).toThrow(InvalidInputError);
      });
    });

    describe.skipIf(!AVAILABLE)(`with the native kernels${SKIP_REASON}`, () => {
      it('registers both kernels', () => {
        const report = registerNativeKernels({ backends: [backend] });
        expect(report.registered[backend]).toContain(SCALED_MASKED_SOFTMAX_KERNEL);
        expect(report.registered[backend]).toContain(SCALED_MASKED_SOFTMAX_GRAD_KERNEL);
      });

      it('forward and gradient match the unfused ops on random shapes and masks (1 and 2 threads)', () => {
        const rng = new Rng(62);
        for (let trial = 0; trial < 30; trial++) {
          const { x, w, mask, scale } = randomCase(rng);
          const plain = valueAndGrad(unfused, x, scale, mask, w);
          registerNativeKernels({ backends: [backend], threads: trial % 2 === 0 ? 1 : 2 });
          const fused = valueAndGrad(scaledMaskedSoftmax, x, scale, mask, w);
          unregisterNativeKernels();
          for (let i = 0; i < 2; i++) expectClose(fused[i]!, plain[i]!, 1e-5, 1e-5);
          tf.dispose([x, w, ...(mask ? [mask] : [])]);
        }
      });

      it('keeps float32 accuracy over a wide input range and lets NaN through', () => {
        // Row r spans [-120, 40] in steps that hit exp's underflow cut (-87.3) and large values.
        const cols = 161;
        const data = Float32Array.from({ length: 3 * cols }, (_, i) => (i % cols) - 120 + (i / cols) * 0.37);
        const x = tf.tensor2d(data, [3, cols]);
        const plain = tf.tidy(() => unfused(x, 1, null));
        registerNativeKernels({ backends: [backend] });
        const fused = tf.tidy(() => scaledMaskedSoftmax(x, 1));
        const nan = tf.tidy(() => scaledMaskedSoftmax(tf.tensor2d([[0, Number.NaN, 1]]), 1));
        unregisterNativeKernels();
        expectClose(fused.dataSync() as Float32Array, plain.dataSync() as Float32Array, 1e-9, 1e-6);
        expect(Number.isNaN(nan.dataSync()[0])).toBe(true);
        tf.dispose([x, plain, fused, nan]);
      });

      it('attention-sized inputs: threads agree with one thread and with the unfused ops', () => {
        const rng = new Rng(63);
        const x = randomTensor(rng, [16, 4, 64, 64]);
        const w = randomTensor(rng, [16, 4, 64, 64]);
        const mask = tf.tidy(() => tf.mul(tf.sub(tf.linalg.bandPart(tf.ones([64, 64]), -1, 0), 1), 1e9));
        registerNativeKernels({ backends: [backend], threads: 1 });
        const one = valueAndGrad(scaledMaskedSoftmax, x, 0.25, mask, w);
        registerNativeKernels({ backends: [backend], threads: 2 });
        const two = valueAndGrad(scaledMaskedSoftmax, x, 0.25, mask, w);
        unregisterNativeKernels();
        const plain = valueAndGrad(unfused, x, 0.25, mask, w);
        for (let i = 0; i < 2; i++) {
          expect(two[i]).toEqual(one[i]);
          expectClose(two[i]!, plain[i]!, 1e-5, 1e-5);
        }
        tf.dispose([x, w, mask]);
      });
    });

    it('leaves the tensor count unchanged over repeated forward + gradient calls (both paths)', () => {
      const rng = new Rng(64);
      const x = randomTensor(rng, [2, 3, 5]);
      const w = randomTensor(rng, [2, 3, 5]);
      const mask = tf.zeros([3, 5]);
      for (const native of AVAILABLE ? [false, true] : [false]) {
        if (native) registerNativeKernels({ backends: [backend] });
        valueAndGrad(scaledMaskedSoftmax, x, 0.5, mask, w);
        const before = tf.memory().numTensors;
        for (let i = 0; i < 5; i++) valueAndGrad(scaledMaskedSoftmax, x, 0.5, mask, w);
        expect(tf.memory().numTensors).toBe(before);
        unregisterNativeKernels();
      }
      tf.dispose([x, w, mask]);
    });
  });
}
