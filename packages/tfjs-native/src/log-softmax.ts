// Log-softmax over the last axis as one op with its own gradient: the model's log-probs in every
// forward pass (rollout, teacher scoring, update) and the reference transformer's loss. With the
// native kernels it is one kernel forward and one backward instead of tfjs's six forward kernels
// (max, sub, exp, sum, log, sub) and four backward; without them it is tf.logSoftmax itself
// (same values and gradient as before, bitwise).
import * as tf from '@tensorflow/tfjs-core';
import { InvalidInputError } from '@vzero/core';
import { fusable } from './fusable.js';

/** Kernel name of the fused forward: input x; output y. */
export const LOG_SOFTMAX_KERNEL = 'VZeroLogSoftmax';
/** Kernel name of its gradient: inputs dy, y (the forward's output); output dx. */
export const LOG_SOFTMAX_GRAD_KERNEL = 'VZeroLogSoftmaxGrad';

/** log(softmax(x)) over the last axis of x, differentiable in x. */
export function logSoftmax(x: tf.Tensor): tf.Tensor {
  if (x.rank === 0) throw new InvalidInputError('x', '[]', 'expected at least one axis');
  if (!fusable(LOG_SOFTMAX_KERNEL, [x])) return tf.logSoftmax(x);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const value = tf.engine().runKernel(LOG_SOFTMAX_KERNEL, { x: xi }) as tf.Tensor;
    save([value]);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor => {
      const [y] = saved as [tf.Tensor];
      if (fusable(LOG_SOFTMAX_GRAD_KERNEL, [dy, y])) {
        return tf.engine().runKernel(LOG_SOFTMAX_GRAD_KERNEL, { dy, y }) as tf.Tensor;
      }
      // tfjs's own logSoftmax gradient.
      return tf.sub(dy, tf.mul(tf.exp(y), tf.sum(dy, -1, true)));
    };
    return { value, gradFunc };
  });
  return op(x);
}
