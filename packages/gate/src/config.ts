// The gate's settings. Two named presets because the paper's equation (alpha 1) and the
// reference code's default (alpha 0.5) differ; every field can be overridden on top of either.
import { InvalidInputError, resolveConfig } from '@vzero/core';

export interface GateConfig {
  /** Strength of the advantage: w = clip(1 + alpha * a, wMin, wMax). */
  readonly alpha: number;
  /** Penalty on negative evidence: score = relu(delta) - gamma * relu(-delta); must be >= 0. */
  readonly gamma: number;
  /** Lower clip of the weight. */
  readonly wMin: number;
  /** Upper clip of the weight; must be >= wMin. */
  readonly wMax: number;
  /** Guards the length normalisation and the std division; must be > 0. */
  readonly eps: number;
}

/** The named presets of gateConfig (GATE_PRESETS holds their settings). */
export const GATE_PRESET_NAMES = ['paper', 'reference'] as const;
export type GatePreset = (typeof GATE_PRESET_NAMES)[number];

export const GATE_PRESETS: Readonly<Record<GatePreset, GateConfig>> = Object.freeze({
  /** The paper's equation: alpha 1. */
  paper: Object.freeze({ alpha: 1, gamma: 1, wMin: 0, wMax: 2, eps: 1e-6 }),
  /** The reference code's default: alpha 0.5. */
  reference: Object.freeze({ alpha: 0.5, gamma: 1, wMin: 0, wMax: 2, eps: 1e-6 }),
});

/** The default preset: the reference code's (alpha 0.5). */
export const DEFAULT_GATE_PRESET: GatePreset = 'reference';

/** The default configuration: the reference code's (alpha 0.5). */
export const DEFAULT_GATE_CONFIG: GateConfig = GATE_PRESETS[DEFAULT_GATE_PRESET];

/**
 * A preset (default 'reference') with `overrides` applied and checked. Unknown keys throw
 * UnknownKeyError; a non-finite value, gamma < 0, wMin > wMax or eps <= 0 throws
 * InvalidInputError naming the field ("gate.gamma").
 */
export function gateConfig(
  preset: GatePreset = DEFAULT_GATE_PRESET,
  overrides?: Partial<GateConfig>,
): GateConfig {
  if (!Object.prototype.hasOwnProperty.call(GATE_PRESETS, preset)) {
    throw new InvalidInputError(
      'gate.preset',
      preset,
      `expected one of ${Object.keys(GATE_PRESETS).join(', ')}`,
    );
  }
  const config = resolveConfig(GATE_PRESETS[preset], overrides, 'gate');
  validateGateConfig(config);
  return Object.freeze(config);
}

/** Throws InvalidInputError naming the first bad field of `config`. */
export function validateGateConfig(config: GateConfig): void {
  for (const key of ['alpha', 'gamma', 'wMin', 'wMax', 'eps'] as const) {
    const value: unknown = config[key];
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new InvalidInputError(`gate.${key}`, value, 'expected a finite number');
    }
  }
  if (config.gamma < 0) throw new InvalidInputError('gate.gamma', config.gamma, 'expected a number >= 0');
  if (config.eps <= 0) throw new InvalidInputError('gate.eps', config.eps, 'expected a number > 0');
  if (config.wMin > config.wMax) {
    throw new InvalidInputError('gate.wMin', config.wMin, `expected wMin <= wMax (wMax = ${config.wMax})`);
  }
}
