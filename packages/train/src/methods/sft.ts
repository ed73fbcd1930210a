// The SFT baseline: teacher forcing on the labelled reference responses (uses the answers).
import * as tf from '@tensorflow/tfjs-core';
import { referenceResponse, type WorldLabelledSample } from '@vzero/world';
import type { StepResult } from '../records.js';
import { now, studentPrompts, throughput, type StepContext } from '../steps/context.js';
import type { MethodSpec } from './spec.js';

export async function sftStep(
  ctx: StepContext,
  step: number,
  samples: readonly WorldLabelledSample[],
): Promise<StepResult> {
  const { student, optimizer } = ctx;
  const time: Record<string, number> = {};
  const prompts = await studentPrompts(ctx, samples, time);
  const t = now();
  const responses = samples.map((s, i) => {
    if (!s.facts) throw new Error(`sample ${s.id} has no evidence facts; SFT needs world labels`);
    return student.policy.encodeResponse(
      referenceResponse({ options: s.options, answerIndex: s.answerIndex, facts: s.facts }),
      `samples[${i}]`,
    );
  });
  const batch = student.policy.batch(prompts, responses);
  const { loss, norm } = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(
      () => student.model.supervisedLoss(batch),
      student.model.trainableVariables,
    );
    return { loss: value.dataSync()[0] as number, norm: optimizer.apply(grads) };
  });
  time['update'] = now() - t;
  time['total'] = (time['views'] as number) + time['update'];
  const tokens = responses.reduce((n, r) => n + r.length, 0);
  return {
    step,
    method: 'sft',
    loss,
    gradNorm: norm,
    time,
    tokensPerSecond: throughput(time, tokens),
  };
}

/** Supervised fine-tuning on the reference responses (a label-using baseline). */
export const sftMethod: MethodSpec<'sft', 'labelled', never> = {
  name: 'sft',
  description: 'supervised fine-tuning on the reference responses (a baseline; reads the answers)',
  data: 'labelled',
  step: sftStep,
};
