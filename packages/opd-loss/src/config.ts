// The loss's settings. Defaults are the reference launcher's: k1 estimator as a policy-gradient
// advantage, token-mean aggregation, per-token clamp 10, PPO clip 0.2/0.2, dual clip 3.
import { InvalidInputError, resolveConfig } from '@vzero/core';

export const ESTIMATORS = ['k1', 'abs', 'k2', 'k3', 'forward-kl-topk'] as const;
/** Per-token divergence between student (s) and positive-view teacher (t). */
export type Estimator = (typeof ESTIMATORS)[number];

export const LOSS_MODES = ['pg', 'direct'] as const;
/** 'pg': the estimator is a detached advantage in a PPO surrogate; 'direct': it is the loss. */
export type LossMode = (typeof LOSS_MODES)[number];

export const AGGREGATIONS = [
  'token-mean',
  'seq-mean-token-mean',
  'seq-mean-token-sum',
  'seq-mean-token-sum-norm',
] as const;
/** How per-token losses of a [B, T] batch become one scalar. */
export type Aggregation = (typeof AGGREGATIONS)[number];

export interface OpdLossConfig {
  readonly estimator: Estimator;
  readonly mode: LossMode;
  readonly aggregation: Aggregation;
  /** The per-token estimator value is clamped to [-clamp, clamp] before weighting. */
  readonly clamp: number;
  /** PPO clip: the ratio is clipped to [1 - clipLow, 1 + clipHigh]. */
  readonly clipLow: number;
  readonly clipHigh: number;
  /** Dual clip (> 1): for negative advantages the surrogate is capped at -A * dualClip. */
  readonly dualClip: number;
  /** log(new/old) is clamped to [-logRatioClamp, logRatioClamp] before exp. */
  readonly logRatioClamp: number;
  /**
   * Divisor of 'seq-mean-token-sum-norm'; undefined means T, the padded response length of the
   * batch (the reference's default). Set it to the response cap (e.g. 2048) to keep it constant.
   */
  readonly lossScaleFactor: number | undefined;
}

export const DEFAULT_OPD_LOSS_CONFIG: OpdLossConfig = Object.freeze({
  estimator: 'k1',
  mode: 'pg',
  aggregation: 'token-mean',
  clamp: 10,
  clipLow: 0.2,
  clipHigh: 0.2,
  dualClip: 3,
  logRatioClamp: 20,
  lossScaleFactor: undefined,
});

/** The defaults with `overrides` applied and checked (unknown keys, bad values, bad pairs). */
export function opdLossConfig(overrides?: Partial<OpdLossConfig>): OpdLossConfig {
  const config = resolveConfig(DEFAULT_OPD_LOSS_CONFIG, overrides, 'opdLoss');
  validateOpdLossConfig(config);
  return Object.freeze(config);
}

/** Throws InvalidInputError naming the first bad field ("opdLoss.clipLow"). */
export function validateOpdLossConfig(config: OpdLossConfig): void {
  oneOf('estimator', config.estimator, ESTIMATORS);
  oneOf('mode', config.mode, LOSS_MODES);
  oneOf('aggregation', config.aggregation, AGGREGATIONS);
  positive('clamp', config.clamp);
  finite('clipLow', config.clipLow);
  if (config.clipLow < 0 || config.clipLow >= 1) {
    throw new InvalidInputError('opdLoss.clipLow', config.clipLow, 'expected a number in [0, 1)');
  }
  finite('clipHigh', config.clipHigh);
  if (config.clipHigh < 0)
    throw new InvalidInputError('opdLoss.clipHigh', config.clipHigh, 'expected a number >= 0');
  finite('dualClip', config.dualClip);
  if (config.dualClip <= 1) {
    throw new InvalidInputError(
      'opdLoss.dualClip',
      config.dualClip,
      'expected a number > 1 (the dual clip must exceed the ratio 1)',
    );
  }
  positive('logRatioClamp', config.logRatioClamp);
  if (config.lossScaleFactor !== undefined) positive('lossScaleFactor', config.lossScaleFactor);
  if (config.mode === 'direct' && config.estimator === 'k1') {
    throw new InvalidInputError(
      'opdLoss.estimator',
      'k1',
      'k1 cannot be used in direct mode: its gradient d(s - t)/ds = 1 ignores the teacher and only pushes ' +
        'down the log-prob of every sampled token; use mode "pg" (the reference) or estimator k2, k3 or abs',
    );
  }
  if (config.mode === 'pg' && config.estimator === 'forward-kl-topk') {
    throw new InvalidInputError(
      'opdLoss.mode',
      'pg',
      'forward-kl-topk is direct-only: it is a full-distribution divergence whose gradient flows through the ' +
        'student\'s top-K log-probs, not a per-sampled-token advantage; use mode "direct"',
    );
  }
}

function oneOf(key: string, value: unknown, allowed: readonly string[]): void {
  if (typeof value !== 'string' || !allowed.includes(value)) {
    throw new InvalidInputError(`opdLoss.${key}`, value, `expected one of ${allowed.join(', ')}`);
  }
}

function finite(key: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new InvalidInputError(`opdLoss.${key}`, value, 'expected a finite number');
  }
}

function positive(key: string, value: unknown): void {
  finite(key, value);
  if ((value as number) <= 0) throw new InvalidInputError(`opdLoss.${key}`, value, 'expected a number > 0');
}
