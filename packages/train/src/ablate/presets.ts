// Ablation presets: everything one `vzero ablate` run needs (worlds, starting models, the arms
// and their training settings, seeds). A preset changes what it must through world config,
// model overrides and train config, never through package defaults. The shipped presets are
// spec files, packages/train/presets/<name>.yaml (./spec.ts reads and validates them): to change
// one, edit its file; `vzero ablate --spec FILE` runs a user's copy.
import type { WorldConfig } from '@vzero/world';
import type { Method, TrainConfigInput } from '../config.js';
import type { PretrainSpec } from './pretrain.js';
import type { TeacherCheck } from './starting-check.js';
import { loadAblateSpec, shippedSpecFile, shippedSpecNames } from './spec.js';

/** One compared method: a training method plus the config keys that make it this arm. */
export interface AblateArm {
  readonly id: string;
  readonly label: string;
  /** 'base' evaluates the starting student without training. */
  readonly method: Method | 'base';
  readonly train?: TrainConfigInput;
}

/** An arm's id: names its runs (runs/<id>-seed<k>); 'base' is the starting student, untrained. */
export type ArmId = string;

export interface AblatePreset {
  readonly name: string;
  readonly description: string;
  readonly world: {
    /** WorldConfig overrides shared by both worlds. */
    readonly config: Partial<WorldConfig>;
    /**
     * Further overrides for the teacher's own pre-training world (e.g. weaker priors, so that
     * the teacher learns to read the crop rather than lean on the prior); the student's
     * pre-training world and the comparison use `config` alone.
     */
    readonly teacherConfig?: Partial<WorldConfig>;
    /** Further overrides for the student's own pre-training world (its last phase). */
    readonly studentConfig?: Partial<WorldConfig>;
    /** Labelled world the starting models are pre-trained on (seed `pretrainSeed`). */
    readonly pretrain: { readonly train: number; readonly val: number };
    readonly pretrainSeed: number;
    /** World of the comparison (seed `seed`): label-free train data, val for choosing, test splits. */
    readonly main: {
      readonly train: number;
      readonly val: number;
      readonly test: number;
      readonly 'test-counter-prior': number;
    };
    readonly seed: number;
  };
  readonly models: { readonly teacher: PretrainSpec; readonly student: PretrainSpec };
  /** Training config shared by every arm (method, seed, out, data and models are set per run). */
  readonly train: TrainConfigInput;
  readonly steps: number;
  /** Evaluate every N steps (val for choosing the checkpoint; test splits reported at that step). */
  readonly evalEvery: number;
  readonly seeds: number;
  readonly arms: readonly AblateArm[];
  /**
   * Paired comparisons to report (A minus B, by arm id). Default: the paper's pairs among the
   * arms present (compare.ts, COMPARISONS), and every other arm against Base, OPD and V-Zero.
   */
  readonly comparisons?: readonly (readonly [ArmId, ArmId])[];
  /** Conditions on the starting models, checked on val before any arm runs (./starting-check.ts). */
  readonly checks?: { readonly teacher?: TeacherCheck };
}

/** A shipped preset: the spec file packages/train/presets/<name>.yaml, validated. */
export function ablatePreset(name: string): AblatePreset {
  return loadAblateSpec(shippedSpecFile(name));
}

/** Every shipped preset by name, each read from its spec file when first used. */
export const ABLATE_PRESETS: Readonly<Record<string, AblatePreset>> = Object.freeze(
  Object.defineProperties(
    {},
    Object.fromEntries(
      shippedSpecNames().map((name) => [name, { enumerable: true, get: () => ablatePreset(name) }]),
    ),
  ),
);
