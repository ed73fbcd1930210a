// What a training method is to the app: one spec object per method (methods/<name>.ts), listed
// in the registry (methods/registry.ts). Everything the app does per method is read from the
// spec: which training data it may read, whether it needs a teacher and under which views, its
// config section with defaults and checks, its warnings, whether a student at a training service
// can train with it, and its step. Nothing else in the app names a method.
import type { z } from 'zod';
import type { LabelFreeSample } from '@vzero/core';
import type { WorldLabelledSample } from '@vzero/world';
import type { TrainConfig } from '../config.js';
import type { StepResult } from '../records.js';
import type { StepContext } from '../steps/context.js';

/**
 * The training data a method may read: 'label-free' loads the split's manifest only (the labels
 * file is never opened, and the step's samples have no answer field), 'labelled' its answers too.
 */
export type DataKind = 'label-free' | 'labelled';
export const DATA_KINDS: readonly DataKind[] = ['label-free', 'labelled'];

/** The samples a step of each data kind receives. */
export interface SampleOf {
  readonly 'label-free': LabelFreeSample;
  readonly labelled: WorldLabelledSample;
}

/** The views a teacher replays a rollout under: the positive crop, and the negative view. */
export type TeacherView = 'positive' | 'negative';
export const TEACHER_VIEWS: readonly TeacherView[] = ['positive', 'negative'];

/** Reports a problem with the config at `path` (from the config's root), failing validation. */
export type ConfigIssue = (path: readonly (string | number)[], message: string, input?: unknown) => void;

/** A method's own section of the train config (the V-Zero gate's `gate`, say). */
export interface MethodSection<K extends string = string, S extends z.ZodType = z.ZodType> {
  /** The section's top-level key in the train config. */
  readonly key: K;
  /**
   * Its zod schema (a strict object, as the app's own sections). Every key needs a default: each
   * registered method's section is in every run's config, filled in, and validated at setup.
   */
  readonly schema: S;
  /** Checks across the whole config, after the schema (run whichever method is chosen). */
  readonly check?: (config: TrainConfig, issue: ConfigIssue) => void;
}

/**
 * One training method. N is its name, D the data it reads, K and S its config section's key
 * and schema (none: K never).
 */
export interface MethodSpec<
  N extends string = string,
  D extends DataKind = DataKind,
  K extends string = string,
  S extends z.ZodType = z.ZodType,
> {
  /** The value of the config's `method` (lower case letters, digits and '-'). */
  readonly name: N;
  /** One line for help and docs. */
  readonly description: string;
  readonly data: D;
  /**
   * The frozen teacher it replays rollouts with, and under which views ('positive' always; with
   * 'negative' the teacher replays the negative view too, as the V-Zero gate needs). Absent: the
   * method needs no teacher, and none is loaded.
   */
  readonly teacher?: { readonly views: readonly TeacherView[] };
  readonly config?: MethodSection<K, S>;
  /**
   * How a student at a training service (models.student: tinker://...) trains with it: 'opd' is
   * the remote OPD trainer (remote/train.ts; gated when the teacher reads the negative view).
   * Absent: such a student cannot use the method (the config is refused).
   */
  readonly remote?: 'opd';
  /** Settings that validate but make a run with this method quietly meaningless, one line each. */
  warnings?(config: TrainConfig): string[];
  /**
   * One training step on this step's samples (rows of the training split, data.limit applied);
   * `settings` is the method's config section, validated and filled in.
   */
  step(
    ctx: StepContext,
    step: number,
    samples: readonly SampleOf[D][],
    settings: z.output<S>,
  ): Promise<StepResult>;
}

/** Any method, as the registry holds it. */
export type AnyMethodSpec = MethodSpec;

/**
 * Declares a method (an identity function: it only fixes the spec's types, so that `step` sees
 * the samples of its data kind and its own settings).
 */
export function defineMethod<
  const N extends string,
  D extends DataKind,
  K extends string = never,
  S extends z.ZodType = z.ZodNever,
>(spec: MethodSpec<N, D, K, S>): MethodSpec<N, D, K, S> {
  return spec;
}

/** Whether the method's teacher replays the negative view (the evidence gate's second view). */
export function readsNegativeView(spec: AnyMethodSpec): boolean {
  return spec.teacher?.views.includes('negative') ?? false;
}
