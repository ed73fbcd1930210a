// What a training run works with, built from its config: the student, the teacher when the
// method needs one (methods/: a local checkpoint, the student's own weights, or a server), the
// optimizer, the loss settings and the prompt views. release() frees what the run does not hand
// back (all but the student).
import { deriveSeed, type Policy } from '@vzero/core';
import { opdLossConfig, type OpdLossConfig } from '@vzero/opd-loss';
import type { TrainConfig } from './config.js';
import { methodSpec } from './methods/index.js';
import { loadPolicy, type LoadedPolicy } from './models.js';
import { AdamW, type AdamWConfig } from './optim.js';
import { PromptFactory } from './prompts.js';
import { SelfTeacher } from './self-teacher.js';
import type { StepContext } from './steps/context.js';
import { connectTeacher } from './teacher-server.js';
import { InspectRecorder } from './tracking/inspect-record.js';
import type { RunDir } from './run/run-dir.js';

export interface RunSetup {
  readonly student: LoadedPolicy;
  /** The step context (prompt views and the inspect recorder built here, so a failure is released). */
  readonly context: () => StepContext;
  /** Frees the optimizer and the teacher's models. */
  readonly release: () => void;
}

/** The OPD loss settings of a train config (loss.*). */
export function trainLossConfig(config: TrainConfig): OpdLossConfig {
  return opdLossConfig({
    estimator: config.loss.estimator,
    mode: config.loss.mode,
    aggregation: config.loss.aggregation,
    clamp: config.loss.clamp,
  });
}

/** The AdamW settings of a train config (optim.*). */
export function trainOptimizerConfig(config: TrainConfig): AdamWConfig {
  return {
    lr: config.optim.lr,
    beta1: config.optim.beta1,
    beta2: config.optim.beta2,
    eps: config.optim.eps,
    weightDecay: config.optim.weightDecay,
    gradClip: config.optim.gradClip,
  };
}

export async function setupRun(
  config: TrainConfig,
  run: RunDir,
  log: (line: string) => void,
): Promise<RunSetup> {
  const student = await loadPolicy(config.models.student, 'models.student', 'student');
  const needsTeacher = methodSpec(config.method).teacher !== undefined;
  const self =
    needsTeacher && config.models.selfTeacher !== 'off'
      ? await SelfTeacher.load(config.models.student, config.models.selfTeacher, config.models.selfTeacherEma)
      : undefined;
  const local =
    needsTeacher && !self && !config.models.teacherUrl
      ? await loadPolicy(config.models.teacher, 'models.teacher', 'teacher', student.tokenizer.id)
      : undefined;
  const teacher: Policy | undefined =
    self?.policy ?? local?.policy ?? (needsTeacher ? await connectTeacher(config, log) : undefined);
  const lossConfig = trainLossConfig(config);
  const optimizer = new AdamW(student.model.trainableVariables, trainOptimizerConfig(config));
  const context = (): StepContext => {
    const prompts = new PromptFactory(student.model.config, local?.model.config, {
      negative: config.views.negative,
      factor: config.views.factor,
      padding: config.views.padding,
      seed: deriveSeed(config.seed, 'views'),
      // A remote teacher receives images as PNG data URLs; local models read pixels.
      encode: local === undefined && self === undefined && teacher !== undefined,
      cropSize: config.views.cropSize,
      ...(self ? { teacherCropOnly: true } : {}),
    });
    const inspect =
      needsTeacher && config.inspect.every > 0 ? new InspectRecorder(run.root, config.inspect) : undefined;
    return { config, student, teacher, self, optimizer, prompts, lossConfig, inspect };
  };
  const release = () => {
    optimizer.dispose();
    local?.model.dispose();
    self?.dispose();
  };
  return { student, context, release };
}
