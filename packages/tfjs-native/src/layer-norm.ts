// Layer normalisation over the last axis as one op with its own gradient: two kernels per call
// (forward, backward) where the native kernels are registered, instead of ~7 forward kernels and
// their autodiff gradients. Without them (any backend, any dtype) it computes the same math with
// plain tfjs ops, so every backend works and gives the same numbers within float tolerance.
import * as tf from '@tensorflow/tfjs-core';
import { InvalidInputError, ShapeMismatchError } from '@vzero/core';
import { fusable } from './fusable.js';

/** Kernel name of the fused forward: inputs x, gamma, beta; attr epsilon; output y. */
export const LAYER_NORM_KERNEL = 'VZeroLayerNorm';
/** Kernel name of the fused gradient: inputs dy, x, gamma; attr epsilon; outputs dx, dgamma, dbeta. */
export const LAYER_NORM_GRAD_KERNEL = 'VZeroLayerNormGrad';

/** The unfused forward, op for op what the model computed before the fused op existed. */
function plainForward(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number): tf.Tensor {
  const mean = tf.mean(x, -1, true);
  const xc = tf.sub(x, mean);
  const variance = tf.mean(tf.square(xc), -1, true);
  return tf.add(tf.mul(tf.mul(xc, tf.rsqrt(tf.add(variance, epsilon))), gamma), beta);
}

/**
 * The gradients in closed form (xhat = (x - mean) * rstd, g = dy * gamma):
 * dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), dgamma = sum dy * xhat, dbeta = sum dy.
 */
function plainBackward(dy: tf.Tensor, x: tf.Tensor, gamma: tf.Tensor, epsilon: number): tf.Tensor[] {
  const d = x.shape[x.shape.length - 1] ?? 1;
  const mean = tf.mean(x, -1, true);
  const xc = tf.sub(x, mean);
  const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(xc), -1, true), epsilon));
  const xhat = tf.mul(xc, rstd);
  const g = tf.mul(dy, gamma);
  const dx = tf.mul(
    rstd,
    tf.sub(tf.sub(g, tf.mean(g, -1, true)), tf.mul(xhat, tf.mean(tf.mul(g, xhat), -1, true))),
  );
  const dy2 = tf.reshape(dy, [-1, d]);
  const dgamma = tf.sum(tf.mul(dy2, tf.reshape(xhat, [-1, d])), 0);
  const dbeta = tf.sum(dy2, 0);
  return [dx, dgamma, dbeta];
}

/**
 * (x - mean) / sqrt(variance + epsilon) * gamma + beta over the last axis of x (biased
 * variance), differentiable in x, gamma and beta. gamma and beta are [d] with d = x's last
 * dimension.
 */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon = 1e-5): tf.Tensor {
  const d = x.shape[x.shape.length - 1];
  if (d === undefined)
    throw new InvalidInputError('x', `[${x.shape.join(', ')}]`, 'expected at least one axis');
  for (const [field, t] of [
    ['gamma', gamma],
    ['beta', beta],
  ] as const) {
    if (t.shape.length !== 1 || t.shape[0] !== d) {
      throw new ShapeMismatchError(field, `[${d}]`, `[${t.shape.join(', ')}]`);
    }
  }
  if (!Number.isFinite(epsilon) || epsilon <= 0) {
    throw new InvalidInputError('epsilon', epsilon, 'expected a finite number > 0');
  }
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, gi, bi, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([xi, gi]);
    const value = fusable(LAYER_NORM_KERNEL, [xi, gi, bi])
      ? (tf.engine().runKernel(LAYER_NORM_KERNEL, { x: xi, gamma: gi, beta: bi }, { epsilon }) as tf.Tensor)
      : plainForward(xi, gi, bi, epsilon);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      const [sx, sg] = saved as [tf.Tensor, tf.Tensor];
      return fusable(LAYER_NORM_GRAD_KERNEL, [dy, sx, sg])
        ? (tf
            .engine()
            .runKernel(LAYER_NORM_GRAD_KERNEL, { dy, x: sx, gamma: sg }, { epsilon }) as tf.Tensor[])
        : plainBackward(dy, sx, sg, epsilon);
    };
    return { value, gradFunc };
  });
  return op(x, gamma, beta);
}
