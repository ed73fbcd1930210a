// The comparisons the reading of RESULTS.md states, each as a paired difference with a 95%
// interval: a bootstrap over seeds and test questions together (the claim "measurable" rests on
// it: the interval excludes 0) and, beside it, a Student-t interval over per-seed differences.
// Both methods are taken at their val-selected step; nothing is chosen on a test split.
import { pairedBootstrap, seedDifference, type PairedDifference } from '@vzero/bench';
import { correctRow, type EvalSummary } from '../evaluation/accuracy.js';
import type { AblateArm, ArmId } from './presets.js';
import { selectOnVal, type CurvePoint, type RunResult } from './run-result.js';

/** The pairs the reading reports, when both arms ran (A minus B). */
export const COMPARISONS: readonly (readonly [ArmId, ArmId])[] = [
  ['vzero', 'base'],
  ['opd', 'base'],
  ['vzero', 'opd'],
  ['rand', 'opd'],
  ['vzero', 'rand'],
  ['vzero', 'vzero-g4'],
  ['vzero-answer', 'vzero'],
  ['vzero-self', 'vzero'],
  ['sft', 'base'],
  ['vzero', 'sft'],
  ['vzero', 'grpo'],
];

export interface Comparison {
  readonly a: ArmId;
  readonly b: ArmId;
  readonly label: string;
  readonly seeds: number;
  /** Differences in accuracy (fractions), per split: bootstrap over seeds and items, t over seeds. */
  readonly test: { readonly bootstrap: PairedDifference; readonly seeds: PairedDifference };
  readonly counterPrior: { readonly bootstrap: PairedDifference; readonly seeds: PairedDifference };
}

type SplitKey = 'test' | 'counterPrior';

/** Per-seed val-selected points of an arm, ordered by seed; Base is one point from the starting eval. */
function selectedPoints(
  arm: ArmId,
  runs: readonly RunResult[],
  base: { readonly test: EvalSummary; readonly 'test-counter-prior': EvalSummary },
): CurvePoint[] {
  if (arm === 'base') {
    return [
      {
        step: 0,
        seconds: 0,
        val: Number.NaN,
        test: base.test.accuracy,
        counterPrior: base['test-counter-prior'].accuracy,
        ...(base.test.correct !== undefined && base['test-counter-prior'].correct !== undefined
          ? { correct: { test: base.test.correct, counterPrior: base['test-counter-prior'].correct } }
          : {}),
      },
    ];
  }
  return runs
    .filter((r) => r.arm === arm)
    .sort((x, y) => x.seed - y.seed)
    .map((r) => selectOnVal(r.curve));
}

function difference(a: readonly CurvePoint[], b: readonly CurvePoint[], split: SplitKey) {
  // Base has one point: it pairs with every seed of the other arm.
  const seedsA = a.map((p) => p[split]);
  const seedsB = b.length === 1 ? a.map(() => (b[0] as CurvePoint)[split]) : b.map((p) => p[split]);
  const seeds = seedDifference(seedsA, seedsB);
  const rowsA = a.map((p) => p.correct?.[split]);
  const rowsB = b.map((p) => p.correct?.[split]);
  const complete = (rows: (string | undefined)[]): rows is string[] => rows.every((r) => r !== undefined);
  // Runs recorded before per-question results existed fall back to the seed interval.
  const bootstrap =
    complete(rowsA) && complete(rowsB)
      ? pairedBootstrap(rowsA.map(correctRow), rowsB.map(correctRow), { replicates: 2000, seed: 0 })
      : seeds;
  return { bootstrap, seeds };
}

/**
 * The pairs a spec reports: its own `comparisons`, else the paper's pairs and every arm they do
 * not name against Base, OPD and V-Zero (so a new arm always gets its paired intervals).
 */
export function comparisonPairs(
  arms: readonly AblateArm[],
  declared?: readonly (readonly [ArmId, ArmId])[],
): (readonly [ArmId, ArmId])[] {
  if (declared) return [...declared];
  const named = new Set(COMPARISONS.flat());
  const ids = new Set(arms.map((a) => a.id));
  const extra = arms
    .filter((a) => !named.has(a.id))
    .flatMap((a) =>
      (['vzero', 'opd', 'base'] as const).filter((b) => ids.has(b)).map((b) => [a.id, b] as const),
    );
  return [...COMPARISONS, ...extra];
}

/** Every listed comparison whose two arms both have results (with equal seed counts). */
export function compareArms(
  runs: readonly RunResult[],
  base: { readonly test: EvalSummary; readonly 'test-counter-prior': EvalSummary },
  arms: readonly AblateArm[],
  declared?: readonly (readonly [ArmId, ArmId])[],
): Comparison[] {
  const out: Comparison[] = [];
  const labels = new Map(arms.map((arm) => [arm.id, arm.label]));
  for (const [a, b] of comparisonPairs(arms, declared)) {
    if (!labels.has(a) || !labels.has(b)) continue;
    const pa = selectedPoints(a, runs, base);
    const pb = selectedPoints(b, runs, base);
    if (pa.length === 0 || pb.length === 0) continue;
    if (b !== 'base' && pa.length !== pb.length) continue;
    out.push({
      a,
      b,
      label: `${labels.get(a)} minus ${labels.get(b)}`,
      seeds: pa.length,
      test: difference(pa, pb, 'test'),
      counterPrior: difference(pa, pb, 'counterPrior'),
    });
  }
  return out;
}
