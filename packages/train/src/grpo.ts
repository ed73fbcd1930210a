// The GRPO baseline's pieces: a verifiable reward from the answer (the only place answers enter
// training), group-normalised advantages, and the PPO clipped surrogate with a per-sequence
// advantage. Used for comparison with V-Zero, which needs no answers.
import * as tf from '@tensorflow/tfjs-core';
import type { LabelledSample } from '@vzero/core';
import { extractAnswer } from '@vzero/bench';
import { aggregateLoss, detach, ppoSurrogate, type OpdLossConfig } from '@vzero/opd-loss';

/** 1 when the response commits to the correct option, else 0. */
export function rewardOf(text: string, sample: LabelledSample): number {
  return extractAnswer(text, sample.options)?.letter === sample.answer ? 1 : 0;
}

/** (r - mean) / (std + eps) within each group, std unbiased as in verl's GRPO; 0 for singletons. */
export function groupAdvantages(rewards: readonly (readonly number[])[], eps = 1e-6): number[][] {
  return rewards.map((group) => {
    const n = group.length;
    if (n < 2) return group.map(() => 0);
    const mean = group.reduce((a, b) => a + b, 0) / n;
    const std = Math.sqrt(group.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
    return group.map((r) => (r - mean) / (std + eps));
  });
}

/** PPO clipped surrogate over [B, T] log-probs with one advantage per sequence, aggregated as configured. */
export function grpoLoss(
  logprobs: tf.Tensor2D,
  oldLogprobs: tf.Tensor2D,
  advantages: tf.Tensor1D,
  mask: tf.Tensor2D,
  config: OpdLossConfig,
): tf.Scalar {
  return tf.tidy(() => {
    const valid = tf.cast(mask, 'bool');
    const zeros = tf.zerosLike(logprobs);
    const clean = (x: tf.Tensor2D) => tf.where(valid, x, zeros) as tf.Tensor2D;
    const logRatio = tf.clipByValue(
      tf.sub(clean(logprobs), detach(clean(oldLogprobs))),
      -config.logRatioClamp,
      config.logRatioClamp,
    );
    const advantage = detach(tf.mul(tf.reshape(advantages, [-1, 1]), tf.onesLike(logprobs)) as tf.Tensor2D);
    const { loss } = ppoSurrogate(tf.exp(logRatio) as tf.Tensor2D, advantage, config);
    return aggregateLoss(clean(loss), mask, config.aggregation, config.lossScaleFactor);
  });
}
