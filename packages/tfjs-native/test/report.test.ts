// Behaviour without the addon (forced by VZERO_NATIVE_DISABLE before the first load), option
// validation, and the matmul shape plan.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError, selectBackend } from '@vzero/core';
import {
  planConcat,
  planGather,
  planMatmul,
  planReduce,
  registerNativeKernels,
  nativeKernelsReport,
  rowBroadcastable,
  unsafeCoreType,
  missingAddonFunctions,
} from '../src/index.js';
import { ADDON_PATH, addonPath, builtWithoutOpenblasReason } from '../src/addon.js';

process.env['VZERO_NATIVE_DISABLE'] = '1';

describe('without the addon', () => {
  beforeAll(async () => {
    await selectBackend({ prefer: 'cpu' });
  });

  it('reports unavailable with a reason and registers nothing, without throwing', () => {
    const original = tf.getKernel('BatchMatMul', 'cpu')!.kernelFunc;
    const report = registerNativeKernels({ backends: ['cpu'] });
    expect(report.available).toBe(false);
    expect(report.reason).toContain('VZERO_NATIVE_DISABLE');
    expect(report.registered).toEqual({ cpu: [], wasm: [] });
    expect(tf.getKernel('BatchMatMul', 'cpu')!.kernelFunc).toBe(original);
    expect(nativeKernelsReport().available).toBe(false);
  });

  it('rejects bad options with InvalidInputError naming the field', () => {
    expect(() => registerNativeKernels({ threads: 0 })).toThrow(InvalidInputError);
    expect(() => registerNativeKernels({ threads: 1.5 })).toThrow(/threads/);
    expect(() => registerNativeKernels({ env: { VZERO_NATIVE_THREADS: 'many' } })).toThrow(
      /VZERO_NATIVE_THREADS/,
    );
    expect(() => registerNativeKernels({ backends: ['webgl' as 'cpu'] })).toThrow(/backends/);
    expect(() => registerNativeKernels({ blas: 'mkl' as 'builtin' })).toThrow(/blas.*mkl/);
    expect(() => registerNativeKernels({ env: { VZERO_NATIVE_BLAS: 'OpenBLAS' } })).toThrow(
      InvalidInputError,
    );
    expect(() => registerNativeKernels({ env: { VZERO_NATIVE_BLAS: 'OpenBLAS' } })).toThrow(
      /VZERO_NATIVE_BLAS/,
    );
  });
});

describe('addon location and build notes', () => {
  it('VZERO_NATIVE_ADDON names another build, resolved to an absolute path', () => {
    expect(addonPath({})).toBe(ADDON_PATH);
    expect(addonPath({ VZERO_NATIVE_ADDON: 'other/tfjs_native.node' })).toBe(
      resolve('other/tfjs_native.node'),
    );
  });

  it('reads why a build has no OpenBLAS from the note beside it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vzero-native-note-'));
    try {
      mkdirSync(join(dir, 'Release'));
      const addon = join(dir, 'Release', 'tfjs_native.node');
      expect(builtWithoutOpenblasReason(addon)).toBeUndefined();
      writeFileSync(join(dir, 'native-gemm.txt'), 'builtin\ncblas.h not found at build time\n');
      expect(builtWithoutOpenblasReason(addon)).toBe('cblas.h not found at build time');
      writeFileSync(join(dir, 'native-gemm.txt'), 'openblas\n');
      expect(builtWithoutOpenblasReason(addon)).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('planMatmul', () => {
  it('pairs batches by numpy broadcasting', () => {
    const plan = planMatmul([2, 1, 5, 7], [1, 3, 7, 4], false, false)!;
    expect(plan.outShape).toEqual([2, 3, 5, 4]);
    expect(Array.from(plan.aIndex)).toEqual([0, 0, 0, 1, 1, 1]);
    expect(Array.from(plan.bIndex)).toEqual([0, 1, 2, 0, 1, 2]);
    expect(planMatmul([5, 7], [3, 7, 4], false, false)!.outShape).toEqual([3, 5, 4]);
    expect(planMatmul([7, 5], [4, 7], true, true)!.outShape).toEqual([5, 4]);
  });

  it('returns undefined for shapes the original kernel must reject', () => {
    expect(planMatmul([2, 3], [4, 5], false, false)).toBeUndefined();
    expect(planMatmul([2, 3, 4], [3, 4, 5], false, false)).toBeUndefined();
    expect(planMatmul([3], [3, 4], false, false)).toBeUndefined();
  });

  it('accepts only scalar or last-axis epilogue operands', () => {
    expect(rowBroadcastable([9], [2, 6, 9])).toBe(true);
    expect(rowBroadcastable([1, 1], [2, 6, 9])).toBe(true);
    expect(rowBroadcastable([6, 1], [2, 6, 9])).toBe(false);
    expect(rowBroadcastable([1, 1, 1, 9], [6, 9])).toBe(false);
  });
});

describe('gather, reduce and concat plans', () => {
  it('gather keeps the dims around the axis and puts the index shape in its place', () => {
    expect(planGather([2, 5, 3], [4, 2], 1)).toEqual({ outer: 2, dim: 5, inner: 3, outShape: [2, 4, 2, 3] });
    expect(planGather([5], [], 0)).toEqual({ outer: 1, dim: 5, inner: 1, outShape: [] });
  });

  it('reduce flags the axes and drops or keeps them', () => {
    const p = planReduce([2, 3, 4], [2, 0], false);
    expect(Array.from(p.reduced)).toEqual([1, 0, 1]);
    expect(p.outShape).toEqual([3]);
    expect(planReduce([2, 3, 4], [1], true).outShape).toEqual([2, 1, 4]);
    expect(planReduce([], [], false).outShape).toEqual([]);
  });

  it('concat adds the sizes along the axis and rejects shapes that disagree elsewhere', () => {
    const p = planConcat(
      [
        [2, 1, 3],
        [2, 4, 3],
        [2, 0, 3],
      ],
      1,
    )!;
    expect(p.outShape).toEqual([2, 5, 3]);
    expect(Array.from(p.sizes)).toEqual([1, 4, 0]);
    expect([p.outer, p.dim, p.inner]).toEqual([2, 5, 3]);
    expect(
      planConcat(
        [
          [2, 1, 3],
          [3, 1, 3],
        ],
        1,
      ),
    ).toBeUndefined();
    expect(
      planConcat(
        [
          [2, 1],
          [2, 1, 1],
        ],
        1,
      ),
    ).toBeUndefined();
  });
});

describe('unsafeCoreType', () => {
  const avx512 = ['fma', 'avx2', 'avx512f', 'avx512bw', 'avx512dq', 'avx512vl'];
  it('allows AVX-512 core types only where the CPU has AVX-512 F, BW, DQ and VL', () => {
    expect(unsafeCoreType('SkylakeX', avx512)).toBeUndefined();
    expect(unsafeCoreType('SKYLAKEX', ['fma', 'avx2', 'avx512f'])).toBe(
      'this CPU lacks avx512bw, avx512dq, avx512vl',
    );
    expect(unsafeCoreType('CooperLake', ['avx2'])).toMatch(/lacks avx512f/);
  });
  it('leaves other core types alone', () => {
    expect(unsafeCoreType('Haswell', ['avx2'])).toBeUndefined();
    expect(unsafeCoreType('Zen', [])).toBeUndefined();
  });
});

describe('missingAddonFunctions', () => {
  it('names what an addon built from older sources lacks', () => {
    const built = Object.fromEntries(
      ['info', 'setThreads', 'matmul', 'transpose', 'softmax', 'gather', 'split', 'concat', 'reduce'].map(
        (n) => [n, () => undefined],
      ),
    );
    expect(missingAddonFunctions(built)).toEqual([
      'setGemm',
      'layerNorm',
      'layerNormGrad',
      'adamw',
      'scaledMaskedSoftmax',
      'scaledMaskedSoftmaxGrad',
      'attention',
      'attentionGrad',
      'attentionAppend',
      'logSoftmax',
      'logSoftmaxGrad',
    ]);
    expect(missingAddonFunctions(null)).toContain('info');
  });

  it.skipIf(!existsSync(ADDON_PATH))('finds nothing missing in this build', () => {
    expect(missingAddonFunctions(createRequire(import.meta.url)(ADDON_PATH))).toEqual([]);
  });
});
