// A linear layer's product x w + bias (then ReLU) as one kernel call where tfjs's op makes four:
// tf.fused.matMul reshapes both operands to 3D and the result back around its _FusedMatMul kernel
// (inside a custom gradient). Decoding runs a dozen such products per step, each a few
// microseconds of GEMM, so the bookkeeping of the other three is most of their cost. With the
// native kernels registered and no gradient recorded, fusedLinear runs the native _FusedMatMul
// on the 2D tensors directly: the same GEMM call as for their 3D views, so the same bits.
// Otherwise (a gradient tape, no native kernels, other dtypes) it is tf.fused.matMul.
import * as tf from '@tensorflow/tfjs-core';
import { isNativeKernel } from './register.js';

/** x [m, k] w [k, n] + bias [n], then the activation: tf.fused.matMul's value, bit for bit. */
export function fusedLinear(
  x: tf.Tensor2D,
  w: tf.Tensor2D,
  bias: tf.Tensor1D,
  activation: 'linear' | 'relu' = 'linear',
): tf.Tensor2D {
  const direct =
    tf.engine().state.gradientDepth === 0 &&
    x.rank === 2 &&
    w.rank === 2 &&
    bias.rank === 1 &&
    [x, w, bias].every((t) => t.dtype === 'float32' && t.size > 0) &&
    isNativeKernel('_FusedMatMul');
  if (!direct) return tf.fused.matMul({ a: x, b: w, bias, activation }) as tf.Tensor2D;
  const attrs = { transposeA: false, transposeB: false, activation, leakyreluAlpha: 0.2 };
  return tf.engine().runKernel('_FusedMatMul', { a: x, b: w, bias }, attrs) as tf.Tensor2D;
}
