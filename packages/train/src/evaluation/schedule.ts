// When a training run evaluates, the same for the in-process and the remote trainer: each of
// eval.splits through the app's evaluator (none given: no evaluation) before the first step,
// every eval.every steps, and after the last; on resume, the evaluations a run stopped before
// (its metrics lack them). Records go to metrics (logRecord) and to hooks.onEval.
import type { TrainConfig } from '../config.js';
import type { EvalRecord, EvalStudent, StepRecord, TrainHooks } from '../records.js';
import { readMetrics, type RunDir } from '../run/run-dir.js';

/** Whether evaluations are due after step `step` (> 0): every eval.every steps, and at the last. */
export function evalDue(config: TrainConfig, step: number): boolean {
  return (config.eval.every > 0 && step % config.eval.every === 0) || step === config.steps;
}

/** The eval splits with no evaluation record of step `step` in the run's metrics. */
export async function missingEvals(run: RunDir, config: TrainConfig, step: number): Promise<Set<string>> {
  const have = new Set(
    (await readMetrics(run))
      .filter((r) => r['event'] === 'eval' && r['step'] === step)
      .map((r) => String(r['split'])),
  );
  return new Set(config.eval.splits.filter((s) => !have.has(s)));
}

export interface EvalSchedule {
  /** Evaluations made so far by this invocation. */
  readonly evals: EvalRecord[];
  /** Before the first step of this invocation (step `start`: 0, or where a resume begins). */
  atStart(start: number): Promise<void>;
  /** After step `step`, when eval.every says so (the last step waits for atEnd). */
  afterStep(step: number): Promise<void>;
  /** After the loop, when it reached the last step in this invocation. */
  atEnd(step: number, start: number): Promise<void>;
}

export function evalSchedule(o: {
  readonly config: TrainConfig;
  readonly run: RunDir;
  readonly hooks: TrainHooks;
  readonly log: (line: string) => void;
  readonly logRecord: (record: StepRecord | EvalRecord) => Promise<void>;
  /** The student as of step `step` (the remote one saves its weights for the sampler first). */
  readonly studentAt: (step: number) => Promise<EvalStudent>;
}): EvalSchedule {
  const { config, run, hooks, log } = o;
  const evals: EvalRecord[] = [];
  // `only` limits the evaluation to the splits named.
  const evaluate = async (step: number, only?: ReadonlySet<string>) => {
    const evaluator = hooks.evaluate;
    if (!evaluator) return;
    const student = await o.studentAt(step);
    for (const split of config.eval.splits) {
      if (only && !only.has(split)) continue;
      const evaluated = await evaluator(student, split, step);
      const record: EvalRecord = { ...evaluated, timestamp: evaluated.timestamp ?? new Date().toISOString() };
      evals.push(record);
      await o.logRecord(record);
      hooks.onEval?.(record);
    }
  };
  return {
    evals,
    async atStart(start) {
      if (start === 0) return evaluate(0);
      if (!hooks.evaluate || !evalDue(config, start)) return;
      // A run stopped between the checkpoint of step `start` and that step's evaluation: run the
      // evaluations the metrics lack, so curves, TensorBoard and checkpointBest see them.
      const missing = await missingEvals(run, config, start);
      if (missing.size === 0) return;
      log(`resume: evaluating step ${start} again (${[...missing].join(', ')}), cut short before`);
      await evaluate(start, missing);
    },
    async afterStep(step) {
      if (config.eval.every > 0 && step % config.eval.every === 0 && step !== config.steps)
        await evaluate(step);
    },
    async atEnd(step, start) {
      if (step === config.steps && step > start) await evaluate(step);
    },
  };
}
