// The attention's scale, mask and softmax as one op with its own gradient: softmax(x * scale +
// mask) over the last axis. Where the native kernels are registered that is one kernel forward
// and one backward, instead of Mul, Add and Softmax forward and five kernels back. Without them
// (any backend, any dtype, a mask that does not broadcast by rows) it runs exactly the ops the
// attention used before (bitwise equal forward; tfjs's own softmax gradient formula, times scale).
import * as tf from '@tensorflow/tfjs-core';
import { InvalidInputError, ShapeMismatchError } from '@vzero/core';
import { fusable } from './fusable.js';

/** Kernel name of the fused forward: inputs x and optionally mask; attr scale; output y. */
export const SCALED_MASKED_SOFTMAX_KERNEL = 'VZeroScaledMaskedSoftmax';
/** Kernel name of its gradient: inputs dy, y (the forward's output); attr scale; output dx. */
export const SCALED_MASKED_SOFTMAX_GRAD_KERNEL = 'VZeroScaledMaskedSoftmaxGrad';

/**
 * For each row of x (all axes but the last, flattened) the row of the mask (flattened the same
 * way) that broadcasting adds to it; undefined unless the mask's last axis equals x's and every
 * other axis (right-aligned) is x's size or 1, with rank <= x's rank. The result is shared
 * between calls with the same shapes (read it, never write it): a training step asks for the
 * same few shapes hundreds of times, and building the index is a div/mod loop over every row.
 */
export function maskRowIndex(
  xShape: readonly number[],
  maskShape: readonly number[],
): Int32Array | undefined {
  const key = `${xShape.join(',')}|${maskShape.join(',')}`;
  if (rowIndexCache.has(key)) return rowIndexCache.get(key);
  const index = buildMaskRowIndex(xShape, maskShape);
  // Bounded: decoding grows the key length by one each token, so shapes keep changing.
  if (rowIndexCache.size >= ROW_INDEX_CACHE_SIZE) rowIndexCache.clear();
  rowIndexCache.set(key, index);
  return index;
}

const ROW_INDEX_CACHE_SIZE = 256;
const rowIndexCache = new Map<string, Int32Array | undefined>();

/** Throws a ShapeMismatchError naming `mask` unless it broadcasts to `shape` (its own shape). */
export function checkMaskBroadcasts(mask: tf.Tensor, shape: readonly number[]): void {
  let out: number[] | undefined;
  try {
    out = tf.broadcast_util.assertAndGetBroadcastShape([...shape], mask.shape);
  } catch {
    out = undefined;
  }
  if (!out || !tf.util.arraysEqual(out, [...shape])) {
    throw new ShapeMismatchError(
      'mask',
      `broadcastable to [${shape.join(', ')}]`,
      `[${mask.shape.join(', ')}]`,
    );
  }
}

function buildMaskRowIndex(xShape: readonly number[], maskShape: readonly number[]): Int32Array | undefined {
  const rank = xShape.length;
  if (rank === 0 || maskShape.length > rank || maskShape.length === 0) return undefined;
  if (maskShape[maskShape.length - 1] !== xShape[rank - 1]) return undefined;
  const lead = xShape.slice(0, -1);
  const mlead = [...Array<number>(rank - maskShape.length).fill(1), ...maskShape.slice(0, -1)];
  if (mlead.some((d, i) => d !== 1 && d !== lead[i])) return undefined;
  const rows = lead.reduce((p, d) => p * d, 1);
  const out = new Int32Array(rows);
  // Strides of the mask's leading axes (0 where it broadcasts).
  const strides = new Array<number>(lead.length).fill(0);
  let s = 1;
  for (let i = lead.length - 1; i >= 0; i--) {
    strides[i] = mlead[i] === 1 ? 0 : s;
    s *= mlead[i]!;
  }
  for (let r = 0; r < rows; r++) {
    let rem = r;
    let idx = 0;
    for (let i = lead.length - 1; i >= 0; i--) {
      const d = lead[i]!;
      idx += (rem % d) * strides[i]!;
      rem = Math.floor(rem / d);
    }
    out[r] = idx;
  }
  return out;
}

/**
 * softmax(x * scale + mask) over the last axis of x, differentiable in x (the mask is a
 * constant: it gets no gradient). `mask` (null: none) must broadcast to x.
 */
export function scaledMaskedSoftmax(x: tf.Tensor, scale: number, mask: tf.Tensor | null = null): tf.Tensor {
  if (x.rank === 0) throw new InvalidInputError('x', '[]', 'expected at least one axis');
  if (!Number.isFinite(scale)) throw new InvalidInputError('scale', scale, 'expected a finite number');
  if (mask) checkMaskBroadcasts(mask, x.shape);
  const fusedForward =
    fusable(SCALED_MASKED_SOFTMAX_KERNEL, mask ? [x, mask] : [x]) &&
    (!mask || maskRowIndex(x.shape, mask.shape) !== undefined);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const value = fusedForward
      ? (tf.engine().runKernel(SCALED_MASKED_SOFTMAX_KERNEL, mask ? { x: xi, mask } : { x: xi }, {
          scale,
        }) as tf.Tensor)
      : tf.softmax(mask ? tf.add(tf.mul(xi, scale), mask) : tf.mul(xi, scale));
    save([value]);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor => {
      const [y] = saved as [tf.Tensor];
      if (fusable(SCALED_MASKED_SOFTMAX_GRAD_KERNEL, [dy, y])) {
        return tf.engine().runKernel(SCALED_MASKED_SOFTMAX_GRAD_KERNEL, { dy, y }, { scale }) as tf.Tensor;
      }
      // tfjs's Softmax gradient, then the Mul's.
      const dyTimesY = tf.mul(dy, y);
      return tf.mul(tf.sub(dyTimesY, tf.mul(tf.sum(dyTimesY, -1, true), y)), scale);
    };
    return { value, gradFunc };
  });
  return op(x);
}
