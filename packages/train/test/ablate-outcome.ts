// What an ablation report says of its runs, without the timings: two reports with equal outcomes
// made the same runs (the ablation tests compare scheduling variants with it).
import type { AblateReport } from '../src/ablate/report.js';

export const outcome = (r: AblateReport) =>
  r.runs.map((run) => ({
    arm: run.arm,
    seed: run.seed,
    curve: run.curve.map(({ step, val, test, counterPrior, correct }) => ({
      step,
      val,
      test,
      counterPrior,
      correct,
    })),
    gate: run.gate,
    negativeModes: run.negativeModes,
  }));
