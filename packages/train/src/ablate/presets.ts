// Ablation presets: everything one `vzero ablate --preset NAME` run needs (worlds, starting
// models, the arms and their training settings, seeds). A preset changes what it must through
// world config, model overrides and train config, never through package defaults.
import { UnknownKeyError } from '@vzero/core';
import type { WorldConfig } from '@vzero/world';
import type { Method, TrainConfigInput } from '../config.js';
import type { PretrainSpec } from './pretrain.js';

/** One compared method: a training method plus the config keys that make it this arm. */
export interface AblateArm {
  readonly id: string;
  readonly label: string;
  /** 'base' evaluates the starting student without training. */
  readonly method: Method | 'base';
  readonly train?: TrainConfigInput;
}

export const ARMS = {
  base: { id: 'base', label: 'Base (no training)', method: 'base' },
  opd: { id: 'opd', label: 'OPD (no gate)', method: 'opd' },
  vzero: { id: 'vzero', label: 'V-Zero (G 8)', method: 'vzero' },
  sft: { id: 'sft', label: 'SFT (labels)', method: 'sft' },
  grpo: { id: 'grpo', label: 'GRPO (labels)', method: 'grpo' },
  rand: {
    id: 'rand',
    label: 'Rand. (random crops for both views)',
    method: 'vzero',
    train: { views: { negative: 'random-positive' } },
  },
  'vzero-g4': { id: 'vzero-g4', label: 'V-Zero (G 4)', method: 'vzero', train: { rollout: { n: 4 } } },
  'vzero-answer': {
    id: 'vzero-answer',
    label: 'V-Zero, gate on the answer span',
    method: 'vzero',
    train: { gate: { span: 'answer' } },
  },
  'vzero-self': {
    id: 'vzero-self',
    label: 'V-Zero, self-teacher (EMA 0.98 of the student, reading the crop)',
    method: 'vzero',
    train: { models: { selfTeacher: 'ema', selfTeacherEma: 0.98 } },
  },
} as const satisfies Record<string, AblateArm>;

export type ArmId = keyof typeof ARMS;

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
  readonly arms: readonly ArmId[];
}

const ALL_ARMS: readonly ArmId[] = [
  'base',
  'opd',
  'rand',
  'vzero',
  'vzero-g4',
  'vzero-answer',
  'vzero-self',
  'sft',
  'grpo',
];

/**
 * The first paper-table set-up, kept so docs/results/investigation.md can be reproduced (about
 * 10 minutes). Targets are 24-36 px (at most 0.66% of the 512x384 image) and the student sees the
 * full image at 128 px in 16 px patches: the same 64 image tokens as the 64 px student, but a
 * target covers 6-9 px of its view. Its linear-encoder student turned out unable to read them.
 */
const DENSE: AblatePreset = {
  name: 'dense',
  description: 'all arms, 3 seeds, 40 steps at lr 3e-3; 24-36 px targets and a 128 px student',
  world: {
    config: { targetSizeMin: 24, targetSizeMax: 36 },
    pretrain: { train: 1500, val: 200 },
    pretrainSeed: 1,
    main: { train: 512, val: 100, test: 200, 'test-counter-prior': 200 },
    seed: 0,
  },
  models: {
    teacher: { preset: 'teacher', steps: 500, batchSize: 16, lr: 3e-3 },
    student: {
      preset: 'student',
      overrides: { patchSize: 16, images: [{ role: 'full', size: 128 }] },
      steps: 300,
      batchSize: 16,
      lr: 3e-3,
    },
  },
  train: {
    rollout: { n: 8, maxTokens: 12 },
    optim: { lr: 3e-3, promptsPerStep: 8, miniBatches: 2 },
    gate: { preset: 'reference' },
  },
  steps: 40,
  evalEvery: 10,
  seeds: 3,
  arms: ALL_ARMS,
};

export const ABLATE_PRESETS = {
  /**
   * The comparison of docs/RESULTS.md, built so that the paper's question can be asked
   * (docs/results/faithful.md): on a 256x192 canvas with 40-56 px targets among 3-6
   * distractors, a target spans about a 16 px patch of the student's 128 px view, so the evidence
   * is in the student's own input. The student learns to read colours on a world without priors,
   * then is pre-trained last on one where objects almost always have their usual colour: it has
   * the skill but answers by the prior (it lacks the use of the evidence, not the evidence). The
   * teacher reads the 32 px crop (pre-trained on a world with weaker priors, half of its samples
   * also under the negative view; its own full image is 32 px, so without the crop it mostly
   * falls back on the prior). Colour questions only: spatial questions are beyond both models at
   * this scale (see the note). Five seeds, 400 questions per evaluation split.
   */
  'paper-table': {
    name: 'paper-table',
    description:
      'all arms, 5 seeds, 60 steps at lr 1e-3; 40-56 px targets in a 256x192 canvas, colour questions, a prior-biased student that can read, a teacher that reads the crop',
    world: {
      config: {
        width: 256,
        height: 192,
        targetSizeMin: 40,
        targetSizeMax: 56,
        distractorSizeMin: 24,
        distractorSizeMax: 56,
        distractorsMin: 3,
        distractorsMax: 6,
        pairGapMax: 56,
        spatialColours: true,
        spatialFraction: 0,
      },
      teacherConfig: { priorStrength: 0.5 },
      studentConfig: { priorStrength: 0.97 },
      pretrain: { train: 2000, val: 200 },
      pretrainSeed: 1,
      main: { train: 512, val: 400, test: 400, 'test-counter-prior': 400 },
      seed: 0,
    },
    models: {
      teacher: {
        preset: 'teacher',
        overrides: {
          images: [
            { role: 'full', size: 32 },
            { role: 'crop', size: 32 },
          ],
        },
        steps: 1200,
        batchSize: 16,
        lr: 3e-3,
        negativeFraction: 0.5,
      },
      student: {
        preset: 'student',
        overrides: { patchSize: 16, images: [{ role: 'full', size: 128 }], stemPatch: 4, stemChannels: 32 },
        warmup: { world: { priorStrength: 0.125 }, steps: 1200 },
        steps: 300,
        batchSize: 16,
        lr: 3e-3,
      },
    },
    train: {
      rollout: { n: 8, maxTokens: 12 },
      optim: { lr: 1e-3, promptsPerStep: 8, miniBatches: 2 },
      gate: { preset: 'reference' },
    },
    steps: 60,
    evalEvery: 30,
    seeds: 5,
    arms: ALL_ARMS,
  },
  /**
   * The second comparison (docs/results/investigation.md, second round; about 16 minutes on 2
   * cores): the former paper-table. What it changes from
   * `dense` so that the gate has something to work with (docs/results/investigation.md): 4-8
   * distractors; a student with a 4 px, 32-channel sub-patch stem pre-trained long enough to
   * read some colours (the linear patch encoder never learned to); a teacher that also saw
   * negative views in pre-training, so that without the evidence it answers by the prior
   * instead of being out of distribution; larger val/test splits; a gentler learning rate for
   * more steps (the `dense` runs oscillated).
   */
  stem: {
    ...DENSE,
    name: 'stem',
    description:
      'all arms, 3 seeds, 60 steps at lr 2e-3; 4-8 distractors, a stem student, a teacher that saw negatives',
    world: {
      ...DENSE.world,
      config: { ...DENSE.world.config, distractorsMin: 4, distractorsMax: 8 },
      pretrain: { train: 2000, val: 200 },
      main: { train: 512, val: 200, test: 300, 'test-counter-prior': 300 },
    },
    models: {
      teacher: { ...DENSE.models.teacher, steps: 800, negativeFraction: 0.5 },
      student: {
        ...DENSE.models.student,
        overrides: { ...DENSE.models.student.overrides, stemPatch: 4, stemChannels: 32 },
        steps: 2400,
      },
    },
    train: { ...DENSE.train, optim: { lr: 2e-3, promptsPerStep: 8, miniBatches: 2 } },
    steps: 60,
  },
  dense: DENSE,
  /**
   * Exploratory (docs/results/investigation.md): `dense` on a sparse world (1-3 distractors)
   * with the student pre-trained 1200 steps, where it does learn to read some colours (48% on
   * counter-prior colour questions with the priors off, chance 25%).
   */
  perceivable: {
    ...DENSE,
    name: 'perceivable',
    description: 'dense arms on a sparse world (1-3 distractors) with a student pre-trained 1200 steps',
    world: {
      ...DENSE.world,
      config: { ...DENSE.world.config, distractorsMin: 1, distractorsMax: 3 },
    },
    models: { ...DENSE.models, student: { ...DENSE.models.student, steps: 1200 } },
  },
  /** Every arm for 2 steps on a tiny world and tiny models: checks the pipeline end to end. */
  smoke: {
    name: 'smoke',
    description: 'pipeline check: tiny world, tiny models, 2 steps',
    world: {
      config: {
        width: 160,
        height: 120,
        distractorsMin: 3,
        distractorsMax: 5,
        targetSizeMin: 10,
        targetSizeMax: 14,
        distractorSizeMin: 6,
        distractorSizeMax: 12,
      },
      pretrain: { train: 16, val: 4 },
      pretrainSeed: 1,
      main: { train: 8, val: 4, test: 4, 'test-counter-prior': 4 },
      seed: 0,
    },
    models: {
      teacher: { preset: 'tiny', steps: 4, batchSize: 4, lr: 3e-3 },
      student: {
        preset: 'tiny',
        overrides: { images: [{ role: 'full', size: 16 }] },
        steps: 4,
        batchSize: 4,
        lr: 3e-3,
      },
    },
    train: {
      rollout: { n: 3, maxTokens: 8 },
      optim: { lr: 1e-2, promptsPerStep: 2, miniBatches: 1 },
    },
    steps: 2,
    evalEvery: 1,
    seeds: 2,
    arms: ALL_ARMS,
  },
} satisfies Record<string, AblatePreset>;

export type AblatePresetName = keyof typeof ABLATE_PRESETS;

export function ablatePreset(name: string): AblatePreset {
  if (!Object.hasOwn(ABLATE_PRESETS, name)) {
    throw new UnknownKeyError('--preset', name, Object.keys(ABLATE_PRESETS));
  }
  return ABLATE_PRESETS[name as AblatePresetName];
}
