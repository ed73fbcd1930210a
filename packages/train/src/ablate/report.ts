// Reducing the runs of an ablation to what RESULTS.md shows: per arm, the val-selected
// checkpoint's accuracy (mean and sample standard deviation over seeds), the accuracy curve by
// step (mean over seeds) and the training time to the selected step.
import type { EvalSummary } from '../evaluation/accuracy.js';
import type { AblatePreset, ArmId } from './presets.js';
import { compareArms, type Comparison } from './compare.js';
import { selectOnVal, stat, type CurvePoint, type RunResult, type Stat } from './run-result.js';
import { addNegativeModes } from '../tracking/negative-modes.js';

// A run's result and its statistics live in ./run-result.ts (the comparisons read them too); the
// rest of the ablation takes them from here.
export { selectOnVal, stat, type CurvePoint, type RunResult, type Stat } from './run-result.js';

export interface ArmSummary {
  readonly arm: ArmId;
  readonly label: string;
  /** Accuracy at the step chosen on val, over seeds. */
  readonly selected: {
    readonly step: Stat;
    readonly val: Stat;
    readonly test: Stat;
    readonly counterPrior: Stat;
  };
  /** Accuracy after the last step, over seeds. */
  readonly final: { readonly val: Stat; readonly test: Stat; readonly counterPrior: Stat };
  /** Training seconds to the val-selected step. */
  readonly secondsToBest: Stat;
  readonly secondsPerStep: Stat;
  readonly curve: readonly {
    readonly step: number;
    readonly val: Stat;
    readonly test: Stat;
    readonly counterPrior: Stat;
  }[];
  readonly gate?: RunResult['gate'];
  /** Negative views by the mode that made them, over steps and seeds (gated arms only). */
  readonly negativeModes?: RunResult['negativeModes'];
}

type Splits = 'val' | 'test' | 'test-counter-prior';

export interface AblateReport {
  readonly preset: AblatePreset;
  readonly seeds: number;
  readonly backend: string;
  readonly minutes: number;
  /** The command line that made the report (reports made before it was recorded lack it). */
  readonly command?: string;
  readonly splitSizes: Record<Splits, number>;
  readonly starting: {
    readonly teacher: {
      readonly positive: Record<Splits, EvalSummary>;
      readonly negative: Record<Splits, EvalSummary>;
    };
    readonly student: Record<Splits, EvalSummary>;
  };
  readonly arms: readonly ArmSummary[];
  readonly runs: readonly RunResult[];
  /** The reading's comparisons as paired differences with 95% intervals (compare.ts). */
  readonly comparisons: readonly Comparison[];
}

export function summarise(input: Omit<AblateReport, 'arms' | 'comparisons'>): AblateReport {
  const arms: ArmSummary[] = [];
  for (const { id: armId, label } of input.preset.arms) {
    if (armId === 'base') {
      const s = input.starting.student;
      const one = (x: number) => stat([x]);
      const point = {
        val: one(s.val.accuracy),
        test: one(s.test.accuracy),
        counterPrior: one(s['test-counter-prior'].accuracy),
      };
      arms.push({
        arm: armId,
        label,
        selected: { step: one(0), ...point },
        final: point,
        secondsToBest: one(0),
        secondsPerStep: one(0),
        curve: [{ step: 0, ...point }],
      });
      continue;
    }
    const runs = input.runs.filter((r) => r.arm === armId);
    if (runs.length === 0) continue;
    const chosen = runs.map((r) => selectOnVal(r.curve));
    const last = runs.map((r) => r.curve[r.curve.length - 1] as CurvePoint);
    const steps = [...new Set(runs.flatMap((r) => r.curve.map((p) => p.step)))].sort((a, b) => a - b);
    const gates = runs.flatMap((r) => (r.gate ? [r.gate] : []));
    const modes = runs.flatMap((r) => (r.negativeModes ? [r.negativeModes] : []));
    arms.push({
      arm: armId,
      label,
      selected: {
        step: stat(chosen.map((p) => p.step)),
        val: stat(chosen.map((p) => p.val)),
        test: stat(chosen.map((p) => p.test)),
        counterPrior: stat(chosen.map((p) => p.counterPrior)),
      },
      final: {
        val: stat(last.map((p) => p.val)),
        test: stat(last.map((p) => p.test)),
        counterPrior: stat(last.map((p) => p.counterPrior)),
      },
      secondsToBest: stat(chosen.map((p) => p.seconds)),
      secondsPerStep: stat(runs.map((r) => r.trainSeconds / Math.max(1, lastStep(r)))),
      curve: steps.map((step) => {
        const at = runs.flatMap((r) => r.curve.filter((p) => p.step === step));
        return {
          step,
          val: stat(at.map((p) => p.val)),
          test: stat(at.map((p) => p.test)),
          counterPrior: stat(at.map((p) => p.counterPrior)),
        };
      }),
      ...(gates.length
        ? {
            gate: {
              weightStd: stat(gates.map((g) => g.weightStd)).mean,
              fractionDeltaPositive: stat(gates.map((g) => g.fractionDeltaPositive)).mean,
              deltaMean: stat(gates.map((g) => g.deltaMean)).mean,
            },
          }
        : {}),
      ...(modes.length ? { negativeModes: addNegativeModes(modes) } : {}),
    });
  }
  const comparisons = compareArms(
    input.runs,
    input.starting.student,
    input.preset.arms,
    input.preset.comparisons,
  );
  return { ...input, arms, comparisons };
}

function lastStep(r: RunResult): number {
  return r.curve[r.curve.length - 1]?.step ?? 0;
}
