// The training loop: each step runs the method's step (steps/: rollout -> teacher replay ->
// gate -> loss -> AdamW for V-Zero and OPD; the SFT and GRPO baselines), logs its record,
// checkpoints and evaluates on schedule. Metrics go to metrics.jsonl, checkpoints are atomic,
// and a resumed run reproduces the uninterrupted one (the data and seeds of step s depend only on s).
import { join } from 'node:path';
import { saveCheckpoint as saveModel } from '@vzero/model';
import type { TrainConfig } from './config.js';
import { checkpoint, restore } from './checkpoint.js';
import { batchIndices } from './data-order.js';
import type { LoadedPolicy } from './models.js';
import type { EvalRecord, StepRecord, TrainHooks, TrainResult } from './records.js';
import { resumeRun } from './resume.js';
import { appendMetrics, prepareRunDir, type ResumeOptions, type RunDir } from './run-dir.js';
import { setupRun } from './run-setup.js';
import { methodStep } from './steps/index.js';
import { setupTensors } from './tensors.js';
import { RunTracker } from './tracking/tracker.js';

export type { EvalRecord, StepRecord, TrainHooks, TrainResult } from './records.js';

export async function train(
  config: TrainConfig,
  options: { resume?: boolean | ResumeOptions; hooks?: TrainHooks } = {},
): Promise<TrainResult> {
  const hooks = options.hooks ?? {};
  const log = hooks.log ?? (() => {});
  await setupTensors(log);
  const resume = options.resume === true ? { log } : (options.resume ?? false);
  const run = await prepareRunDir(config.out, config, resume);
  const setup = await setupRun(config, run, log);
  const student = setup.student;
  try {
    const ctx = setup.context();
    const start = options.resume ? await resumeRun(run, (folder) => restore(ctx, folder), log) : 0;
    // TensorBoard event file, curves and CSV next to metrics.jsonl (rebuilt from it on resume).
    const tracker = await RunTracker.open(run);
    await ctx.inspect?.truncate(start);
    const method = await methodStep(config);
    const records: StepRecord[] = [];
    const evals: EvalRecord[] = [];
    const logRecord = async (record: StepRecord | EvalRecord) => {
      await appendMetrics(run, record as unknown as Record<string, unknown>);
      tracker.record(record as unknown as Record<string, unknown>);
    };
    // Each of eval.splits through the app's evaluator (none given: no evaluation).
    const evaluate = async (step: number) => {
      if (!hooks.evaluate) return;
      for (const split of config.eval.splits) {
        const evaluated = await hooks.evaluate(student, split, step);
        const record: EvalRecord = {
          ...evaluated,
          timestamp: evaluated.timestamp ?? new Date().toISOString(),
        };
        evals.push(record);
        await logRecord(record);
        hooks.onEval?.(record);
      }
    };

    if (start === 0) await evaluate(0);
    let step = start;
    while (step < config.steps) {
      step++;
      const rows = batchIndices(method.samples, config.optim.promptsPerStep, step, config.seed);
      const result = await method.run(ctx, step, rows);
      // No schedule: every step uses optim.lr (logged so that curves and trackers show it).
      const record: StepRecord = { ...result, lr: config.optim.lr, timestamp: new Date().toISOString() };
      records.push(record);
      await logRecord(record);
      hooks.onStep?.(record);
      const aborted = hooks.signal?.aborted ?? false;
      if (checkpointDue(config, step) || aborted) {
        await checkpoint(ctx, run, step);
        // Curves and CSV follow the checkpoints of a long run (the end writes them anyway).
        if (step !== config.steps && !aborted) await tracker.writeArtifacts();
      }
      if (config.eval.every > 0 && step % config.eval.every === 0 && step !== config.steps)
        await evaluate(step);
      if (aborted) {
        log(`stopped after step ${step}; continue with --resume`);
        break;
      }
    }
    if (step === config.steps && step > start) await evaluate(step);
    await tracker.writeArtifacts();
    await saveFinalStudent(run, student, step, config.method);
    return { steps: step, resumedFrom: start, records, evals, run, student };
  } catch (error) {
    student.model.dispose();
    throw error;
  } finally {
    setup.release();
  }
}

/** Every checkpointEvery steps, and at the last step. */
function checkpointDue(config: TrainConfig, step: number): boolean {
  return (config.checkpointEvery > 0 && step % config.checkpointEvery === 0) || step === config.steps;
}

async function saveFinalStudent(run: RunDir, student: LoadedPolicy, step: number, method: string) {
  await saveModel(join(run.root, 'student'), student.model, student.tokenizer, { step, method });
}
