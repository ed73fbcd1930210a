// Adam with the SDK's parameters (optim_step_request.py AdamParams): bias-corrected moments,
// decoupled weight decay ("Uses decoupled weight decay": AdamW, Loshchilov & Hutter), and
// clipping of the global gradient norm to grad_clip_norm when it is positive:
//   g <- g * min(1, c / ||g||)                  (c = grad_clip_norm > 0)
//   m <- b1 m + (1 - b1) g;   v <- b2 v + (1 - b2) g^2;   t <- t + 1
//   p <- p - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps) - lr wd p
import type { AdamParams } from '../types.js';

export interface AdamState {
  readonly m: Float64Array;
  readonly v: Float64Array;
  step: number;
}

export function adamState(size: number): AdamState {
  return { m: new Float64Array(size), v: new Float64Array(size), step: 0 };
}

/** Updates `params` in place from `grad` (left as it was); returns the norm before clipping. */
export function adamStep(
  params: Float64Array,
  grad: Float64Array,
  state: AdamState,
  p: AdamParams,
): { gradNorm: number } {
  let sq = 0;
  for (let i = 0; i < grad.length; i++) sq += grad[i]! * grad[i]!;
  const gradNorm = Math.sqrt(sq);
  const scale = p.grad_clip_norm > 0 && gradNorm > p.grad_clip_norm ? p.grad_clip_norm / gradNorm : 1;
  state.step += 1;
  const c1 = 1 - p.beta1 ** state.step;
  const c2 = 1 - p.beta2 ** state.step;
  for (let i = 0; i < params.length; i++) {
    const g = grad[i]! * scale;
    const m = (state.m[i] = p.beta1 * state.m[i]! + (1 - p.beta1) * g);
    const v = (state.v[i] = p.beta2 * state.v[i]! + (1 - p.beta2) * g * g);
    const update = m / c1 / (Math.sqrt(v / c2) + p.eps);
    params[i] = params[i]! - p.learning_rate * update - p.learning_rate * p.weight_decay * params[i]!;
  }
  return { gradNorm };
}
