// Shared test helpers: run a computation with and without the native kernels, a by-definition
// matmul reference, and seeded random data.
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import type { Rng } from '@vzero/core';
import { nativeKernelsReport, registerNativeKernels, unregisterNativeKernels } from '../src/index.js';
import type { NativeBackendName } from '../src/index.js';

const status = nativeKernelsReport();
/** Whether the addon is built here; when not, native suites skip and say why. */
export const AVAILABLE = status.available;
export const SKIP_REASON = status.available ? '' : ` (skipped: ${status.reason})`;
if (!status.available) console.warn(`@vzero/tfjs-native tests skipped: ${status.reason}`);

export function randomData(rng: Rng, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.float() * 2 - 1;
  return out;
}

export function randomTensor(rng: Rng, shape: number[]): tf.Tensor {
  return tf.tensor(
    randomData(
      rng,
      shape.reduce((p, d) => p * d, 1),
    ),
    shape,
  );
}

/** Values of fn() computed by the original kernels and by the native ones. */
export function both(
  backend: NativeBackendName,
  fn: () => tf.Tensor | tf.Tensor[],
): {
  plain: Float32Array[];
  native: Float32Array[];
} {
  const run = () =>
    tf.tidy(() => {
      const r = fn();
      return Array.isArray(r) ? r : [r];
    });
  unregisterNativeKernels();
  const p = run();
  registerNativeKernels({ backends: [backend], threads: 2 });
  let n: tf.Tensor[];
  try {
    n = run();
  } finally {
    unregisterNativeKernels();
  }
  const plain = p.map((t) => t.dataSync() as Float32Array);
  const native = n.map((t) => t.dataSync() as Float32Array);
  expect(n.map((t) => t.shape)).toEqual(p.map((t) => t.shape));
  tf.dispose([...p, ...n]);
  return { plain, native };
}

/** |x - y| <= atol + rtol |y| elementwise, with the worst offender in the message. */
export function expectClose(actual: Float32Array, expected: Float32Array, atol = 1e-5, rtol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < actual.length; i++) {
    const excess = Math.abs(actual[i]! - expected[i]!) - (atol + rtol * Math.abs(expected[i]!));
    if (!(excess <= worstExcess)) {
      worst = i;
      worstExcess = Number.isNaN(excess) ? Infinity : excess;
    }
  }
  if (worst >= 0) {
    expect.fail(
      `element ${worst}: ${actual[worst]} vs ${expected[worst]} (beyond atol ${atol}, rtol ${rtol})`,
    );
  }
}

/** Batched matmul by definition, with numpy broadcasting of the leading dims. */
export function referenceMatmul(
  a: Float32Array,
  aShape: number[],
  b: Float32Array,
  bShape: number[],
  ta: boolean,
  tb: boolean,
): { values: Float32Array; shape: number[] } {
  const ra = aShape.length;
  const rb = bShape.length;
  const m = ta ? aShape[ra - 1]! : aShape[ra - 2]!;
  const k = ta ? aShape[ra - 2]! : aShape[ra - 1]!;
  const n = tb ? bShape[rb - 2]! : bShape[rb - 1]!;
  const oa = aShape.slice(0, -2);
  const ob = bShape.slice(0, -2);
  const rank = Math.max(oa.length, ob.length);
  const pa = [...new Array<number>(rank - oa.length).fill(1), ...oa];
  const pb = [...new Array<number>(rank - ob.length).fill(1), ...ob];
  const outer = pa.map((d, i) => Math.max(d, pb[i]!));
  const batch = outer.reduce((p, d) => p * d, 1);
  const values = new Float32Array(batch * m * n);
  for (let bi = 0; bi < batch; bi++) {
    let rem = bi;
    let ia = 0;
    let ib = 0;
    let sa = 1;
    let sb = 1;
    for (let d = rank - 1; d >= 0; d--) {
      const idx = rem % outer[d]!;
      rem = Math.floor(rem / outer[d]!);
      ia += (pa[d] === 1 ? 0 : idx) * sa;
      ib += (pb[d] === 1 ? 0 : idx) * sb;
      sa *= pa[d]!;
      sb *= pb[d]!;
    }
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) {
          const av = a[ia * m * k + (ta ? p * m + i : i * k + p)]!;
          const bv = b[ib * k * n + (tb ? j * k + p : p * n + j)]!;
          s += av * bv;
        }
        values[bi * m * n + i * n + j] = s;
      }
    }
  }
  return { values, shape: [...outer, m, n] };
}
