// The vectorised kernels (softmax, log-softmax, their gradients, layer norm) are compiled once per x86-64 level
// and picked by the CPU at load time. Their results must not depend on that pick: each is checked
// bit for bit against a JavaScript transcription of its algorithm (8-lane maxima and sums in a
// fixed order, the polynomial exp in float32 via Math.fround, double sums as JS numbers). Any
// reordering, fused multiply-add or lane-count change in the C++ shows up here as a changed bit.
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Rng, selectBackend } from '@vzero/core';
import {
  layerNorm,
  logSoftmax,
  registerNativeKernels,
  scaledMaskedSoftmax,
  unregisterNativeKernels,
  type NativeBackendName,
} from '../src/index.js';
import { AVAILABLE, SKIP_REASON, randomData } from './helpers.js';

const f = Math.fround;
const LANES = 8;

/** The addon's exp for x <= 0 (Cephes polynomial), every operation rounded to float32. */
function expNonPositive(x0: number): number {
  const cut = f(-87.3);
  const keep = x0 < cut ? 0 : 1;
  const x = x0 < cut ? cut : x0;
  const n = f(f(f(x * f(1.4426950408889634)) + 12582912) - 12582912);
  let r = f(x - f(n * f(0.693359375)));
  r = f(r - f(n * f(-2.1219444e-4)));
  const z = f(r * r);
  let y = f(1.98756915e-4);
  for (const c of [1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1]) {
    y = f(f(y * r) + f(c));
  }
  y = f(f(f(y * z) + r) + 1);
  return f(f(y * 2 ** n) * keep);
}

/** One row of scaledMaskedSoftmax as the kernel computes it. */
function softmaxRow(src: Float32Array, mask: Float32Array | null, scale: number): Float32Array {
  const cols = src.length;
  const dst = new Float32Array(cols);
  const lanes = new Array<number>(LANES).fill(-Infinity);
  let j = 0;
  const zAt = (i: number) => {
    const s = f(src[i]! * f(scale));
    return mask ? f(s + mask[i]!) : s;
  };
  for (; j + LANES <= cols; j += LANES) {
    for (let k = 0; k < LANES; k++) {
      const z = zAt(j + k);
      dst[j + k] = z;
      lanes[k] = z > lanes[k]! ? z : lanes[k]!;
    }
  }
  let mx = -Infinity;
  for (; j < cols; j++) {
    const z = zAt(j);
    dst[j] = z;
    mx = z > mx ? z : mx;
  }
  for (const m of lanes) mx = m > mx ? m : mx;
  const sums = new Array<number>(LANES).fill(0);
  j = 0;
  for (; j + LANES <= cols; j += LANES) {
    for (let k = 0; k < LANES; k++) {
      dst[j + k] = expNonPositive(f(dst[j + k]! - mx));
      sums[k] = f(sums[k]! + dst[j + k]!);
    }
  }
  for (let i = j; i < cols; i++) dst[i] = expNonPositive(f(dst[i]! - mx));
  let sum = 0;
  for (const s of sums) sum = f(sum + s);
  for (; j < cols; j++) sum = f(sum + dst[j]!);
  const inv = f(1 / sum);
  for (let i = 0; i < cols; i++) dst[i] = f(dst[i]! * inv);
  return dst;
}

/** A row sum of term(i) in 8 double lanes, then the tail (the kernels' double sums). */
function laneSum(cols: number, term: (i: number) => number): number {
  const lanes = new Array<number>(LANES).fill(0);
  let j = 0;
  for (; j + LANES <= cols; j += LANES) for (let k = 0; k < LANES; k++) lanes[k]! += term(j + k);
  let s = 0;
  for (const v of lanes) s += v;
  for (; j < cols; j++) s += term(j);
  return s;
}

/** The softmax gradient row: the sum of dy * y in 8 double lanes, then the tail. */
function softmaxGradRow(dy: Float32Array, y: Float32Array, scale: number): Float32Array {
  const sf = f(laneSum(dy.length, (i) => f(dy[i]! * y[i]!)));
  return Float32Array.from(dy, (g, i) => f(f(f(g * y[i]!) - f(y[i]! * sf)) * f(scale)));
}

/** The log-softmax row: 8-lane maximum, the exp sum in double lanes, float32 output. */
function logSoftmaxRow(x: Float32Array): Float32Array {
  let mx = -Infinity;
  for (const v of x) mx = v > mx ? v : mx;
  const lse = f(Math.log(laneSum(x.length, (i) => expNonPositive(f(x[i]! - mx)))));
  return Float32Array.from(x, (v) => f(f(v - mx) - lse));
}

/** Its gradient row: dy - exp(y) * sum(dy), the sum in double lanes. */
function logSoftmaxGradRow(dy: Float32Array, y: Float32Array): Float32Array {
  const sf = f(laneSum(dy.length, (i) => dy[i]!));
  return Float32Array.from(dy, (g, i) => f(g - f(expNonPositive(y[i]!) * sf)));
}

/** The layer-norm row: mean and variance in 8 double lanes, the output in float32. */
function layerNormRow(x: Float32Array, gamma: Float32Array, beta: Float32Array, eps: number): Float32Array {
  const cols = x.length;
  const mean = laneSum(cols, (i) => x[i]!) / cols;
  const variance = laneSum(cols, (i) => (x[i]! - mean) ** 2) / cols;
  const m = f(mean);
  const rstd = f(1 / Math.sqrt(variance + eps));
  return Float32Array.from(x, (v, i) => f(f(f(f(v - m) * rstd) * gamma[i]!) + beta[i]!));
}

function rows(data: Float32Array, cols: number): Float32Array[] {
  return Array.from({ length: data.length / cols }, (_, r) => data.subarray(r * cols, (r + 1) * cols));
}

function expectBits(actual: Float32Array, expected: Float32Array): void {
  expect(actual.length).toBe(expected.length);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  const first = a.findIndex((bits, i) => bits !== e[i]);
  expect(first === -1 ? 'all equal' : `element ${first}: ${actual[first]} vs ${expected[first]}`).toBe(
    'all equal',
  );
}

/** Column counts around the 8-lane blocks and the model's own widths. */
const COLS = [1, 5, 8, 9, 16, 23, 64, 99, 115];

export function defineLanesSuite(backend: NativeBackendName): void {
  describe.skipIf(!AVAILABLE)(
    `vectorised kernels on ${backend} equal their algorithm bit for bit${SKIP_REASON}`,
    () => {
      beforeAll(async () => {
        await selectBackend({ prefer: backend });
      });
      afterEach(() => unregisterNativeKernels());

      it('scaledMaskedSoftmax forward and gradient, with and without a mask, 1 and 2 threads', () => {
        const rng = new Rng(81);
        for (const cols of COLS) {
          const r = 13;
          const x = randomData(rng, r * cols).map((v) => v * 6);
          const dy = randomData(rng, r * cols);
          // A causal-style mask row per input row: 0 or -1e9.
          const mask = Float32Array.from({ length: r * cols }, (_, i) =>
            i % cols > ((i / cols) % cols) + 2 ? -1e9 : 0,
          );
          for (const masked of [false, true]) {
            for (const threads of [1, 2]) {
              registerNativeKernels({ backends: [backend], threads });
              const [y, dx] = tf.tidy(() => {
                const xt = tf.tensor2d(x, [r, cols]);
                const mt = masked ? tf.tensor2d(mask, [r, cols]) : null;
                const op = (xi: tf.Tensor) => scaledMaskedSoftmax(xi, 0.37, mt);
                return [
                  op(xt),
                  tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(op(xi), tf.tensor2d(dy, [r, cols]))))(xt),
                ];
              }) as [tf.Tensor, tf.Tensor];
              const yv = y.dataSync() as Float32Array;
              const want = rows(x, cols).map((row, i) =>
                softmaxRow(row, masked ? mask.subarray(i * cols, (i + 1) * cols) : null, 0.37),
              );
              expectBits(yv, Float32Array.from(want.flatMap((w) => [...w])));
              const wantGrad = rows(dy, cols).map((g, i) =>
                softmaxGradRow(g, yv.subarray(i * cols, (i + 1) * cols), 0.37),
              );
              expectBits(dx.dataSync() as Float32Array, Float32Array.from(wantGrad.flatMap((w) => [...w])));
              tf.dispose([y, dx]);
              unregisterNativeKernels();
            }
          }
        }
      });

      it('logSoftmax forward and gradient, 1 and 2 threads', () => {
        const rng = new Rng(83);
        for (const cols of COLS) {
          const r = 9;
          const x = randomData(rng, r * cols).map((v) => v * 9);
          const dy = randomData(rng, r * cols);
          const want = Float32Array.from(rows(x, cols).flatMap((row) => [...logSoftmaxRow(row)]));
          const wantGrad = Float32Array.from(
            rows(dy, cols).flatMap((g, i) => [
              ...logSoftmaxGradRow(g, want.subarray(i * cols, (i + 1) * cols)),
            ]),
          );
          for (const threads of [1, 2]) {
            registerNativeKernels({ backends: [backend], threads });
            const [y, dx] = tf.tidy(() => {
              const xt = tf.tensor2d(x, [r, cols]);
              const w = tf.tensor2d(dy, [r, cols]);
              return [logSoftmax(xt), tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(logSoftmax(xi), w)))(xt)];
            }) as [tf.Tensor, tf.Tensor];
            expectBits(y.dataSync() as Float32Array, want);
            expectBits(dx.dataSync() as Float32Array, wantGrad);
            tf.dispose([y, dx]);
            unregisterNativeKernels();
          }
        }
      });

      it('layerNorm forward, 1 and 2 threads', () => {
        const rng = new Rng(82);
        for (const cols of COLS) {
          const r = 11;
          const x = randomData(rng, r * cols).map((v) => v * 3 + 0.5);
          const gamma = randomData(rng, cols);
          const beta = randomData(rng, cols);
          const want = Float32Array.from(
            rows(x, cols).flatMap((row) => [...layerNormRow(row, gamma, beta, 1e-5)]),
          );
          for (const threads of [1, 2]) {
            registerNativeKernels({ backends: [backend], threads });
            const y = tf.tidy(() =>
              layerNorm(tf.tensor2d(x, [r, cols]), tf.tensor1d(gamma), tf.tensor1d(beta), 1e-5),
            );
            expectBits(y.dataSync() as Float32Array, want);
            y.dispose();
            unregisterNativeKernels();
          }
        }
      });
    },
  );
}
