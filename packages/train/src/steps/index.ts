// Each training method's step with the split it trains on. The label-free methods (V-Zero,
// OPD) load manifests only: the labels file of the training split is never read, and their step
// takes LabelFreeSample, a type with no answer in it. SFT and GRPO are the label-using baselines.
import { match } from 'ts-pattern';
import type { LabelFreeSample } from '@vzero/core';
import { loadLabelFree, loadLabelled, type WorldLabelledSample } from '@vzero/world';
import type { TrainConfig } from '../config.js';
import type { StepResult } from '../records.js';
import type { StepContext } from './context.js';
import { grpoStep } from './grpo.js';
import { opdStep } from './opd.js';
import { sftStep } from './sft.js';

export interface MethodStep {
  /** Samples in the training split (after data.limit). */
  readonly samples: number;
  /** One step on the split's samples at `rows`. */
  readonly run: (ctx: StepContext, step: number, rows: readonly number[]) => Promise<StepResult>;
}

/** config.method's step, over its training split (loaded here). */
export async function methodStep(config: TrainConfig): Promise<MethodStep> {
  return match(config.method)
    .with('vzero', 'opd', async () => over(await loadLabelFreeSplit(config), opdStep))
    .with('sft', async () => over(await loadLabelledSplit(config), sftStep))
    .with('grpo', async () => over(await loadLabelledSplit(config), grpoStep))
    .exhaustive();
}

function over<S>(
  samples: readonly S[],
  step: (ctx: StepContext, step: number, samples: readonly S[]) => Promise<StepResult>,
): MethodStep {
  return {
    samples: samples.length,
    run: (ctx, s, rows) =>
      step(
        ctx,
        s,
        rows.map((r) => samples[r] as S),
      ),
  };
}

async function loadLabelFreeSplit(config: TrainConfig): Promise<LabelFreeSample[]> {
  return limited(config, await loadLabelFree(config.data.dir, config.data.split));
}

async function loadLabelledSplit(config: TrainConfig): Promise<WorldLabelledSample[]> {
  return limited(config, await loadLabelled(config.data.dir, config.data.split));
}

function limited<S>(config: TrainConfig, samples: S[]): S[] {
  return config.data.limit > 0 ? samples.slice(0, config.data.limit) : samples;
}
