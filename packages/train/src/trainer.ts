// The training loop: each step runs the method's step (methods/, through the registry: rollout
// -> teacher replay -> gate -> loss -> AdamW for V-Zero and OPD; the SFT and GRPO baselines; any
// registered method), logs its record, checkpoints and evaluates on schedule. Metrics go to metrics.jsonl, checkpoints are atomic,
// and a resumed run reproduces the uninterrupted one (the data and seeds of step s depend only on s).
import { join } from 'node:path';
import { VZeroError } from '@vzero/core';
import { saveCheckpoint as saveModel } from '@vzero/model';
import { checkTrainConfig, type TrainConfig } from './config.js';
import { checkpoint, restore } from './run/checkpoint.js';
import { batchIndices } from './data-order.js';
import type { LoadedPolicy } from './models.js';
import {
  localEvalStudent,
  type EvalRecord,
  type StepRecord,
  type TrainHooks,
  type TrainResult,
} from './records.js';
import { resumeRun } from './run/resume.js';
import { appendMetrics, prepareRunDir, type ResumeOptions, type RunDir } from './run/run-dir.js';
import { evalSchedule } from './evaluation/schedule.js';
import { setupRun } from './run-setup.js';
import { methodStep } from './steps/index.js';
import { setupTensors } from './tensors.js';
import { RunTracker } from './tracking/tracker.js';

export type { EvalRecord, EvalStudent, StepRecord, TrainHooks, TrainResult } from './records.js';

/**
 * The run was stopped by its signal (SIGINT, SIGTERM) after a checkpoint of step `step`; no
 * final student/ was written. `reason` is the signal's reason (the signal name from the CLI).
 */
export class RunInterruptedError extends VZeroError {
  readonly step: number;
  readonly reason: string;
  constructor(out: string, step: number, reason: string) {
    super(
      'RUN_INTERRUPTED',
      `${out}: stopped (${reason}) after step ${step}, checkpointed; continue with --resume`,
    );
    this.step = step;
    this.reason = reason;
  }
}

export async function train(
  config: TrainConfig,
  options: { resume?: boolean | ResumeOptions; hooks?: TrainHooks } = {},
): Promise<TrainResult> {
  // Every section (each registered method's too) is checked before anything is loaded or written.
  checkTrainConfig(config);
  const hooks = options.hooks ?? {};
  const log = hooks.log ?? (() => {});
  await setupTensors(log);
  const resume = options.resume === true ? { log } : (options.resume ?? false);
  const run = await prepareRunDir(config.out, config, resume, { lock: { command: 'train', log } });
  try {
    return await trainLocked(config, run, options, hooks, log);
  } finally {
    await run.lock?.release();
  }
}

async function trainLocked(
  config: TrainConfig,
  run: RunDir,
  options: { resume?: boolean | ResumeOptions },
  hooks: TrainHooks,
  log: (line: string) => void,
): Promise<TrainResult> {
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
    const logRecord = async (record: StepRecord | EvalRecord) => {
      await appendMetrics(run, record as unknown as Record<string, unknown>);
      tracker.record(record as unknown as Record<string, unknown>);
    };
    const schedule = evalSchedule({
      config,
      run,
      hooks,
      log,
      logRecord,
      studentAt: () => Promise.resolve(localEvalStudent(student)),
    });
    await schedule.atStart(start);
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
      if (aborted) {
        // The evaluation due at this step runs on --resume (it finds the step's records missing).
        await tracker.writeArtifacts();
        throw new RunInterruptedError(run.root, step, abortReason(hooks.signal));
      }
      await schedule.afterStep(step);
    }
    await schedule.atEnd(step, start);
    await tracker.writeArtifacts();
    if (hooks.signal?.aborted) throw new RunInterruptedError(run.root, step, abortReason(hooks.signal));
    await saveFinalStudent(run, student, step, config.method);
    return { steps: step, resumedFrom: start, records, evals: schedule.evals, run, student };
  } catch (error) {
    student.model.dispose();
    throw error;
  } finally {
    setup.release();
  }
}

function abortReason(signal: AbortSignal | undefined): string {
  const reason: unknown = signal?.reason;
  return typeof reason === 'string' ? reason : 'interrupted';
}

/** Every checkpointEvery steps, and at the last step. */
function checkpointDue(config: TrainConfig, step: number): boolean {
  return (config.checkpointEvery > 0 && step % config.checkpointEvery === 0) || step === config.steps;
}

async function saveFinalStudent(run: RunDir, student: LoadedPolicy, step: number, method: string) {
  await saveModel(join(run.root, 'student'), student.model, student.tokenizer, { step, method });
}
