// What one run of an ablation leaves (its evaluation curve, training time and gate diagnostics),
// the statistics over seeds, and the val selection of a run's checkpoint. Both the report
// (./report.ts) and the paired comparisons (./compare.ts) read runs through this module, so
// neither imports the other for it.
import type { ArmId } from './presets.js';

export interface CurvePoint {
  readonly step: number;
  /** Training seconds (evaluation excluded) when this point was evaluated. */
  readonly seconds: number;
  readonly val: number;
  readonly test: number;
  readonly counterPrior: number;
  /** Per question of test and test-counter-prior: "1" right, "0" wrong (paired comparisons). */
  readonly correct?: { readonly test: string; readonly counterPrior: string };
}

export interface RunResult {
  readonly arm: ArmId;
  readonly seed: number;
  readonly curve: readonly CurvePoint[];
  readonly trainSeconds: number;
  /** Mean gate diagnostics over the steps (gated arms only). */
  readonly gate?: {
    readonly weightStd: number;
    readonly fractionDeltaPositive: number;
    readonly deltaMean: number;
  };
  /** Negative views by the mode that actually made them, over all steps (gated arms only). */
  readonly negativeModes?: Readonly<Record<string, number>>;
  /** The settings the run was made with (training config, worlds, starting-model specs). */
  readonly key?: string;
}

export interface Stat {
  readonly mean: number;
  readonly std: number;
  readonly n: number;
}

/** Mean and sample standard deviation (0 for one value, NaN mean for none). */
export function stat(xs: readonly number[]): Stat {
  const n = xs.length;
  const mean = n ? xs.reduce((a, b) => a + b, 0) / n : Number.NaN;
  const std = n > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std, n };
}

/** The val-selected point of a run: best val accuracy, the earliest step on ties. */
export function selectOnVal(curve: readonly CurvePoint[]): CurvePoint {
  let best = curve[0];
  if (!best) throw new Error('a run has no evaluation points');
  for (const p of curve) if (p.val > best.val) best = p;
  return best;
}
