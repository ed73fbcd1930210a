// The training service's losses over per-position log-probs, as the Tinker API defines them
// (tinker-cookbook tutorials/202_loss_functions.py; tinker src/tinker/types/loss_fn_type.py):
// every loss is a SUM over the positions of every datum (no mean), so a caller that wants a
// mean scales its weights or advantages.
//   cross_entropy:        -sum_k weights_k * logp_k
//   importance_sampling:  -sum_k exp(logp_k - q_k) * A_k            (q: the sampler's log-probs)
//   ppo:                  -sum_k min(r_k A_k, clip(r_k, lo, hi) A_k), r_k = exp(logp_k - q_k),
//                         lo/hi from loss_fn_config clip_low_threshold / clip_high_threshold
//                         (default 0.8 / 1.2)
import * as tf from '@tensorflow/tfjs-core';
import { InvalidInputError } from '@vzero/core';

export type ServiceLoss = 'cross_entropy' | 'importance_sampling' | 'ppo';
export const SERVICE_LOSSES: readonly ServiceLoss[] = ['cross_entropy', 'importance_sampling', 'ppo'];

/** Per-position inputs of a batch of datums, [B, T] row-major (0 where a row is shorter). */
export interface LossInputs {
  readonly weights?: Float32Array;
  readonly advantages?: Float32Array;
  readonly samplingLogprobs?: Float32Array;
}

export interface PpoClip {
  readonly low: number;
  readonly high: number;
}

/** The clip thresholds of a ppo loss_fn_config (the API's defaults 0.8 and 1.2). */
export function ppoClip(config: Readonly<Record<string, number>> | undefined): PpoClip {
  const low = config?.['clip_low_threshold'] ?? 0.8;
  const high = config?.['clip_high_threshold'] ?? 1.2;
  if (!(Number.isFinite(low) && Number.isFinite(high) && low >= 0 && high >= low)) {
    throw new InvalidInputError(
      'loss_fn_config',
      config,
      'expected clip_low_threshold >= 0 and clip_high_threshold >= clip_low_threshold',
    );
  }
  return { low, high };
}

/**
 * Elementwise loss [B, T] of `lossFn` at log-probs `logp` [B, T]; the scalar loss is its sum.
 * The inputs' shapes are checked by the caller (one value per position of every datum).
 */
export function elementwiseLoss(
  lossFn: ServiceLoss,
  logp: tf.Tensor2D,
  inputs: LossInputs,
  clip: PpoClip,
): tf.Tensor2D {
  const shape = logp.shape;
  const need = (x: Float32Array | undefined, name: string): tf.Tensor2D => {
    if (!x) throw new InvalidInputError(`loss_fn_inputs.${name}`, undefined, `${lossFn} needs ${name}`);
    return tf.tensor2d(x, shape);
  };
  return tf.tidy(() => {
    if (lossFn === 'cross_entropy') return tf.neg(tf.mul(need(inputs.weights, 'weights'), logp));
    const adv = need(inputs.advantages, 'advantages');
    const ratio = tf.exp(tf.sub(logp, need(inputs.samplingLogprobs, 'logprobs')));
    if (lossFn === 'importance_sampling') return tf.neg(tf.mul(ratio, adv));
    const clipped = tf.clipByValue(ratio, clip.low, clip.high);
    return tf.neg(tf.minimum(tf.mul(ratio, adv), tf.mul(clipped, adv)));
  }) as tf.Tensor2D;
}
