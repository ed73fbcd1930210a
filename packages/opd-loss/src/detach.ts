// tfjs has no stop_gradient op. A custom op that takes no tensor inputs and returns a copy of
// x (made inside the op, where the tape does not record) is linked to nothing on the tape:
// gradients stop there, as with torch's x.detach(), and non-differentiable ops applied to it
// later (less, greater) never reach the backward pass.
import * as tf from '@tensorflow/tfjs-core';

/** The value of `x` with no gradient flowing back into it. The copy shares x's memory on cpu and wasm. */
export function detach<T extends tf.Tensor>(x: T): T {
  return tf.customGrad(() => ({ value: tf.clone(x), gradFunc: () => [] }))() as T;
}
