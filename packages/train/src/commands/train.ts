// `vzero train --config FILE [--set key=value ...] [--resume]`.
import { join } from 'node:path';
import { loadLabelled } from '@vzero/world';
import { z } from 'zod';
import { InvalidInputError, deriveSeed } from '@vzero/core';
import {
  applyOverrides,
  parseTrainConfig,
  readConfigFile,
  trainConfigSchema,
  type TrainConfig,
} from '../config.js';
import { flag, seedValue, type GivenOptions } from './options.js';
import { loadPlugins } from '../methods/plugins.js';
import { isRemoteStudent } from '../remote/student.js';
import { evaluatePolicy } from '../evaluation/accuracy.js';
import { createProgress, progressBars, type Progress } from '../progress.js';
import { EvalPrompts } from '../evaluation/prompts.js';
import {
  train,
  type EvalRecord,
  type EvalStudent,
  type StepRecord,
  type TrainHooks,
  type TrainResult,
} from '../trainer.js';
import { configWarnings } from '../sanity.js';
import { formatResolvedConfig } from '../run/resolved-config.js';
import { addNegativeModes, formatNegativeModes } from '../tracking/negative-modes.js';
import { trainRemote, type RemoteTrainResult } from '../remote/train.js';

/**
 * `vzero train`'s options: the config file and overrides of its keys (--set, and shorthands for
 * four of them), how to go on from a run, and plug-ins that add methods the config may name.
 */
export const TRAIN_OPTIONS = z.strictObject({
  config: flag(z.string().optional(), 'JSON or YAML config (unknown keys are rejected)', { value: 'file' }),
  set: flag(z.array(z.string()).default([]), 'override config keys, e.g. --set method=opd gate.alpha=1', {
    value: 'key=value',
    variadic: true,
  }),
  data: flag(z.string().optional(), 'world dataset folder (= --set data.dir=DIR)', { value: 'dir' }),
  out: flag(z.string().optional(), 'run folder (= --set out=DIR)', { value: 'dir' }),
  steps: flag(trainConfigSchema.shape.steps.unwrap().optional(), 'optimizer steps (= --set steps=N)', {
    value: 'n',
  }),
  seed: flag(seedValue().optional(), 'seed (= --set seed=K)', { value: 'k' }),
  resume: flag(z.boolean().optional(), 'continue the run in config.out from its last intact checkpoint'),
  allowConfigChange: flag(
    z.boolean().optional(),
    "with --resume: accept a config that differs from the run's (recorded in config-changes.jsonl)",
  ),
  plugins: flag(
    z.array(z.string()).optional(),
    'a module that registers training methods (registerMethod), imported before the config is read; repeatable',
    { value: 'module', flag: 'plugin' },
  ),
});

/** The config keys that TRAIN_OPTIONS' shorthands set (as --set overrides after the others). */
const SHORTHANDS = { data: 'data.dir', out: 'out', steps: 'steps', seed: 'seed' } as const;

/**
 * `vzero train` as the command line runs it: plug-ins loaded, the config read and resolved, the
 * run made (in-process, or with the student at a training service). SIGINT (Ctrl-C) and SIGTERM
 * (a scheduler's stop) finish the current step, write a checkpoint and end the run as interrupted
 * (exit 130 / 143 from the CLI); a second signal ends the process at once.
 */
export async function runTrainCommand(
  o: GivenOptions<z.output<typeof TRAIN_OPTIONS>>,
  log: (line: string) => void,
): Promise<{ config: TrainConfig; result: TrainResult | RemoteTrainResult }> {
  if (o.allowConfigChange && !o.resume)
    throw new InvalidInputError('--allow-config-change', true, 'only applies with --resume');
  await loadPlugins(o.plugins ?? []);
  const shorthands = Object.entries(SHORTHANDS).flatMap(([key, path]) => {
    const value = o[key as keyof typeof SHORTHANDS];
    return value !== undefined ? [`${path}=${JSON.stringify(value)}`] : [];
  });
  const config = await resolveTrainConfig({ ...o, set: [...o.set, ...shorthands] });
  const controller = new AbortController();
  const stop = (signal: NodeJS.Signals) => {
    log(`\n${signal}: stopping after this step (a checkpoint will be written; send it again to abort)`);
    controller.abort(signal);
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    const options = {
      ...(o.resume ? { resume: true } : {}),
      ...(o.allowConfigChange ? { allowConfigChange: true } : {}),
      log,
      signal: controller.signal,
    };
    const result = isRemoteStudent(config)
      ? await runRemoteTrain(config, options)
      : await runTrain(config, options);
    return { config, result };
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

export interface TrainCommandOptions {
  readonly config?: string;
  readonly set?: readonly string[];
  readonly resume?: boolean;
  readonly allowConfigChange?: boolean;
}

export async function resolveTrainConfig(o: TrainCommandOptions): Promise<TrainConfig> {
  const raw = o.config ? await readConfigFile(o.config) : {};
  return parseTrainConfig(applyOverrides(raw, o.set ?? []), o.config ?? 'config');
}

/** Questions of an evaluation answered so far (for progress). */
export type EvalProgress = (split: string, done: number, total: number) => void;

/** Evaluation of the student on a labelled split (evaluation reads that split's labels only). */
export function splitEvaluator(
  config: TrainConfig,
  onProgress?: EvalProgress,
): NonNullable<TrainHooks['evaluate']> {
  // The questions and their views are the same at every evaluation of the run: loaded and built once.
  const prompts = new EvalPrompts();
  const questions = new Map<string, Promise<Awaited<ReturnType<typeof loadLabelled>>>>();
  return async (student: EvalStudent, split: string, step: number): Promise<EvalRecord> => {
    let loading = questions.get(split);
    if (!loading) {
      loading = loadLabelled(config.data.dir, split);
      questions.set(split, loading);
      loading.catch(() => questions.delete(split)); // a failed read is tried again next time
    }
    const samples = await loading;
    const limited = config.eval.limit > 0 ? samples.slice(0, config.eval.limit) : samples;
    const factory = prompts.factory(student.imageSlots, undefined, {
      negative: 'blank',
      factor: 2,
      padding: config.views.padding,
      seed: deriveSeed(config.seed, 'views'),
      encode: student.encodeImages,
    });
    // Per-question results (`correct`) go with the record: `vzero compare` pairs runs on them.
    const summary = await evaluatePolicy(student.policy, limited, (s) => factory.student(s), {
      items: true,
      ...(onProgress ? { onProgress: (done: number) => onProgress(split, done, limited.length) } : {}),
    });
    return { event: 'eval', step, split, ...summary };
  };
}

/** The run summary's line of which mode made the negative views (V-Zero runs only). */
function logNegativeModes(
  config: TrainConfig,
  records: readonly StepRecord[],
  log: (line: string) => void,
): void {
  if (!records.some((r) => r.negativeModes)) return;
  log(
    `negative views as made (requested ${config.views.negative}): ${formatNegativeModes(addNegativeModes(records.map((r) => r.negativeModes)))}`,
  );
}

interface RunOptions {
  resume?: boolean;
  allowConfigChange?: boolean;
  log: (line: string) => void;
  signal?: AbortSignal;
}

/**
 * What `vzero train` shows while a run goes (the same for a student in-process or at a service):
 * the resolved config and its warnings first, a bar over the steps, evaluations between steps.
 */
function commandHooks(
  config: TrainConfig,
  options: RunOptions,
  label: string,
): {
  hooks: TrainHooks;
  resume: false | { allowConfigChange: boolean; log: (line: string) => void };
  progress: Progress;
} {
  // What runs, every default filled in (also saved as config.json in the run folder).
  options.log(formatResolvedConfig('train', config));
  for (const w of configWarnings(config)) options.log(`warning: ${w}`);
  const progress = createProgress(label, config.steps);
  let lastStep = 0;
  let evalLines: { key: string; progress: Progress } | undefined;
  const hooks: TrainHooks = {
    log: options.log,
    // Evaluations run between steps: on a terminal the training bar shows how far the current
    // one is (a second bar would fight it for the line); in a log, lines of their own.
    evaluate: splitEvaluator(config, (split, done, total) => {
      if (progressBars()) {
        progress.update(lastStep, { eval: `${split} ${done}/${total}` });
        return;
      }
      if (!evalLines || evalLines.key !== `${split}@${lastStep}`) {
        evalLines = {
          key: `${split}@${lastStep}`,
          progress: createProgress(`eval ${split} (step ${lastStep})`, total),
        };
      }
      evalLines.progress.update(done);
    }),
    onStep: (r) => {
      lastStep = r.step;
      progress.update(r.step, { loss: r.loss, ...(r.gate ? { 'w std': r.gate.weightStd } : {}) });
    },
    onEval: (e) =>
      options.log(`eval step ${e.step} ${e.split}: accuracy ${(e.accuracy * 100).toFixed(1)}% (n ${e.n})`),
    ...(options.signal ? { signal: options.signal } : {}),
  };
  const resume = options.resume
    ? { allowConfigChange: options.allowConfigChange ?? false, log: options.log }
    : (false as const);
  return { hooks, resume, progress };
}

/** `vzero train` with the student at a training service (models.student: tinker://...). */
export async function runRemoteTrain(config: TrainConfig, options: RunOptions): Promise<RemoteTrainResult> {
  const { hooks, resume, progress } = commandHooks(
    config,
    options,
    `train ${config.method} (student at ${config.tinker.baseUrl})`,
  );
  try {
    const result = await trainRemote(config, { resume, hooks });
    progress.stop();
    logNegativeModes(config, result.records, options.log);
    options.log(`curves: ${join(result.run.root, 'curves.png')} (and .svg, metrics.csv)`);
    return result;
  } finally {
    progress.stop();
  }
}

export async function runTrain(config: TrainConfig, options: RunOptions): Promise<TrainResult> {
  const { hooks, resume, progress } = commandHooks(config, options, `train ${config.method}`);
  try {
    const result = await train(config, { resume, hooks });
    progress.stop();
    logNegativeModes(config, result.records, options.log);
    options.log(
      `curves: ${join(result.run.root, 'curves.png')} (and .svg, metrics.csv); TensorBoard: tensorboard --logdir ${result.run.root}`,
    );
    return result;
  } finally {
    progress.stop();
  }
}
