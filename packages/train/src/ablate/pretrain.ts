// Starting models for an ablation: `vzero pretrain` with model-config overrides (e.g. a 128 px
// student in 16 px patches), so a preset can change what the student perceives without
// touching the package defaults. Pre-training uses labels: it stands in for the paper's
// pretrained models and happens on a world of its own, never on the evaluation splits.
import type { ModelConfig, ModelPresetName } from '@vzero/model';
import type { WorldConfig } from '@vzero/world';
import { InvalidInputError } from '@vzero/core';
import { runPretrain, type PretrainEval } from '../pretraining.js';

export interface PretrainSpec {
  /** Model preset the overrides apply to ('tiny', 'student' or 'teacher'). */
  readonly preset: ModelPresetName;
  readonly overrides?: Partial<Omit<ModelConfig, 'vocabSize'>>;
  readonly steps: number;
  readonly batchSize: number;
  readonly lr: number;
  /** Teacher: fraction of samples also shown with the negative view (see runPretrain). */
  readonly negativeFraction?: number;
  /** Continue from this checkpoint (a later pre-training phase) instead of a fresh model. */
  readonly initFrom?: string;
  /**
   * A first phase on a world with other settings (e.g. no priors, where reading the evidence is
   * the only way to answer), before `steps` on the pre-training world itself: the student then
   * has the skill but, pre-trained last on a world with priors, leans on the prior, as a
   * pretrained model may have a skill it does not use on fine-grained questions.
   */
  readonly warmup?: { readonly world: Partial<WorldConfig>; readonly steps: number };
}

export interface PretrainedModel {
  readonly dir: string;
  readonly val: PretrainEval;
  readonly seconds: number;
}

/**
 * Pre-trains one role on `world`'s train split and reports accuracy on its val split. With a
 * warm-up, `warmupWorld` (made with the warm-up settings) is trained on first, into `out`-warmup.
 */
export async function pretrainRole(
  role: 'teacher' | 'student',
  spec: PretrainSpec,
  world: string,
  out: string,
  seed: number,
  log: (line: string) => void,
  warmupWorld?: string,
): Promise<PretrainedModel> {
  let initFrom = spec.initFrom;
  let seconds = 0;
  if (spec.warmup) {
    if (warmupWorld === undefined) {
      throw new InvalidInputError(
        'warmupWorld',
        warmupWorld,
        `the ${role} spec has a warm-up: give its world`,
      );
    }
    initFrom = `${out}-warmup`;
    const warm = await runPretrain(
      options(role, { ...spec, steps: spec.warmup.steps }, warmupWorld, initFrom, seed),
      log,
    );
    seconds += warm.seconds;
  }
  const result = await runPretrain(
    options(role, { ...spec, ...(initFrom !== undefined ? { initFrom } : {}) }, world, out, seed),
    log,
  );
  return { dir: out, val: result.eval, seconds: seconds + result.seconds };
}

function options(role: 'teacher' | 'student', spec: PretrainSpec, data: string, out: string, seed: number) {
  return {
    role,
    preset: spec.preset,
    ...(spec.overrides ? { modelOverrides: spec.overrides } : {}),
    data,
    out,
    steps: spec.steps,
    batchSize: spec.batchSize,
    lr: spec.lr,
    seed,
    evalSplit: 'val',
    evalLimit: 0,
    // The work folder is the experiment's own: a model left there by an earlier run is rebuilt.
    force: true,
    ...(spec.negativeFraction !== undefined ? { negativeFraction: spec.negativeFraction } : {}),
    ...(spec.initFrom !== undefined ? { initFrom: spec.initFrom } : {}),
  };
}
