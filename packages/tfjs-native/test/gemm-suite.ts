// The GEMM under the matmul kernels (OpenBLAS or the built-in one, whichever the registration
// picks; the *-builtin tests force the built-in one) on shapes that cross the built-in GEMM's
// blocking: depth past one 256-long piece, rows past one 144-row block and off the 6/12-row
// tiles, columns off the 8/16-wide panels and past one 3072-column block; against a
// by-definition product. The built-in GEMM's results must not depend on the thread count.
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Rng, selectBackend } from '@vzero/core';
import {
  nativeKernelsReport,
  registerNativeKernels,
  unregisterNativeKernels,
  type NativeBackendName,
} from '../src/index.js';
import { AVAILABLE, SKIP_REASON, expectClose, randomTensor, referenceMatmul } from './helpers.js';

export function defineGemmSuite(backend: NativeBackendName): void {
  describe.skipIf(!AVAILABLE)(`GEMM blocking on ${backend}${SKIP_REASON}`, () => {
    beforeAll(async () => {
      await selectBackend({ prefer: backend });
    });
    afterEach(() => unregisterNativeKernels());

    const product = (a: tf.Tensor, b: tf.Tensor, ta: boolean, tb: boolean) => {
      const c = tf.matMul(a, b, ta, tb);
      const values = c.dataSync() as Float32Array;
      c.dispose();
      return values;
    };

    it('matches a by-definition product across the blocking edges, with transposes', () => {
      const rng = new Rng(71);
      registerNativeKernels({ backends: [backend], threads: 2 });
      const before = tf.memory().numTensors;
      // [m, n, k]: KC pieces (k 257, 513), MC blocks and tile edges (m 145, 301), panel edges
      // (n 17, 33), an NC block edge (n 3073), and tiny sizes.
      const shapes: [number, number, number][] = [
        [145, 33, 257],
        [301, 17, 513],
        [13, 40, 600],
        [3, 3073, 20],
        [1, 1, 1],
        [7, 5, 1],
        [1, 19, 300],
      ];
      for (const [m, n, k] of shapes) {
        for (const [ta, tb] of [
          [false, false],
          [true, false],
          [false, true],
          [true, true],
        ] as const) {
          const aShape = ta ? [k, m] : [m, k];
          const bShape = tb ? [n, k] : [k, n];
          const a = randomTensor(rng, aShape);
          const b = randomTensor(rng, bShape);
          const expected = referenceMatmul(
            a.dataSync() as Float32Array,
            aShape,
            b.dataSync() as Float32Array,
            bShape,
            ta,
            tb,
          );
          // Sums of k products of O(1) terms: the float32 error grows like sqrt(k) ulps.
          expectClose(product(a, b, ta, tb), expected.values, 2e-5 * Math.sqrt(k), 1e-5);
          tf.dispose([a, b]);
        }
      }
      expect(tf.memory().numTensors).toBe(before);
    });

    it('a NaN or an infinity reaches only its own row and column of the product', () => {
      registerNativeKernels({ backends: [backend] });
      const rng = new Rng(72);
      const [m, n, k] = [20, 21, 300];
      const av = randomTensor(rng, [m, k]);
      const bv = randomTensor(rng, [k, n]);
      const aData = Float32Array.from(av.dataSync());
      const bData = Float32Array.from(bv.dataSync());
      aData[3 * k + 280] = NaN; // row 3
      bData[5 * n + 19] = Infinity; // column 19
      const a = tf.tensor2d(aData, [m, k]);
      const b = tf.tensor2d(bData, [k, n]);
      const c = product(a, b, false, false);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          const v = c[i * n + j]!;
          if (i === 3) expect(v).toBeNaN();
          else if (j === 19) expect(Math.abs(v)).toBe(Infinity);
          else expect(Number.isFinite(v)).toBe(true);
        }
      }
      tf.dispose([av, bv, a, b]);
    });

    it('the built-in GEMM gives the same bits on 1 and 2 threads, and agrees with OpenBLAS', () => {
      const rng = new Rng(73);
      // 256 x 512 x 128 and a batch of attention-sized products: large enough to be split.
      const cases: [number[], number[], boolean, boolean][] = [
        [[256, 512], [512, 128], false, false],
        [[300, 256], [300, 128], true, false],
        [[64, 96, 32], [64, 96, 32], false, true],
      ];
      for (const [aShape, bShape, ta, tb] of cases) {
        const a = randomTensor(rng, aShape);
        const b = randomTensor(rng, bShape);
        registerNativeKernels({ backends: [backend], threads: 1, blas: 'builtin' });
        const one = product(a, b, ta, tb);
        registerNativeKernels({ backends: [backend], threads: 2, blas: 'builtin' });
        expect(nativeKernelsReport().gemm?.kind).toBe('builtin');
        const two = product(a, b, ta, tb);
        expect(Buffer.from(two.buffer).equals(Buffer.from(one.buffer))).toBe(true);
        if (nativeKernelsReport().gemm?.openblasBuilt) {
          registerNativeKernels({ backends: [backend], threads: 2, blas: 'openblas' });
          expect(nativeKernelsReport().gemm?.kind).toBe('openblas');
          expectClose(product(a, b, ta, tb), one, 1e-4, 1e-5);
        }
        tf.dispose([a, b]);
      }
    });
  });
}
