// Per-token estimators of the divergence between student and positive-view teacher.
import * as tf from '@tensorflow/tfjs-core';
import type { Estimator } from './config.js';

/** k3 works on c = clamp(t - s, -20, 20) and clamps its result to at most 10 (the reference). */
export const K3_LOG_RATIO_CLAMP = 20;
export const K3_VALUE_CLAMP = 10;

/**
 * The per-token value of a sampled-token estimator, s = student log-prob, t = teacher log-prob:
 * k1 = s - t; abs = |s - t|; k2 = 0.5 (s - t)^2; k3 = exp(c) - c - 1, c = clamp(t - s, -20, 20),
 * clamped to [0, 10] (the reference clamps to [-10, 10]; k3 is never negative, so the lower
 * bound only removes float32 rounding). No masking: callers zero padded positions first.
 */
export function tokenEstimator(
  estimator: Exclude<Estimator, 'forward-kl-topk'>,
  student: tf.Tensor,
  teacher: tf.Tensor,
): tf.Tensor {
  return tf.tidy(() => {
    switch (estimator) {
      case 'k1':
        return tf.sub(student, teacher);
      case 'abs':
        return absSignGradient(tf.sub(student, teacher));
      case 'k2':
        return tf.mul(0.5, tf.square(tf.sub(student, teacher)));
      case 'k3': {
        const c = tf.clipByValue(tf.sub(teacher, student), -K3_LOG_RATIO_CLAMP, K3_LOG_RATIO_CLAMP);
        // expm1(c) - c is exp(c) - c - 1 without the cancellation that makes it slightly
        // negative in float32 for small c; the lower clip at 0 removes the last rounding residue
        // (the exact value is never negative), the upper one is the reference's 10.
        const value = tf.sub(tf.expm1(c), c);
        return tf.clipByValue(value, 0, K3_VALUE_CLAMP);
      }
    }
  });
}

/**
 * |x| with torch's gradient sign(x), which is 0 at x = 0. tfjs's own Abs gradient is -1 at 0,
 * so a token where student and teacher agree exactly would still be pushed (the reference's is not).
 */
const absSignGradient = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const x = args[0] as tf.Tensor;
  (args[1] as tf.GradSaveFunc)([x]);
  return {
    value: tf.abs(x),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, tf.sign(saved[0]!)),
  };
}) as (x: tf.Tensor) => tf.Tensor;

/**
 * Forward KL restricted to the teacher's top-K tokens, per position:
 * sum_j p_T(j) (log p_T(j) - log p_S(j)) over the last axis of [B, T, K] inputs holding the
 * teacher's top-K log-probs and the student's log-probs of the same token ids.
 */
export function forwardKlTopK(studentTopK: tf.Tensor3D, teacherTopK: tf.Tensor3D): tf.Tensor2D {
  return tf.tidy(
    () => tf.sum(tf.mul(tf.exp(teacherTopK), tf.sub(teacherTopK, studentTopK)), -1) as tf.Tensor2D,
  );
}
