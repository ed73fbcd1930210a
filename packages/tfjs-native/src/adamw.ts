// One AdamW step for one variable as one op: a single kernel (VZeroAdamW) where the native
// kernels are registered, instead of ~10 elementwise kernels. Without it (any backend, any
// dtype) it runs the same formula op for op with plain tfjs ops. The native kernel computes in
// float32 in the same order with the same float32 constants, so both paths give the same numbers
// (bitwise on cpu, where every tfjs op rounds to float32 once). tfjs tensors are immutable: the
// op returns new tensors for the caller to assign to its variables.
import * as tf from '@tensorflow/tfjs-core';
import { InvalidInputError, ShapeMismatchError } from '@vzero/core';
import { fusable } from './fusable.js';

/**
 * Kernel name of the fused update: inputs x, g, m, v; attrs scale, beta1, oneMinusBeta1, beta2,
 * oneMinusBeta2, c1, c2, epsilon, lr, decay; outputs x', m', v'.
 */
export const ADAMW_KERNEL = 'VZeroAdamW';

export interface AdamWUpdateSettings {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  /** 1-based step number t (bias corrections 1 - beta^t). */
  readonly step: number;
  /** Decoupled weight decay: x is multiplied by 1 - lr * weightDecay (0: unchanged). */
  readonly weightDecay: number;
  /** Factor the gradient is multiplied by first (global-norm clipping); 1 leaves it alone. */
  readonly gradScale: number;
}

export interface AdamWUpdated {
  readonly x: tf.Tensor;
  readonly m: tf.Tensor;
  readonly v: tf.Tensor;
}

function checkSettings(s: AdamWUpdateSettings): void {
  const finite: [string, number][] = [
    ['lr', s.lr],
    ['weightDecay', s.weightDecay],
    ['gradScale', s.gradScale],
  ];
  for (const [field, value] of finite) {
    if (!Number.isFinite(value)) throw new InvalidInputError(field, value, 'expected a finite number');
  }
  for (const [field, value] of [
    ['beta1', s.beta1],
    ['beta2', s.beta2],
  ] as const) {
    if (!(value >= 0 && value < 1)) throw new InvalidInputError(field, value, 'expected a number in [0, 1)');
  }
  if (!(s.epsilon > 0) || !Number.isFinite(s.epsilon)) {
    throw new InvalidInputError('epsilon', s.epsilon, 'expected a finite number > 0');
  }
  if (!Number.isInteger(s.step) || s.step < 1) {
    throw new InvalidInputError('step', s.step, 'expected an integer >= 1');
  }
}

/**
 * AdamW's update of variable value `x` with gradient `g` and moments `m`, `v` (all the same
 * shape): m' = beta1 m + (1 - beta1) g', v' = beta2 v + (1 - beta2) g'^2 with g' = g * gradScale,
 * x' = x (1 - lr weightDecay) - lr (m' / c1) / (sqrt(v' / c2) + epsilon), c = 1 - beta^step.
 * Returns new tensors; the inputs are left as they are.
 */
export function adamwUpdate(
  x: tf.Tensor,
  g: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  settings: AdamWUpdateSettings,
): AdamWUpdated {
  for (const [field, t] of [
    ['g', g],
    ['m', m],
    ['v', v],
  ] as const) {
    if (!tf.util.arraysEqual(t.shape, x.shape)) {
      throw new ShapeMismatchError(field, `[${x.shape.join(', ')}]`, `[${t.shape.join(', ')}]`);
    }
  }
  checkSettings(settings);
  const { lr, beta1, beta2, epsilon, step, weightDecay, gradScale } = settings;
  const c1 = 1 - beta1 ** step;
  const c2 = 1 - beta2 ** step;
  const decay = weightDecay !== 0 ? 1 - lr * weightDecay : 1;
  const fused = fusable(ADAMW_KERNEL, [x, g, m, v]);
  if (fused) {
    const attrs = {
      scale: gradScale,
      beta1,
      oneMinusBeta1: 1 - beta1,
      beta2,
      oneMinusBeta2: 1 - beta2,
      c1,
      c2,
      epsilon,
      lr,
      decay,
    };
    const [nx, nm, nv] = tf.engine().runKernel(ADAMW_KERNEL, { x, g, m, v }, attrs) as tf.Tensor[];
    return { x: nx as tf.Tensor, m: nm as tf.Tensor, v: nv as tf.Tensor };
  }
  // The unfused formula, op for op (the optimizers' former code).
  return tf.tidy(() => {
    const gs = gradScale === 1 ? g : tf.mul(g, gradScale);
    const nm = tf.add(tf.mul(m, beta1), tf.mul(gs, 1 - beta1));
    const nv = tf.add(tf.mul(v, beta2), tf.mul(tf.square(gs), 1 - beta2));
    const update = tf.div(tf.div(nm, c1), tf.add(tf.sqrt(tf.div(nv, c2)), epsilon));
    const decayed = decay !== 1 ? tf.mul(x, decay) : x;
    const nx = tf.sub(decayed, tf.mul(update, lr));
    return { x: nx, m: nm, v: nv };
  });
}
