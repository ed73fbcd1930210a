// fusedLinear: with the native kernels and no gradient tape, one _FusedMatMul kernel on the 2D
// tensors (no reshapes around it) with tf.fused.matMul's bits; under a tape or without the
// native kernels it is tf.fused.matMul itself (same value, same gradients).
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Rng, selectBackend } from '@vzero/core';
import {
  fusedLinear,
  isNativeKernel,
  registerNativeKernels,
  unregisterNativeKernels,
  type NativeBackendName,
} from '../src/index.js';
import { AVAILABLE, SKIP_REASON, randomTensor } from './helpers.js';

type Case = [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, 'linear' | 'relu'];

function randomCase(rng: Rng): Case {
  const [m, k, n] = [rng.int(1, 70), rng.int(1, 40), rng.int(1, 50)];
  return [
    randomTensor(rng, [m, k]) as tf.Tensor2D,
    randomTensor(rng, [k, n]) as tf.Tensor2D,
    randomTensor(rng, [n]) as tf.Tensor1D,
    rng.float() < 0.5 ? 'relu' : 'linear',
  ];
}

/** Kernels run by fn, by name. */
async function kernelsOf(fn: () => tf.Tensor): Promise<string[]> {
  const info = await tf.profile(() => {
    tf.dispose(fn());
  });
  return info.kernels.map((k) => k.name);
}

export function defineLinearSuite(backend: NativeBackendName): void {
  describe(`fusedLinear on ${backend}`, () => {
    beforeAll(async () => {
      await selectBackend({ prefer: backend });
    });
    afterEach(() => unregisterNativeKernels());

    it('without native kernels is tf.fused.matMul', () => {
      expect(isNativeKernel('_FusedMatMul')).toBe(false);
      const [x, w, b, act] = randomCase(new Rng(1));
      const got = fusedLinear(x, w, b, act);
      const want = tf.fused.matMul({ a: x, b: w, bias: b, activation: act });
      expect(Array.from(got.dataSync())).toEqual(Array.from(want.dataSync()));
      tf.dispose([x, w, b, got, want]);
    });

    it.skipIf(!AVAILABLE)(
      `with the native kernels: one kernel, the same bits, the same gradients${SKIP_REASON}`,
      async () => {
        const rng = new Rng(2);
        registerNativeKernels({ backends: [backend] });
        expect(isNativeKernel('_FusedMatMul')).toBe(true);
        for (let trial = 0; trial < 10; trial++) {
          const [x, w, b, act] = randomCase(rng);
          const got = fusedLinear(x, w, b, act);
          const want = tf.fused.matMul({ a: x, b: w, bias: b, activation: act });
          expect(got.shape).toEqual(want.shape);
          expect(Array.from(got.dataSync())).toEqual(Array.from(want.dataSync()));
          expect(await kernelsOf(() => fusedLinear(x, w, b, act))).toEqual(['_FusedMatMul']);
          expect(
            (await kernelsOf(() => tf.fused.matMul({ a: x, b: w, bias: b, activation: act }))).length,
          ).toBeGreaterThanOrEqual(4);
          // Under a tape: tf.fused.matMul's path, so its gradients.
          const f = (fn: typeof fusedLinear) => () =>
            tf.grads((a: tf.Tensor, c: tf.Tensor) => tf.sum(fn(a as tf.Tensor2D, c as tf.Tensor2D, b, act)))([
              x,
              w,
            ]);
          const viaLinear = f(fusedLinear)();
          const viaOp = f(
            (a, c, bias) => tf.fused.matMul({ a, b: c, bias, activation: act }) as tf.Tensor2D,
          )();
          viaLinear.forEach((g, i) =>
            expect(Array.from(g.dataSync())).toEqual(Array.from(viaOp[i]!.dataSync())),
          );
          tf.dispose([x, w, b, got, want, ...viaLinear, ...viaOp]);
        }
      },
    );
  });
}
