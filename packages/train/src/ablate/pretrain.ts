// Starting models for an ablation: `vzero pretrain` with model-config overrides (e.g. a 128 px
// student in 16 px patches), so a preset can change what the student perceives without
// touching the package defaults. Pre-training uses labels: it stands in for the paper's
// pretrained models and happens on a world of its own, never on the evaluation splits.
import type { ModelConfig, ModelPresetName } from '@vzero/model';
import type { EvalSummary } from '../evaluation.js';
import { runPretrain } from '../commands/pretrain.js';

export interface PretrainSpec {
  /** Model preset the overrides apply to ('tiny', 'student' or 'teacher'). */
  readonly preset: ModelPresetName;
  readonly overrides?: Partial<Omit<ModelConfig, 'vocabSize'>>;
  readonly steps: number;
  readonly batchSize: number;
  readonly lr: number;
  /** Teacher: fraction of samples also shown with the negative view (see runPretrain). */
  readonly negativeFraction?: number;
}

export interface PretrainedModel {
  readonly dir: string;
  readonly val: EvalSummary;
  readonly seconds: number;
}

/** Pre-trains one role on `world`'s train split and reports accuracy on its val split. */
export async function pretrainRole(
  role: 'teacher' | 'student',
  spec: PretrainSpec,
  world: string,
  out: string,
  seed: number,
  log: (line: string) => void,
): Promise<PretrainedModel> {
  const result = await runPretrain(
    {
      role,
      preset: spec.preset,
      ...(spec.overrides ? { modelOverrides: spec.overrides } : {}),
      data: world,
      out,
      steps: spec.steps,
      batchSize: spec.batchSize,
      lr: spec.lr,
      seed,
      evalSplit: 'val',
      evalLimit: 0,
      ...(spec.negativeFraction !== undefined ? { negativeFraction: spec.negativeFraction } : {}),
    },
    log,
  );
  return { dir: out, val: result.eval, seconds: result.seconds };
}
