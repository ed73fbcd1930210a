// The three losses of the Tinker API, per token, as sums over a datum's positions (the service
// reports "loss:sum"). With p = the trained model's log-prob of the target token, q = the
// sampler's log-prob of it (loss input `logprobs`), r = exp(p - q), w the `weights` and A the
// `advantages`:
//   cross_entropy        l = -w p                                  dl/dp = -w
//   importance_sampling  l = -r A                                  dl/dp = -r A
//   ppo                  l = -min(r A, clip(r, lo, hi) A)          dl/dp = -r A where the first
//                        term is the smaller (or both are equal), -r A where the clipped one is
//                        and lo < r < hi, else 0; lo, hi = loss_fn_config clip_low_threshold,
//                        clip_high_threshold (default 0.8, 1.2)
// Sources: SkyRL skyrl/tinker/loss_fns.py (a9564572): cross_entropy_loss = -mask * target_logprobs,
// importance_sampling_loss = -mask * exp(target - sampling) * advantages, ppo_loss =
// -mask * minimum(ratio * adv, clip(ratio, low, high) * adv); the defaults 0.8 and 1.2 are
// skyrl/backends/jax.py _DEFAULT_PPO_CLIP_{LOW,HIGH}_THRESHOLD; the SDK's loss_fn_type.py names
// the losses and datum.py the inputs' dtypes. The cookbook (tinker_cookbook/rl/train.py,
// 9dfcc3a2) drops its `mask` input before sending: masked tokens carry advantage 0.
import { InvalidInputError } from '@vzero/core';
import type { LossFnType } from '../types.js';

export const PPO_CLIP_LOW_DEFAULT = 0.8;
export const PPO_CLIP_HIGH_DEFAULT = 1.2;

/** The per-token inputs of one datum, already checked for length. */
export interface TokenLossInputs {
  /** Sampler log-probs q (importance_sampling, ppo). */
  readonly samplingLogprobs?: readonly number[];
  readonly advantages?: readonly number[];
  /** Per-token weights (cross_entropy; default 1). */
  readonly weights?: readonly number[];
}

export interface LossConfig {
  readonly clipLow: number;
  readonly clipHigh: number;
}

const CONFIG_KEYS: Record<string, readonly string[]> = {
  cross_entropy: [],
  importance_sampling: [],
  ppo: ['clip_low_threshold', 'clip_high_threshold'],
};

/** Checks the loss is one this backend computes and reads its config. */
export function lossConfig(
  lossFn: LossFnType,
  config: Readonly<Record<string, number>> | undefined,
): LossConfig {
  const allowed = CONFIG_KEYS[lossFn];
  if (!allowed)
    throw new InvalidInputError(
      'loss_fn',
      lossFn,
      'the reference backend computes cross_entropy, importance_sampling and ppo',
    );
  for (const key of Object.keys(config ?? {})) {
    if (!allowed.includes(key))
      throw new InvalidInputError(
        `loss_fn_config.${key}`,
        config?.[key],
        `not a key of ${lossFn} (allowed: ${allowed.join(', ') || 'none'})`,
      );
  }
  const clipLow = config?.clip_low_threshold ?? PPO_CLIP_LOW_DEFAULT;
  const clipHigh = config?.clip_high_threshold ?? PPO_CLIP_HIGH_DEFAULT;
  if (!(clipLow <= clipHigh))
    throw new InvalidInputError(
      'loss_fn_config.clip_low_threshold',
      clipLow,
      `must not exceed clip_high_threshold ${clipHigh}`,
    );
  return { clipLow, clipHigh };
}

/** The loss of token t and its derivative with respect to the token's log-prob p. */
export function tokenLoss(
  lossFn: LossFnType,
  p: number,
  t: number,
  inputs: TokenLossInputs,
  config: LossConfig,
): { loss: number; dp: number } {
  switch (lossFn) {
    case 'cross_entropy': {
      const w = inputs.weights?.[t] ?? 1;
      return { loss: -w * p, dp: -w };
    }
    case 'importance_sampling': {
      const a = inputs.advantages![t]!;
      const r = Math.exp(p - inputs.samplingLogprobs![t]!);
      return { loss: -r * a, dp: -r * a };
    }
    case 'ppo': {
      const a = inputs.advantages![t]!;
      const r = Math.exp(p - inputs.samplingLogprobs![t]!);
      const clipped = Math.min(Math.max(r, config.clipLow), config.clipHigh);
      const unclippedTerm = r * a;
      const clippedTerm = clipped * a;
      if (unclippedTerm <= clippedTerm) return { loss: -unclippedTerm, dp: -r * a };
      const inside = r > config.clipLow && r < config.clipHigh;
      return { loss: -clippedTerm, dp: inside ? -r * a : 0 };
    }
    default:
      throw new InvalidInputError('loss_fn', lossFn, 'not computed by the reference backend');
  }
}

/** The loss inputs each loss needs, beyond target_tokens. */
export function requiredInputs(lossFn: LossFnType): readonly string[] {
  return lossFn === 'cross_entropy' ? [] : ['logprobs', 'advantages'];
}
