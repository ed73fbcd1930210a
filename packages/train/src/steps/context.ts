// What every method's step works with: the run's config, models, optimizer and prompt views.
import { deriveSeed, type Policy, type Prompt } from '@vzero/core';
import type { OpdLossConfig } from '@vzero/opd-loss';
import type { RolloutOptions } from '@vzero/rollout';
import type { TrainConfig } from '../config.js';
import type { LoadedPolicy } from '../models.js';
import type { AdamW } from '../optim.js';
import type { PromptFactory, QuestionSample } from '../prompts.js';
import type { SelfTeacher } from '../self-teacher.js';
import type { InspectRecorder } from '../tracking/inspect-record.js';

export interface StepContext {
  readonly config: TrainConfig;
  readonly student: LoadedPolicy;
  readonly teacher: Policy | undefined;
  /** The teacher when it is made of the student's own weights (moves after each update if EMA). */
  readonly self: SelfTeacher | undefined;
  readonly optimizer: AdamW;
  readonly prompts: PromptFactory;
  readonly lossConfig: OpdLossConfig;
  /** Records what `vzero inspect` shows (config.inspect). */
  readonly inspect: InspectRecorder | undefined;
}

export const now = () => performance.now();

/** The student prompts of `samples` (no teacher views), timed as the step's 'views' stage. */
export async function studentPrompts(
  ctx: StepContext,
  samples: readonly QuestionSample[],
  time: Record<string, number>,
): Promise<Prompt[]> {
  const t = now();
  const prompts = await Promise.all(samples.map((s) => ctx.prompts.student(s)));
  time['views'] = now() - t;
  return prompts;
}

/** The rollout settings of a step (its seed depends only on the run's seed and the step). */
export function samplingOptions(config: TrainConfig, step: number): RolloutOptions {
  return {
    n: config.rollout.n,
    temperature: config.rollout.temperature,
    topP: config.rollout.topP,
    topK: config.rollout.topK,
    maxTokens: config.rollout.maxTokens,
    seed: deriveSeed(config.seed, `rollout:${step}`),
  };
}

/** Tokens per second over a step's total time (time['total'], milliseconds). */
export function throughput(time: Record<string, number>, tokens: number): number {
  return tokens / Math.max((time['total'] as number) / 1000, 1e-9);
}
