// Kernel-by-kernel checks of the native kernels against the backend's own kernels, run once per
// backend (cpu.test.ts, wasm.test.ts). Tolerances: matmul sums in a different order than tfjs,
// so values agree to ~1e-6 relative; we allow 1e-5 relative + 1e-5 absolute on O(1) data.
// Gradients through a whole model can differ more (ReLU sign flips from a different summation
// order), so the training-step check compares losses at 1e-4 relative.
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Rng, selectBackend } from '@vzero/core';
import { makeReferenceModel } from '../src/reference.js';
import {
  NATIVE_KERNELS_BY_BACKEND,
  NATIVE_OP_KERNEL_NAMES,
  nativeKernelsReport,
  registerNativeKernels,
  unregisterNativeKernels,
  type NativeBackendName,
} from '../src/index.js';
import { AVAILABLE, SKIP_REASON, both, expectClose, randomTensor, referenceMatmul } from './helpers.js';

export function defineKernelSuite(backend: NativeBackendName): void {
  describe.skipIf(!AVAILABLE)(`native kernels on ${backend}${SKIP_REASON}`, () => {
    beforeAll(async () => {
      await selectBackend({ prefer: backend });
    });
    afterEach(() => unregisterNativeKernels());

    const NAMES = NATIVE_KERNELS_BY_BACKEND[backend];

    it('registers every kernel and reports the GEMM, its core type and threads', () => {
      const report = registerNativeKernels({ backends: [backend], threads: 2 });
      expect(report.available).toBe(true);
      expect(report.registered[backend]).toEqual([...NAMES, ...NATIVE_OP_KERNEL_NAMES]);
      // OpenBLAS where the build has it, unless VZERO_NATIVE_BLAS=builtin (the *-builtin tests).
      const builtin = process.env['VZERO_NATIVE_BLAS'] === 'builtin' || !report.gemm?.openblasBuilt;
      expect(report.gemm?.kind).toBe(builtin ? 'builtin' : 'openblas');
      expect(report.gemm?.reason).toMatch(
        builtin ? /VZERO_NATIVE_BLAS=builtin|without OpenBLAS|cblas.h/ : /OpenBLAS/,
      );
      expect(report.blas?.library).toBe(builtin ? 'built-in GEMM' : 'OpenBLAS');
      expect(report.blas?.coreType).toMatch(/\w+/);
      expect(report.threads).toBe(2);
      // On x86-64 the level the CPU's flags allow (what the loader picks); elsewhere "portable".
      const flags = (/^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '').split(/\s+/);
      const avx512 = ['avx512f', 'avx512bw', 'avx512cd', 'avx512dq', 'avx512vl'].every((f) =>
        flags.includes(f),
      );
      if (process.arch !== 'x64') expect(report.vectorLevel).toBe('portable');
      else if (avx512) expect(report.vectorLevel).toBe('x86-64-v4 (AVX-512)');
      else expect(report.vectorLevel).toMatch(/^x86-64-v3 \(AVX2\)$|^x86-64 baseline$/);
    });

    it('unregister restores the original kernel functions', () => {
      const originals = NAMES.map((n) => tf.getKernel(n, backend)!.kernelFunc);
      registerNativeKernels({ backends: [backend] });
      NAMES.forEach((n, i) => expect(tf.getKernel(n, backend)!.kernelFunc).not.toBe(originals[i]));
      registerNativeKernels({ backends: [backend] }); // re-registering keeps the true originals
      unregisterNativeKernels();
      NAMES.forEach((n, i) => expect(tf.getKernel(n, backend)!.kernelFunc).toBe(originals[i]));
      // The kernels this package adds are gone again: the layerNorm op computes with plain ops.
      NATIVE_OP_KERNEL_NAMES.forEach((n) => expect(tf.getKernel(n, backend)).toBeUndefined());
      expect(nativeKernelsReport().registered[backend]).toEqual([]);
    });

    it('matMul matches the plain kernel on random shapes, transposes and size-1 dims', () => {
      const rng = new Rng(11);
      for (let trial = 0; trial < 40; trial++) {
        const ta = rng.int(0, 2) === 1;
        const tb = rng.int(0, 2) === 1;
        const dim = () => (rng.int(0, 4) === 0 ? 1 : rng.int(1, 40));
        const [m, n, k] = [dim(), dim(), dim()];
        const batch = rng.int(0, 3) === 0 ? [] : [rng.int(1, 4)];
        // Leading dims equal, or one side 2-D: the broadcasts tfjs's own kernel gets right.
        const bBatch = batch.length && rng.int(0, 3) === 0 ? [] : batch;
        const aShape = [...batch, ...(ta ? [k, m] : [m, k])];
        const bShape = [...bBatch, ...(tb ? [n, k] : [k, n])];
        const { plain, native } = both(backend, () =>
          tf.matMul(
            randomTensor(rng.child(trial), aShape),
            randomTensor(rng.child(trial + 100), bShape),
            ta,
            tb,
          ),
        );
        expectClose(native[0]!, plain[0]!);
      }
    });

    it('matMul broadcasts leading dims generally ([2,1,5,7] x [1,3,7,4]) against a by-definition product', () => {
      const rng = new Rng(5);
      const cases: [number[], number[], boolean, boolean][] = [
        [[2, 1, 5, 7], [1, 3, 7, 4], false, false],
        [[3, 1, 7, 5], [4, 7, 4], true, false],
        [[1, 2, 1, 6, 3], [2, 1, 4, 3, 6], true, true],
        [[5, 7], [2, 3, 7, 4], false, false],
      ];
      registerNativeKernels({ backends: [backend] });
      for (const [aShape, bShape, ta, tb] of cases) {
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
        const c = tf.matMul(a, b, ta, tb);
        expect(c.shape).toEqual(expected.shape);
        expectClose(c.dataSync() as Float32Array, expected.values);
        tf.dispose([a, b, c]);
      }
    });

    // Reference: the unfused ops on the plain kernels. (tfjs-wasm's own _FusedMatMul adds the bias
    // wrongly when transposeB is set, so the fused plain kernel is not a reference there.)
    it('fused matMul with bias and each activation matches matMul + add + activation', () => {
      const rng = new Rng(21);
      const a = tf.mul(randomTensor(rng, [2, 6, 13]), 3) as tf.Tensor3D;
      const b = randomTensor(rng, [2, 9, 13]) as tf.Tensor3D;
      const w = randomTensor(rng, [9]);
      const act: Record<string, (x: tf.Tensor) => tf.Tensor> = {
        linear: (x) => x,
        relu: tf.relu,
        relu6: tf.relu6,
        elu: tf.elu,
        sigmoid: tf.sigmoid,
        leakyrelu: (x) => tf.leakyRelu(x, 0.3),
        prelu: (x) => tf.prelu(x, w),
      };
      for (const activation of ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu', 'prelu'] as const) {
        for (const biasShape of [[9], [1], [1, 9], null]) {
          const bias = biasShape ? randomTensor(rng, biasShape) : undefined;
          unregisterNativeKernels();
          const expected = tf.tidy(() => {
            const c = tf.matMul(a, b, false, true);
            return act[activation]!(bias ? tf.add(c, bias) : c);
          });
          registerNativeKernels({ backends: [backend] });
          const actual = tf.fused.matMul({
            a,
            b,
            transposeB: true,
            ...(bias ? { bias } : {}),
            activation,
            ...(activation === 'prelu' ? { preluActivationWeights: w } : {}),
            ...(activation === 'leakyrelu' ? { leakyreluAlpha: 0.3 } : {}),
          });
          unregisterNativeKernels();
          expectClose(actual.dataSync() as Float32Array, expected.dataSync() as Float32Array);
          tf.dispose([actual, expected, ...(bias ? [bias] : [])]);
        }
      }
      tf.dispose([a, b, w]);
    });

    // The wasm backend's own kernel rejects rank-2 biases, so there is nothing to fall back to.
    it.skipIf(backend === 'wasm')(
      'fused matMul with a per-row bias (not native) matches through the fallback',
      () => {
        const rng = new Rng(22);
        const { plain, native } = both(backend, () =>
          tf.fused.matMul({
            a: randomTensor(rng.child(1), [6, 5]),
            b: randomTensor(rng.child(2), [5, 4]),
            bias: randomTensor(rng.child(3), [6, 1]),
            activation: 'relu',
          }),
        );
        expectClose(native[0]!, plain[0]!);
      },
    );

    it('transpose matches the plain kernel for many shapes and permutations', () => {
      const rng = new Rng(31);
      for (let trial = 0; trial < 60; trial++) {
        const rank = rng.int(1, 6);
        const shape = Array.from({ length: rank }, () => (rng.int(0, 4) === 0 ? 1 : rng.int(2, 9)));
        const perm = Array.from({ length: rank }, (_, i) => i);
        for (let i = rank - 1; i > 0; i--) {
          const j = rng.int(0, i + 1);
          [perm[i], perm[j]] = [perm[j]!, perm[i]!];
        }
        const { plain, native } = both(backend, () =>
          tf.transpose(randomTensor(rng.child(trial), shape), perm),
        );
        expectClose(native[0]!, plain[0]!, 0, 0);
      }
      // Large enough to run on several threads, through the tiled and the gather paths.
      for (const [shape, perm] of [
        [
          [64, 96, 128],
          [0, 2, 1],
        ],
        [
          [8, 96, 4, 32],
          [0, 2, 1, 3],
        ],
        [
          [3, 8, 4, 96, 32],
          [1, 2, 4, 0, 3],
        ],
      ] as const) {
        const x = randomTensor(rng, [...shape]);
        const { plain, native } = both(backend, () => tf.transpose(x, [...perm]));
        expectClose(native[0]!, plain[0]!, 0, 0);
        x.dispose();
      }
    });

    it('softmax matches the plain kernel, including huge and equal logits', () => {
      const rng = new Rng(41);
      for (const shape of [[1], [7], [3, 5], [2, 4, 96], [512, 96]]) {
        const x = tf.mul(randomTensor(rng, shape), 20);
        const { plain, native } = both(backend, () => tf.softmax(x));
        expectClose(native[0]!, plain[0]!, 1e-6, 1e-5);
        x.dispose();
      }
      const { plain, native } = both(backend, () =>
        tf.softmax(
          tf.tensor2d([
            [1e30, 1e30, -1e30],
            [0, 0, 0],
          ]),
        ),
      );
      expectClose(native[0]!, plain[0]!, 1e-7, 1e-6);
    });

    it('gradients through matMul, transposes and softmax match the plain kernels', () => {
      const rng = new Rng(51);
      const a0 = randomTensor(rng, [3, 8, 5]);
      const b0 = randomTensor(rng, [3, 6, 5]);
      const w0 = randomTensor(rng, [8, 6]);
      const f = (a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(tf.transpose(tf.softmax(tf.matMul(a, b, false, true)), [0, 2, 1]), tf.transpose(w0)));
      const { plain, native } = both(backend, () => tf.grads(f)([a0, b0]));
      expectClose(native[0]!, plain[0]!);
      expectClose(native[1]!, plain[1]!);
      const x0 = randomTensor(rng, [4, 8]);
      const g = both(backend, () =>
        tf.grad((x: tf.Tensor) =>
          tf.sum(
            tf.square(tf.fused.matMul({ a: x as tf.Tensor2D, b: w0 as tf.Tensor2D, activation: 'relu' })),
          ),
        )(x0),
      );
      expectClose(g.native[0]!, g.plain[0]!);
      tf.dispose([a0, b0, w0, x0]);
    });

    it('falls back to the original kernel for non-float32 inputs', () => {
      const { plain, native } = both(backend, () =>
        tf.cast(tf.transpose(tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], 'int32')), 'float32'),
      );
      expectClose(native[0]!, plain[0]!, 0, 0);
      if (backend === 'wasm') return; // the wasm backend has no int32 matmul at all
      const mm = both(backend, () =>
        tf.cast(
          tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32'), tf.tensor2d([5, 6, 7, 8], [2, 2], 'int32')),
          'float32',
        ),
      );
      expect(Array.from(mm.native[0]!)).toEqual([19, 22, 43, 50]);
    });

    it('a transformer training step gives the same losses with and without native kernels', () => {
      const spec = { width: 32, layers: 2, heads: 2, seq: 16, batch: 4, vocab: 16 };
      const run = (native: boolean) => {
        if (native) registerNativeKernels({ backends: [backend], threads: 2 });
        else unregisterNativeKernels();
        const model = makeReferenceModel(spec, 7);
        try {
          return [model.step(), model.step(), model.step()];
        } finally {
          model.dispose();
          unregisterNativeKernels();
        }
      };
      const plain = run(false);
      const native = run(true);
      expect(plain[2]).toBeLessThan(plain[0]!); // it trains
      native.forEach((l, i) => expect(Math.abs(l - plain[i]!) / plain[i]!).toBeLessThan(1e-4));
    });

    it('does not leak tensors or memory over many calls', () => {
      registerNativeKernels({ backends: [backend] });
      const rng = new Rng(61);
      const a = randomTensor(rng, [4, 64, 96]);
      const b = randomTensor(rng, [96, 128]);
      const before = tf.memory().numTensors;
      const once = () =>
        tf
          .tidy(() => {
            const c = tf.matMul(a, b);
            return tf.sum(tf.softmax(tf.transpose(c, [0, 2, 1])));
          })
          .dispose();
      for (let i = 0; i < 20; i++) once();
      const rss0 = process.memoryUsage().rss;
      for (let i = 0; i < 200; i++) once();
      const grown = process.memoryUsage().rss - rss0;
      expect(tf.memory().numTensors).toBe(before);
      // 200 calls allocate ~200 MB of outputs in total: a leak would show up as most of that.
      expect(grown).toBeLessThan(64 * 1024 * 1024);
      tf.dispose([a, b]);
    });
  });
}
