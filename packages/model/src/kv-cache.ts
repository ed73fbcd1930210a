// The decoder's key/value cache and picking rows of it (a prompt repeated for its rollouts,
// one image encoding shared by the views that show it).
import * as tf from '@tensorflow/tfjs-core';
import { oneHot } from './one-hot.js';

/** Keys and values of every layer, [rows, heads, length, headWidth] each. */
export type LayerCache = {
  readonly k: tf.Tensor4D;
  readonly v: tf.Tensor4D;
};

/** Whether `rows` is exactly 0, 1, ..., count - 1. */
export function isIdentity(rows: readonly number[], count: number): boolean {
  return rows.length === count && rows.every((r, i) => r === i);
}

/**
 * Rows `rows` of every layer's keys and values (a gather per tensor). When `rows` is exactly
 * 0..n-1 of an n-row cache (no sharing happened) the cache itself is returned: the gather would
 * only copy it. With `differentiable`, the rows are copied by a one-hot matmul instead: the same
 * values (1 x value + exact zeros), and a backward pass that sums the copies' gradients, which
 * tf.gather's needs UnsortedSegmentSum for and the wasm backend lacks (the training path).
 */
export function cacheRows(
  cache: readonly LayerCache[],
  rows: readonly number[],
  differentiable = false,
): LayerCache[] {
  const n = cache[0]?.k.shape[0] ?? 0;
  if (isIdentity(rows, n)) return [...cache];
  if (differentiable) {
    const copy = oneHot(rows, n); // [rows, n]
    const spread = (t: tf.Tensor4D): tf.Tensor4D => {
      const [, H, T, dh] = t.shape;
      return tf.reshape(tf.matMul(copy, tf.reshape(t, [n, H * T * dh])), [rows.length, H, T, dh]);
    };
    return cache.map((c) => ({ k: spread(c.k), v: spread(c.v) }));
  }
  const idx = tf.tensor1d(rows as number[], 'int32');
  return cache.map((c) => ({ k: tf.gather(c.k, idx), v: tf.gather(c.v, idx) }));
}
