// The GEMM-backed suites with the built-in GEMM forced (VZERO_NATIVE_BLAS=builtin), so it is
// held to the same tolerances as OpenBLAS on a machine that has both.
import { afterAll, beforeAll } from 'vitest';
import { defineAttentionSuite } from './attention-suite.js';
import { defineGemmSuite } from './gemm-suite.js';
import { defineKernelSuite } from './suite.js';

const saved = process.env['VZERO_NATIVE_BLAS'];
beforeAll(() => {
  process.env['VZERO_NATIVE_BLAS'] = 'builtin';
});
afterAll(() => {
  if (saved === undefined) delete process.env['VZERO_NATIVE_BLAS'];
  else process.env['VZERO_NATIVE_BLAS'] = saved;
});

defineKernelSuite('cpu');
defineGemmSuite('cpu');
defineAttentionSuite('cpu');
