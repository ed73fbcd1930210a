// A method's step over its training split, as the registry describes the method (methods/): a
// label-free method loads manifests only (the labels file of the training split is never read,
// and its step takes LabelFreeSample, a type with no answer in it); a labelled one (the SFT and
// GRPO baselines) loads the answers too. The step also gets its method's config section.
import type { LabelFreeSample } from '@vzero/core';
import { loadLabelFree, loadLabelled, type WorldLabelledSample } from '@vzero/world';
import type { TrainConfig } from '../config.js';
import { methodSpec } from '../methods/index.js';
import type { StepResult } from '../records.js';
import type { StepContext } from './context.js';

export interface MethodStep {
  /** Samples in the training split (after data.limit). */
  readonly samples: number;
  /** One step on the split's samples at `rows`. */
  readonly run: (ctx: StepContext, step: number, rows: readonly number[]) => Promise<StepResult>;
}

/** config.method's step, over its training split (loaded here). */
export async function methodStep(config: TrainConfig): Promise<MethodStep> {
  const spec = methodSpec(config.method);
  const settings: unknown = spec.config ? (config as Record<string, unknown>)[spec.config.key] : undefined;
  const step = (ctx: StepContext, s: number, samples: readonly (LabelFreeSample | WorldLabelledSample)[]) =>
    spec.step(ctx, s, samples, settings);
  return spec.data === 'label-free'
    ? over(await loadLabelFreeSplit(config), step)
    : over(await loadLabelledSplit(config), step);
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
