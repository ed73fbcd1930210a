// V-Zero and OPD with the student at a training service: the in-process trainer's step with
// the service in place of the local model; it runs the methods whose spec names it (`remote:
// 'opd'`, methods/). Views, rollouts' seeds, teacher replay, the gate and the loss are the
// toolkit's own (the same functions as methods/opd.ts); the student's
// forward/backward passes and Adam steps run at the service (remote/update.ts), and rollouts
// come from its sampler after each save_weights_for_sampler. The run folder holds metrics,
// curves and remote-state.json: the service's saved state (a tinker:// path) at the last
// checkpoint, which --resume loads back.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  InvalidInputError,
  deriveSeed,
  writeFileAtomic,
  type LabelFreeSample,
  type Policy,
} from '@vzero/core';
import { rolloutStats } from '@vzero/rollout';
import type { AdamParamsInput } from '@vzero/tinker';
import { loadLabelFree } from '@vzero/world';
import { checkTrainConfig, type TrainConfig } from '../config.js';
import { batchIndices } from '../data-order.js';
import { loadPolicy } from '../models.js';
import { PromptFactory, type ImageSlots } from '../prompts.js';
import type { EvalRecord, EvalStudent, StepRecord, TrainHooks } from '../records.js';
import {
  appendMetrics,
  prepareRunDir,
  truncateMetrics,
  type ResumeOptions,
  type RunDir,
} from '../run/run-dir.js';
import { trainLossConfig } from '../run-setup.js';
import { methodSpec, readsNegativeView, registeredMethods } from '../methods/index.js';
import { meanMetrics, opdForward, rolloutRecord } from '../methods/opd.js';
import { now, throughput } from '../steps/context.js';
import { connectTeacher } from '../teacher-server.js';
import { setupTensors } from '../tensors.js';
import { RunTracker } from '../tracking/tracker.js';
import { RunInterruptedError } from '../trainer.js';
import { evalSchedule } from '../evaluation/schedule.js';
import { remoteUpdate } from './update.js';
import { RemoteStudent, TINKER_SCHEME, remoteTeacherRenderer } from './student.js';
import { TinkerTeacherPolicy } from './teacher.js';

const isTinkerPath = (p: string) => p.startsWith(TINKER_SCHEME);

export const REMOTE_STATE_FILE = 'remote-state.json';

/** What --resume reads: the service's saved state at the last checkpoint. */
export interface RemoteState {
  readonly step: number;
  /** tinker:// path of save_weights (weights and optimizer state). */
  readonly statePath: string;
  readonly baseUrl: string;
  readonly modelId: string;
}

export interface RemoteTrainResult {
  readonly steps: number;
  readonly resumedFrom: number;
  readonly records: StepRecord[];
  /** Evaluations of this invocation (hooks.evaluate given: before training, every eval.every steps, at the end). */
  readonly evals: EvalRecord[];
  readonly run: RunDir;
  /** The service's state after the last step (tinker://.../weights/final): train on from it. */
  readonly finalState: string;
  /** Sampler weights after the last step (tinker://.../sampler_weights/final): evaluate them. */
  readonly finalSampler: string;
}

/** The Adam parameters of a train config (optim.*, as the in-process AdamW takes them). */
export function remoteAdam(config: TrainConfig): AdamParamsInput {
  return {
    learning_rate: config.optim.lr,
    beta1: config.optim.beta1,
    beta2: config.optim.beta2,
    eps: config.optim.eps,
    weight_decay: config.optim.weightDecay,
    grad_clip_norm: config.optim.gradClip,
  };
}

export async function trainRemote(
  config: TrainConfig,
  options: { resume?: boolean | ResumeOptions; hooks?: TrainHooks } = {},
): Promise<RemoteTrainResult> {
  checkTrainConfig(config);
  const method = methodSpec(config.method);
  if (method.remote !== 'opd') {
    const remote = registeredMethods().filter((m) => m.remote === 'opd');
    throw new InvalidInputError(
      'method',
      config.method,
      `a student at a training service trains with ${remote.map((m) => m.name).join(' or ')}`,
    );
  }
  const hooks = options.hooks ?? {};
  const log = hooks.log ?? (() => {});
  await setupTensors(log);
  const resume = options.resume === true ? { log } : (options.resume ?? false);
  const run = await prepareRunDir(config.out, config, resume, { lock: { command: 'train', log } });
  try {
    return await trainRemoteLocked(config, run, resume !== false, hooks, log);
  } finally {
    await run.lock?.release();
  }
}

async function trainRemoteLocked(
  config: TrainConfig,
  run: RunDir,
  resuming: boolean,
  hooks: TrainHooks,
  log: (line: string) => void,
): Promise<RemoteTrainResult> {
  const samples = await loadLabelFree(config.data.dir, config.data.split);
  const data: LabelFreeSample[] = config.data.limit > 0 ? samples.slice(0, config.data.limit) : samples;
  const student = await RemoteStudent.connect(config, log);
  const gated = readsNegativeView(methodSpec(config.method));
  const remoteTeacher = isTinkerPath(config.models.teacher)
    ? await remoteTeacherRenderer(config, student.parts)
    : undefined;
  const local =
    config.models.teacherUrl || remoteTeacher
      ? undefined
      : await loadPolicy(config.models.teacher, 'models.teacher', 'teacher', student.parts.tokenizer.id);
  try {
    const teacher: Policy =
      local?.policy ??
      (remoteTeacher
        ? await TinkerTeacherPolicy.connect(
            student.service,
            config.models.teacher.slice(TINKER_SCHEME.length),
            remoteTeacher.renderer,
          )
        : await connectTeacher(config, log));
    if (remoteTeacher) log(`teacher at ${config.tinker.baseUrl}: ${config.models.teacher}`);
    const studentSlots: ImageSlots = {
      images: [{ role: 'full', size: student.parts.imageSize }],
    };
    const prompts = new PromptFactory(studentSlots, local?.model.config ?? remoteTeacher?.modelConfig, {
      negative: config.views.negative,
      factor: config.views.factor,
      padding: config.views.padding,
      seed: deriveSeed(config.seed, 'views'),
      // The service reads images as PNG; a local teacher reads the same pixels.
      encode: true,
      cropSize: config.views.cropSize,
    });
    const lossConfig = trainLossConfig(config);
    const adam = remoteAdam(config);

    let start = 0;
    const stateFile = join(run.root, REMOTE_STATE_FILE);
    if (resuming && existsSync(stateFile)) {
      const state = JSON.parse(await readFile(stateFile, 'utf8')) as RemoteState;
      await student.loadState(state.statePath);
      start = state.step;
      const dropped = await truncateMetrics(run, start);
      log(
        `resumed from step ${start}: ${state.statePath} at ${state.baseUrl}` +
          (dropped.after > 0 ? ` (${dropped.after} metric lines after it dropped)` : ''),
      );
    } else if (resuming) {
      await truncateMetrics(run, 0);
      log(`no ${REMOTE_STATE_FILE} in ${run.root}: starting from step 0`);
    }
    const tracker = await RunTracker.open(run);
    const records: StepRecord[] = [];
    const logRecord = async (record: StepRecord | EvalRecord) => {
      await appendMetrics(run, record as unknown as Record<string, unknown>);
      tracker.record(record as unknown as Record<string, unknown>);
    };

    // The sampler holds the weights after `samplerAt` updates; rollouts of step s need those after
    // s - 1, an evaluation after step s those after s (saved once, used by both).
    let samplerAt = -1;
    const samplerAfter = async (updates: number) => {
      if (samplerAt === updates) return;
      await student.refreshSampler(`step-${updates + 1}`);
      samplerAt = updates;
    };
    // The student as an evaluation sees it: the service's sampler, prompts with PNG images.
    const evalStudent: EvalStudent = { policy: student.policy, imageSlots: studentSlots, encodeImages: true };
    const schedule = evalSchedule({
      config,
      run,
      hooks,
      log,
      logRecord,
      studentAt: async (step) => {
        await samplerAfter(step);
        return evalStudent;
      },
    });
    await schedule.atStart(start);
    const save = async (step: number) => {
      const statePath = await student.saveState(`step-${step}`);
      const state: RemoteState = {
        step,
        statePath,
        baseUrl: config.tinker.baseUrl,
        modelId: student.training.modelId,
      };
      await writeFileAtomic(stateFile, JSON.stringify(state, null, 2) + '\n');
    };

    let step = start;
    while (step < config.steps) {
      step++;
      const time: Record<string, number> = {};
      let t = now();
      await samplerAfter(step - 1);
      time['sampler'] = now() - t;
      const rows = batchIndices(data.length, config.optim.promptsPerStep, step, config.seed);
      const batch = rows.map((r) => data[r] as LabelFreeSample);

      const { built, groups, trajectories, scores, gate, weights, negativeFallbacks, negativeModes } =
        await opdForward(
          {
            config,
            step,
            samples: batch,
            gated,
            prompts,
            student: student.policy,
            tokenizer: student.parts.tokenizer,
            teacher,
          },
          time,
        );

      t = now();
      const promptById = new Map(built.map((b) => [b.student.id, b.student]));
      const update = await remoteUpdate(
        student,
        trajectories,
        promptById,
        scores,
        gate?.tokenWeights ?? weights,
        lossConfig,
        config.optim.miniBatches,
        adam,
      );
      time['update'] = now() - t;
      time['total'] = Object.values(time).reduce((a, b) => a + b, 0);
      const stats = rolloutStats(groups);
      const record: StepRecord = {
        step,
        method: config.method,
        loss: update.loss,
        gradNorm: update.gradNorm,
        opd: meanMetrics(update.metrics),
        ...(gate ? { gate: gate.diagnostics } : {}),
        rollout: rolloutRecord(stats),
        negativeFallbacks,
        ...(negativeModes ? { negativeModes } : {}),
        time,
        tokensPerSecond: throughput(time, stats.tokens),
        lr: config.optim.lr,
        timestamp: new Date().toISOString(),
      };
      records.push(record);
      await logRecord(record);
      hooks.onStep?.(record);
      const aborted = hooks.signal?.aborted ?? false;
      if (
        (config.checkpointEvery > 0 && step % config.checkpointEvery === 0) ||
        step === config.steps ||
        aborted
      ) {
        await save(step);
      }
      if (aborted) {
        await tracker.writeArtifacts();
        throw new RunInterruptedError(run.root, step, String(hooks.signal?.reason ?? 'aborted'));
      }
      await schedule.afterStep(step);
    }
    await schedule.atEnd(step, start);
    await tracker.writeArtifacts();
    const finalState = await student.saveState('final');
    const finalSampler = await student.refreshSampler('final');
    await writeFileAtomic(
      join(run.root, 'student.json'),
      JSON.stringify({ finalState, finalSampler, baseUrl: config.tinker.baseUrl, steps: step }, null, 2) +
        '\n',
    );
    log(`student at the service: state ${finalState}, sampler ${finalSampler}`);
    return { steps: step, resumedFrom: start, records, evals: schedule.evals, run, finalState, finalSampler };
  } finally {
    local?.model.dispose();
    student.close();
  }
}
