// `vzero train --config FILE [--set key=value ...] [--resume]`.
import { loadLabelled } from '@vzero/world';
import { applyOverrides, parseTrainConfig, readConfigFile, type TrainConfig } from '../config.js';
import { evaluatePolicy } from '../evaluation.js';
import { createProgress } from '../progress.js';
import { PromptFactory } from '../prompts.js';
import { train, type EvalRecord, type TrainHooks, type TrainResult } from '../trainer.js';
import type { LoadedPolicy } from '../models.js';
import { deriveSeed } from '@vzero/core';
import { configWarnings } from '../sanity.js';

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

/** Evaluation of the student on a labelled split (evaluation reads that split's labels only). */
export function splitEvaluator(config: TrainConfig): NonNullable<TrainHooks['evaluate']> {
  return async (student: LoadedPolicy, split: string, step: number): Promise<EvalRecord> => {
    const samples = await loadLabelled(config.data.dir, split);
    const limited = config.eval.limit > 0 ? samples.slice(0, config.eval.limit) : samples;
    const factory = new PromptFactory(student.model.config, undefined, {
      negative: 'blank',
      factor: 2,
      padding: config.views.padding,
      seed: deriveSeed(config.seed, 'views'),
      encode: false,
    });
    const summary = await evaluatePolicy(student.policy, limited, (s) => factory.student(s));
    return { event: 'eval', step, split, ...summary };
  };
}

export async function runTrain(
  config: TrainConfig,
  options: {
    resume?: boolean;
    allowConfigChange?: boolean;
    log: (line: string) => void;
    signal?: AbortSignal;
  },
): Promise<TrainResult> {
  for (const w of configWarnings(config)) options.log(`warning: ${w}`);
  const progress = createProgress(`train ${config.method}`, config.steps);
  try {
    return await train(config, {
      resume: options.resume
        ? { allowConfigChange: options.allowConfigChange ?? false, log: options.log }
        : false,
      hooks: {
        log: options.log,
        evaluate: splitEvaluator(config),
        onStep: (r) =>
          progress.update(r.step, { loss: r.loss, ...(r.gate ? { 'w std': r.gate.weightStd } : {}) }),
        onEval: (e) =>
          options.log(
            `eval step ${e.step} ${e.split}: accuracy ${(e.accuracy * 100).toFixed(1)}% (n ${e.n})`,
          ),
        ...(options.signal ? { signal: options.signal } : {}),
      },
    });
  } finally {
    progress.stop();
  }
}
