// The GRPO baseline: a verifiable reward from the answers, group-normalised advantages, and the
// PPO clipped surrogate, through the same mini-batch update as V-Zero and OPD.
import * as tf from '@tensorflow/tfjs-core';
import type { WorldLabelledSample } from '@vzero/world';
import { rolloutStats, sample } from '@vzero/rollout';
import { groupAdvantages, grpoLoss, rewardOf } from '../grpo.js';
import { updateInMiniBatches } from '../mini-batch.js';
import type { StepResult } from '../records.js';
import { now, samplingOptions, studentPrompts, throughput, type StepContext } from '../steps/context.js';
import type { MethodSpec } from './spec.js';
import { rolloutRecord } from './opd.js';

export async function grpoStep(
  ctx: StepContext,
  step: number,
  samples: readonly WorldLabelledSample[],
): Promise<StepResult> {
  const { config, student } = ctx;
  const time: Record<string, number> = {};
  const prompts = await studentPrompts(ctx, samples, time);
  let t = now();
  const groups = await sample(student.policy, prompts, samplingOptions(config, step));
  time['rollout'] = now() - t;
  t = now();
  const rewards = groups.map((g, i) => g.map((tr) => rewardOf(tr.text, samples[i] as WorldLabelledSample)));
  const advantages = groupAdvantages(rewards).flat();
  const trajectories = groups.flat();
  const update = updateInMiniBatches(
    student,
    ctx.optimizer,
    trajectories,
    new Map(prompts.map((p) => [p.id, p])),
    config.optim.miniBatches,
    ({ rows, padded, B, T }, hold) => {
      const oldLogprobs = hold(tf.tensor2d(padded.logprobs, [B, T]));
      const mask = hold(tf.tensor2d(padded.mask, [B, T]));
      const rowAdvantages = hold(tf.tensor1d(rows.map((i) => advantages[i] as number)));
      return {
        loss: (forward) => grpoLoss(forward.logprobs, oldLogprobs, rowAdvantages, mask, ctx.lossConfig),
      };
    },
    { sharePrefix: config.optim.sharePrefix },
  );
  time['update'] = now() - t;
  time['total'] = Object.values(time).reduce((a, b) => a + b, 0);
  const stats = rolloutStats(groups);
  const reward = rewards.flat().reduce((a, b) => a + b, 0) / Math.max(1, trajectories.length);
  return {
    step,
    method: 'grpo',
    loss: update.loss,
    gradNorm: update.gradNorm,
    reward,
    rollout: rolloutRecord(stats),
    time,
    tokensPerSecond: throughput(time, stats.tokens),
  };
}

/** GRPO with a verifiable reward from the answers (a label-using baseline). */
export const grpoMethod: MethodSpec<'grpo', 'labelled', never> = {
  name: 'grpo',
  description: 'GRPO with a reward from the answers (a baseline; reads the answers)',
  data: 'labelled',
  warnings: (config) =>
    config.rollout.n === 1
      ? [
          'rollout.n = 1 with method grpo: a group of one has zero advantage, so the policy never moves; use rollout.n >= 2',
        ]
      : [],
  step: grpoStep,
};
