// The one mini-batch update every rollout-based method uses (V-Zero, OPD, GRPO): one pass over
// the step's trajectories in optim.miniBatches chunks (one PPO epoch, as the reference launcher),
// an AdamW step per chunk. A method supplies only its objective: the chunk's constant tensors and
// a loss (and metrics) of the student's forward pass.
import * as tf from '@tensorflow/tfjs-core';
import type { Prompt, Trajectory } from '@vzero/core';
import { padTrajectories, type PaddedBatch } from '@vzero/rollout';
import type { LoadedPolicy } from './models.js';
import type { AdamW } from './optim.js';

/** One chunk of a step's trajectories. */
export interface MiniBatch {
  /** Indices of the chunk's trajectories in the step's list. */
  readonly rows: readonly number[];
  /** The chunk padded to its longest response: old log-probs and mask, [B, T] row-major. */
  readonly padded: PaddedBatch;
  readonly B: number;
  readonly T: number;
}

/** The student's forward pass over a chunk: response log-probs [B, T] and, when asked, at top-K ids [B, T, K]. */
export interface StudentForward {
  readonly logprobs: tf.Tensor2D;
  readonly topK: tf.Tensor3D | undefined;
}

export interface MiniBatchObjective<M> {
  /** Token ids [B, T, K] at which the forward pass also reads the student's log-probs. */
  readonly topKIds?: tf.Tensor3D | undefined;
  readonly loss: (forward: StudentForward) => tf.Scalar;
  /** Metrics of the forward pass the gradient used, read before the optimizer step. */
  readonly metrics?: (forward: StudentForward) => M;
}

/** Builds a chunk's objective; constant tensors go through `hold`, which disposes them after the chunk. */
export type ObjectiveOf<M> = (
  chunk: MiniBatch,
  hold: <T extends tf.Tensor>(x: T) => T,
) => MiniBatchObjective<M>;

export interface MiniBatchUpdate<M> {
  /** Means over the chunks. */
  readonly loss: number;
  readonly gradNorm: number;
  /** Per chunk (empty when the objective has no metrics). */
  readonly metrics: M[];
}

export function updateInMiniBatches<M = never>(
  student: LoadedPolicy,
  optimizer: AdamW,
  trajectories: readonly Trajectory[],
  promptById: ReadonlyMap<string, Prompt>,
  miniBatches: number,
  objectiveOf: ObjectiveOf<M>,
  options: {
    /** Rows with the same images encode them once (optim.sharePrefix; Model.sharedPrefixLogprobs). */
    readonly sharePrefix?: boolean;
  } = {},
): MiniBatchUpdate<M> {
  const chunks = splitRows(trajectories.length, miniBatches);
  let lossSum = 0;
  let normSum = 0;
  const metrics: M[] = [];
  for (const rows of chunks) {
    const chunk = rows.map((r) => trajectories[r] as Trajectory);
    const padded = padTrajectories(chunk, { padId: student.tokenizer.padId });
    const batch = student.policy.batch(
      chunk.map((tr) => promptById.get(tr.promptId) as Prompt),
      chunk.map((tr) => tr.tokenIds),
    );
    // Constants of the chunk (teacher log-probs, mask, old log-probs, weights) carry no gradient.
    const held: tf.Tensor[] = [];
    const hold = <T extends tf.Tensor>(x: T): T => (held.push(x), x);
    try {
      const objective = objectiveOf({ rows, padded, B: chunk.length, T: padded.length }, hold);
      // Metrics come from the forward pass the gradient uses (kept out of its tidy), read
      // before the optimizer step: a second forward pass would compute the same numbers.
      let kept: StudentForward | undefined;
      const result = tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => {
          const logprobs = student.model.responseLogprobs(batch, {
            sharePrefix: options.sharePrefix ?? false,
          });
          const topK = objective.topKIds
            ? student.model.responseTopKLogprobs(batch, objective.topKIds)
            : undefined;
          if (objective.metrics)
            kept = { logprobs: hold(tf.keep(logprobs)), topK: topK ? hold(tf.keep(topK)) : undefined };
          return objective.loss({ logprobs, topK });
        }, student.model.trainableVariables);
        if (objective.metrics) metrics.push(objective.metrics(kept as StudentForward));
        return { loss: value.dataSync()[0] as number, norm: optimizer.apply(grads) };
      });
      lossSum += result.loss;
      normSum += result.norm;
    } finally {
      for (const x of held) x.dispose();
    }
  }
  return { loss: lossSum / chunks.length, gradNorm: normSum / chunks.length, metrics };
}

/** `count` rows in `parts` contiguous chunks of near-equal size (at least one row each). */
export function splitRows(count: number, parts: number): number[][] {
  const n = Math.max(1, Math.min(parts, count));
  const out: number[][] = [];
  for (let p = 0; p < n; p++) {
    const lo = Math.floor((p * count) / n);
    const hi = Math.floor(((p + 1) * count) / n);
    out.push(Array.from({ length: hi - lo }, (_, i) => lo + i));
  }
  return out;
}
