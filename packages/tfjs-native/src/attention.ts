// Multi-head attention as one op with its own gradient: softmax(q k^T * scale + mask) v per head.
// q and the result are in token layout [B, Tq, H * dh] (what a linear layer gives and takes), the
// keys and values in head layout [B, H, Tk, dh] (a KV cache's layout). With the native kernels
// that is one kernel forward and one backward, reading each head in place: no head transposes,
// no separate score and probability tensors. Without them (any backend, any dtype, a mask that
// does not broadcast by rows) it runs exactly the ops the model's attention ran before: reshape
// and transpose q to heads, matMul, scaledMaskedSoftmax, matMul, transpose and reshape back.
import * as tf from '@tensorflow/tfjs-core';
import { InvalidInputError, ShapeMismatchError } from '@vzero/core';
import { checkMaskBroadcasts, maskRowIndex, scaledMaskedSoftmax } from './attention-softmax.js';
import { fusable } from './fusable.js';

/**
 * Kernel name of the fused forward: inputs q, k, v and optionally mask; attrs heads, scale and
 * withProbs; outputs [out] or, with withProbs, [out, probs] (probs [B, H, Tq, Tk]).
 */
export const ATTENTION_KERNEL = 'VZeroAttention';
/** Kernel name of its gradient: inputs dy, q, k, v, probs; attrs heads, scale; outputs dq, dk, dv. */
export const ATTENTION_GRAD_KERNEL = 'VZeroAttentionGrad';
/**
 * Kernel name of the decoding attention over a preallocated cache: inputs q, kNew, vNew, kCache,
 * vCache and optionally mask; attrs heads, scale and length; output like attention's.
 */
export const ATTENTION_APPEND_KERNEL = 'VZeroAttentionAppend';

function checkShapes(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, heads: number, mask: tf.Tensor | null): void {
  if (!Number.isInteger(heads) || heads < 1)
    throw new InvalidInputError('heads', heads, 'expected an integer >= 1');
  if (q.rank !== 3)
    throw new ShapeMismatchError('q', '[batch, queries, heads * headWidth]', `[${q.shape.join(', ')}]`);
  const [B, , d] = q.shape as [number, number, number];
  if (d % heads !== 0) {
    throw new InvalidInputError('heads', heads, `q's width ${d} is not a multiple of the head count`);
  }
  const dh = d / heads;
  for (const [name, t] of [
    ['k', k],
    ['v', v],
  ] as const) {
    if (t.rank !== 4 || t.shape[0] !== B || t.shape[1] !== heads || t.shape[3] !== dh || t.shape[2] === 0) {
      throw new ShapeMismatchError(name, `[${B}, ${heads}, keys >= 1, ${dh}]`, `[${t.shape.join(', ')}]`);
    }
  }
  if (!tf.util.arraysEqual(k.shape, v.shape)) {
    throw new ShapeMismatchError('v', `[${k.shape.join(', ')}] (k's shape)`, `[${v.shape.join(', ')}]`);
  }
  if (mask) checkMaskBroadcasts(mask, [B, heads, q.shape[1] as number, k.shape[2] as number]);
}

/** Token layout [B, T, H * dh] -> head layout [B, H, T, dh]. */
function toHeads(x: tf.Tensor, heads: number): tf.Tensor4D {
  const [B, T, d] = x.shape as [number, number, number];
  return tf.transpose(tf.reshape(x, [B, T, heads, d / heads]), [0, 2, 1, 3]);
}

/** Head layout [B, H, T, dh] -> token layout [B, T, H * dh]. */
function fromHeads(x: tf.Tensor): tf.Tensor3D {
  const [B, H, T, dh] = x.shape as [number, number, number, number];
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [B, T, H * dh]);
}

/** The former attention ops (also the reference for the fused kernels' tests). */
export function attentionOps(
  q: tf.Tensor3D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  heads: number,
  scale: number,
  mask: tf.Tensor | null = null,
): tf.Tensor3D {
  return tf.tidy(() => {
    const att = tf.matMul(scaledMaskedSoftmax(tf.matMul(toHeads(q, heads), k, false, true), scale, mask), v);
    return fromHeads(att);
  });
}

/**
 * Attention of queries q [B, Tq, H * dh] over keys k and values v [B, H, Tk, dh]: per head h,
 * softmax(q_h k_h^T * scale + mask) v_h, returned in q's layout. `mask` (null: none) must
 * broadcast to the scores [B, H, Tq, Tk] and gets no gradient; q, k and v do.
 */
export function attention(
  q: tf.Tensor3D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  heads: number,
  scale: number,
  mask: tf.Tensor | null = null,
): tf.Tensor3D {
  checkShapes(q, k, v, heads, mask);
  if (!Number.isFinite(scale)) throw new InvalidInputError('scale', scale, 'expected a finite number');
  const [B, Tq] = q.shape;
  const fused =
    fusable(ATTENTION_KERNEL, mask ? [q, k, v, mask] : [q, k, v]) &&
    (!mask || maskRowIndex([B, heads, Tq, k.shape[2]], mask.shape) !== undefined);
  if (!fused) return attentionOps(q, k, v, heads, scale, mask);
  // The probabilities are kept only when a gradient may be asked for (a tape is recording).
  const withProbs = tf.engine().isTapeOn();
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [qi, ki, vi, save] = args as [tf.Tensor3D, tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    const inputs = mask ? { q: qi, k: ki, v: vi, mask } : { q: qi, k: ki, v: vi };
    const outs = tf.engine().runKernel(ATTENTION_KERNEL, inputs, { heads, scale, withProbs }) as tf.Tensor[];
    const [value, probs] = outs as [tf.Tensor3D, tf.Tensor | undefined];
    if (probs) save([qi, ki, vi, probs]);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      const [qs, ks, vs, ps] = saved as [tf.Tensor3D, tf.Tensor4D, tf.Tensor4D, tf.Tensor4D | undefined];
      if (!ps) throw new Error('attention: no saved probabilities (the forward ran without a gradient tape)');
      if (fusable(ATTENTION_GRAD_KERNEL, [dy, qs, ks, vs, ps])) {
        return tf.engine().runKernel(
          ATTENTION_GRAD_KERNEL,
          { dy, q: qs, k: ks, v: vs, probs: ps },
          {
            heads,
            scale,
          },
        ) as tf.Tensor[];
      }
      return attentionGradOps(dy as tf.Tensor3D, qs, ks, vs, ps, heads, scale);
    };
    return { value, gradFunc };
  });
  return op(q, k, v) as tf.Tensor3D;
}

/** The gradient from saved probabilities with plain ops (when the grad kernel is missing). */
function attentionGradOps(
  dy: tf.Tensor3D,
  q: tf.Tensor3D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  probs: tf.Tensor4D,
  heads: number,
  scale: number,
): tf.Tensor[] {
  const dO = toHeads(dy, heads);
  const dv = tf.matMul(probs, dO, true, false);
  const dP = tf.matMul(dO, v, false, true);
  const dPp = tf.mul(dP, probs);
  const dS = tf.mul(tf.sub(dPp, tf.mul(tf.sum(dPp, -1, true), probs)), scale);
  return [fromHeads(tf.matMul(dS, k)), tf.matMul(dS, toHeads(q, heads), true, false), dv];
}

/** A preallocated key/value cache of one layer: [B, H, capacity, dh] each, filled up to a length. */
export interface AppendableCache {
  readonly k: tf.Tensor4D;
  readonly v: tf.Tensor4D;
}

/** Whether attentionAppend can run on the active backend (the native kernels are registered). */
export function canAppendAttention(): boolean {
  return tf.getKernel(ATTENTION_APPEND_KERNEL, tf.getBackend()) !== undefined;
}

/**
 * Decoding attention without concatenating caches: writes the new keys and values kNew, vNew
 * ([B, Tq, H * dh] or [B * Tq, H * dh]: token layout, as a linear layer gives them) into
 * positions length .. length + Tq - 1 of `cache` IN PLACE (the cache's tensors must belong to
 * the caller alone: nothing else may share their data), then returns the attention of q
 * [B, Tq, H * dh] over the first length + Tq positions under `mask` (null: none; it must
 * broadcast to [B, H, Tq, length + Tq]). The values are bit for bit those of
 * attention(q, concat([past, new], 2), ...) with the native kernels: the same products on the
 * same rows. No gradient; needs the native kernels (canAppendAttention()).
 */
export function attentionAppend(
  q: tf.Tensor3D,
  kNew: tf.Tensor,
  vNew: tf.Tensor,
  cache: AppendableCache,
  length: number,
  heads: number,
  scale: number,
  mask: tf.Tensor | null = null,
): tf.Tensor3D {
  const [B, Tq, d] = q.shape;
  const capacity = cache.k.shape[2];
  if (!Number.isInteger(length) || length < 0 || length + Tq > capacity) {
    throw new InvalidInputError(
      'length',
      length,
      `the cache holds ${capacity} positions, ${Tq} are appended`,
    );
  }
  for (const [name, t] of [
    ['kNew', kNew],
    ['vNew', vNew],
  ] as const) {
    if (t.size !== B * Tq * d)
      throw new ShapeMismatchError(name, `${B * Tq * d} values`, `[${t.shape.join(', ')}]`);
  }
  checkShapes(q, cache.k, cache.v, heads, null);
  if (mask) checkMaskBroadcasts(mask, [B, heads, Tq, length + Tq]);
  if (!Number.isFinite(scale)) throw new InvalidInputError('scale', scale, 'expected a finite number');
  const tensors = [q, kNew, vNew, cache.k, cache.v, ...(mask ? [mask] : [])];
  if (!fusable(ATTENTION_APPEND_KERNEL, tensors)) {
    throw new Error(
      'attentionAppend: needs the native kernels on the active backend (see canAppendAttention)',
    );
  }
  const inputs = { q, kNew, vNew, kCache: cache.k, vCache: cache.v, ...(mask ? { mask } : {}) };
  return tf.engine().runKernel(ATTENTION_APPEND_KERNEL, inputs, { heads, scale, length }) as tf.Tensor3D;
}
