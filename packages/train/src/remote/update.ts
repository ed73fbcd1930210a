// One step's update of a remote student: the in-process trainer's mini-batches (one PPO epoch,
// optim.miniBatches chunks, an Adam step per chunk), with the service computing the gradients.
// Per chunk:
// 1. `forward` reads the student's current log-probs s of the sampled tokens (the in-process
//    loss reads them from its own forward pass: after the first chunk's step they are no longer
//    the rollout's);
// 2. the toolkit turns its loss at s into the service's per-token numbers (@vzero/opd-loss
//    remote.ts; docs/METHOD.md, "Remote training"): policy-gradient mode -> `ppo` with
//    advantages that carry the gate weight, the clamp and the aggregation; direct mode ->
//    `cross_entropy` with weights = -dL/ds. The loss value and metrics are the in-process ones,
//    computed by @vzero/opd-loss at s;
// 3. `forward_backward` then `optim_step`, the second submitted before the first is read.
// What does not carry over: the reference's dual clip (a PPO term for A < 0 capped at -A * 3)
// has no counterpart in the service's `ppo`; it acts only when a ratio exceeds 3, and the
// step's metrics report how often it would have (opd.clipFractionLower).
import * as tf from '@tensorflow/tfjs-core';
import { InvalidInputError, type Prompt, type TeacherScores, type Trajectory } from '@vzero/core';
import {
  crossEntropyWeights,
  opdLoss,
  opdLossMetrics,
  policyGradientAdvantages,
  type OpdLossConfig,
  type OpdLossMetrics,
} from '@vzero/opd-loss';
import { alignToTargets, type TrainingInput } from '@vzero/renderers';
import { padTrajectories } from '@vzero/rollout';
import type { AdamParamsInput, Datum } from '@vzero/tinker';
import { splitRows } from '../mini-batch.js';
import { packTeacherLogprobs, packTokenWeights } from '../steps/teacher-rows.js';
import type { RemoteStudent } from './student.js';

export interface RemoteUpdate {
  /** Means over the chunks, as the in-process update reports them. */
  readonly loss: number;
  readonly gradNorm: number;
  readonly metrics: OpdLossMetrics[];
}

const tensor = (t: TrainingInput, key: string, values: number[], dtype: 'int64' | 'float32') => ({
  [key]: { data: values, dtype, shape: [t.targetTokens.length] },
});

export async function remoteUpdate(
  student: RemoteStudent,
  trajectories: readonly Trajectory[],
  promptById: ReadonlyMap<string, Prompt>,
  scores: readonly TeacherScores[],
  /** Per trajectory: one gate weight, or (gate.level token) one per response token. */
  weights: ArrayLike<number> | readonly Float64Array[],
  lossConfig: OpdLossConfig,
  miniBatches: number,
  adam: AdamParamsInput,
): Promise<RemoteUpdate> {
  if (lossConfig.estimator === 'forward-kl-topk') {
    throw new InvalidInputError(
      'loss.estimator',
      lossConfig.estimator,
      'a remote student trains with k1, abs, k2 or k3',
    );
  }
  let lossSum = 0;
  let normSum = 0;
  const metrics: OpdLossMetrics[] = [];
  const chunks = splitRows(trajectories.length, miniBatches);
  for (const rows of chunks) {
    const chunk = rows.map((r) => trajectories[r] as Trajectory);
    const padded = padTrajectories(chunk, { padId: 0 });
    const B = chunk.length;
    const T = padded.length;
    const training = chunk.map((tr) =>
      student.renderer.renderTraining(promptById.get(tr.promptId) as Prompt, tr.tokenIds),
    );
    const targets = (t: TrainingInput) => tensor(t, 'target_tokens', t.targetTokens, 'int64');

    // 1. The student's current log-probs of the sampled tokens.
    const probe = training.map((t): Datum => ({
      model_input: t.modelInput as never,
      loss_fn_inputs: {
        ...targets(t),
        ...tensor(
          t,
          'weights',
          t.weights.map(() => 0),
          'float32',
        ),
      },
    }));
    const forward = await (await student.training.forward(probe, 'cross_entropy')).result();
    const current = new Float32Array(B * T);
    forward.loss_fn_outputs.forEach((o, b) => {
      const t = training[b] as TrainingInput;
      const lp = o['logprobs']?.data ?? [];
      for (let k = 0; k < t.responseTokenCount; k++) current[b * T + k] = lp[t.responseStart + k] as number;
    });

    // 2. The toolkit's loss at s (value and metrics) and its per-token numbers for the service.
    const teacher = packTeacherLogprobs(rows, T, scores);
    const rowOf = (x: Float32Array, b: number) => x.subarray(b * T, (b + 1) * T);
    // Per-token weights (gate.level token) as [B, T] rows, else one number per row.
    const tokenWeights =
      typeof weights[0] === 'object'
        ? packTokenWeights(rows, T, weights as readonly Float64Array[])
        : undefined;
    const rowWeights = rows.map((r) => weights[r] as number);
    const lossInputs = {
      studentLogprobs: training.map((_t, b) => rowOf(current, b)),
      teacherLogprobs: training.map((_t, b) => rowOf(teacher, b)),
      mask: training.map((_t, b) => rowOf(padded.mask, b)),
      weights: tokenWeights ? training.map((_t, b) => rowOf(tokenWeights, b)) : rowWeights,
    };
    // The inputs as tensors for @vzero/opd-loss (opdLossMetrics reads back in its own tidy).
    const inputs = {
      studentLogprobs: tf.tensor2d(current, [B, T]),
      oldLogprobs: tf.tensor2d(padded.logprobs, [B, T]),
      teacherLogprobs: tf.tensor2d(teacher, [B, T]),
      mask: tf.tensor2d(padded.mask, [B, T]),
      weights: tokenWeights ? tf.tensor2d(tokenWeights, [B, T]) : tf.tensor1d(rowWeights),
    };
    let value: number;
    let m: OpdLossMetrics;
    try {
      value = tf.tidy(() => opdLoss(inputs, lossConfig).dataSync()[0] as number);
      m = opdLossMetrics(inputs, lossConfig);
    } finally {
      for (const x of Object.values(inputs)) x.dispose();
    }
    metrics.push(m);
    lossSum += value;
    const perToken = (t: TrainingInput, row: number[]) =>
      alignToTargets(t, row.slice(0, t.responseTokenCount));
    let data: Datum[];
    let lossFn: 'ppo' | 'cross_entropy';
    let lossFnConfig: Record<string, number> | undefined;
    if (lossConfig.mode === 'pg') {
      const advantages = policyGradientAdvantages(lossInputs, lossConfig);
      data = training.map((t, b) => ({
        model_input: t.modelInput as never,
        loss_fn_inputs: {
          ...targets(t),
          ...tensor(t, 'logprobs', perToken(t, Array.from(rowOf(padded.logprobs, b))), 'float32'),
          ...tensor(t, 'advantages', perToken(t, advantages[b] as number[]), 'float32'),
        },
      }));
      lossFn = 'ppo';
      lossFnConfig = {
        clip_low_threshold: 1 - lossConfig.clipLow,
        clip_high_threshold: 1 + lossConfig.clipHigh,
      };
    } else {
      const w = crossEntropyWeights(lossInputs, lossConfig);
      data = training.map((t, b) => ({
        model_input: t.modelInput as never,
        loss_fn_inputs: { ...targets(t), ...tensor(t, 'weights', perToken(t, w[b] as number[]), 'float32') },
      }));
      lossFn = 'cross_entropy';
      lossFnConfig = undefined;
    }

    // 3. Gradients and the Adam step, pipelined.
    const fb = await student.training.forwardBackward(data, lossFn, lossFnConfig);
    const step = await student.training.optimStep(adam);
    await fb.result();
    const stepped = await step.result();
    normSum += stepped.metrics?.['grad_norm:mean'] ?? Number.NaN;
  }
  return { loss: lossSum / chunks.length, gradNorm: normSum / chunks.length, metrics };
}
