// The tensors a loss call reads, and their checks. Shapes and the mask are always checked (the
// mask read is B*T numbers); finiteness of log-probs is an opt-in full read (validateOpdInputs).
import * as tf from '@tensorflow/tfjs-core';
import { InvalidInputError, ShapeMismatchError } from '@vzero/core';
import { DEFAULT_OPD_LOSS_CONFIG, type OpdLossConfig } from './config.js';

export interface OpdLossInputs {
  /** [B, T] current-policy log-probs of the sampled tokens: the only thing gradients flow to. */
  readonly studentLogprobs: tf.Tensor2D;
  /** [B, T] log-probs at sampling time (pg mode); default: studentLogprobs detached, ratio 1. */
  readonly oldLogprobs?: tf.Tensor2D;
  /** [B, T] positive-view teacher log-probs l+ (treated as constants). */
  readonly teacherLogprobs: tf.Tensor2D;
  /** [B, T] 1 for a real response token, 0 for padding. */
  readonly mask: tf.Tensor2D;
  /**
   * Gate weights (constants): [B], one per sequence (the sequence gate), or [B, T], one per token
   * (the token gate; values at padded positions are never read). Default ones, i.e. plain OPD.
   */
  readonly weights?: tf.Tensor1D | tf.Tensor2D;
  /** [B, T, K] student log-probs at the teacher's top-K token ids (forward-kl-topk; gradients flow here). */
  readonly studentTopK?: tf.Tensor3D;
  /** [B, T, K] the teacher's top-K log-probs (forward-kl-topk; constants). */
  readonly teacherTopK?: tf.Tensor3D;
}

/** Checks shapes, presence of what the estimator needs, and that the mask holds only 0 and 1. */
export function checkOpdInputs(inputs: OpdLossInputs, config: OpdLossConfig = DEFAULT_OPD_LOSS_CONFIG): void {
  if (inputs === null || typeof inputs !== 'object') {
    throw new InvalidInputError('inputs', inputs, 'expected an object of tensors');
  }
  const s = tensorOf('studentLogprobs', inputs.studentLogprobs);
  if (s.rank !== 2) throw new ShapeMismatchError('studentLogprobs', 'rank 2 [B, T]', shapeOf(s));
  const [b, t] = s.shape as [number, number];
  const bt = `[${b}, ${t}] (as studentLogprobs)`;
  sameShape('teacherLogprobs', tensorOf('teacherLogprobs', inputs.teacherLogprobs), [b, t], bt);
  sameShape('mask', tensorOf('mask', inputs.mask), [b, t], bt);
  if (inputs.oldLogprobs !== undefined)
    sameShape('oldLogprobs', tensorOf('oldLogprobs', inputs.oldLogprobs), [b, t], bt);
  if (inputs.weights !== undefined) {
    const weights = tensorOf('weights', inputs.weights);
    sameShape(
      'weights',
      weights,
      weights.rank === 2 ? [b, t] : [b],
      weights.rank === 2
        ? `[${b}, ${t}] (one weight per token of studentLogprobs)`
        : `[${b}] (one weight per row of studentLogprobs)`,
    );
  }
  if (config.estimator === 'forward-kl-topk') {
    for (const field of ['teacherTopK', 'studentTopK'] as const) {
      if (inputs[field] === undefined) {
        throw new InvalidInputError(
          field,
          undefined,
          'required by estimator forward-kl-topk ([B, T, K] log-probs)',
        );
      }
    }
    const tk = tensorOf('teacherTopK', inputs.teacherTopK);
    if (tk.rank !== 3 || tk.shape[0] !== b || tk.shape[1] !== t || (tk.shape[2] ?? 0) < 1) {
      throw new ShapeMismatchError('teacherTopK', `[${b}, ${t}, K] with K >= 1`, shapeOf(tk));
    }
    sameShape(
      'studentTopK',
      tensorOf('studentTopK', inputs.studentTopK),
      tk.shape,
      `[${tk.shape.join(', ')}] (as teacherTopK)`,
    );
  }
  const mask = inputs.mask.dataSync();
  for (let i = 0; i < mask.length; i++) {
    const m = mask[i];
    if (m !== 0 && m !== 1)
      throw new InvalidInputError(`mask[${Math.floor(i / t)}][${i % t}]`, m, 'expected 0 or 1');
  }
}

/**
 * checkOpdInputs plus a full read of the values: every log-prob at a real token (mask 1) and
 * every weight must be finite. Costs one data read per input; call it where a NaN must be caught
 * at its source (e.g. the first steps of a run, or in tests), not necessarily every step.
 */
export function validateOpdInputs(
  inputs: OpdLossInputs,
  config: OpdLossConfig = DEFAULT_OPD_LOSS_CONFIG,
): void {
  checkOpdInputs(inputs, config);
  const [, t] = inputs.studentLogprobs.shape;
  const mask = inputs.mask.dataSync();
  const perToken = (field: string, tensor: tf.Tensor | undefined, what = 'log-prob'): void => {
    if (tensor === undefined) return;
    const values = tensor.dataSync();
    const k = tensor.rank === 3 ? (tensor.shape[2] as number) : 1;
    for (let i = 0; i < values.length; i++) {
      const token = Math.floor(i / k);
      if (mask[token] !== 1 || Number.isFinite(values[i])) continue;
      const where = `[${Math.floor(token / t)}][${token % t}]${tensor.rank === 3 ? `[${i % k}]` : ''}`;
      throw new InvalidInputError(
        `${field}${where}`,
        values[i],
        `expected a finite ${what} at a real token (mask 1)`,
      );
    }
  };
  perToken('studentLogprobs', inputs.studentLogprobs);
  perToken('teacherLogprobs', inputs.teacherLogprobs);
  perToken('oldLogprobs', inputs.oldLogprobs);
  if (config.estimator === 'forward-kl-topk') {
    perToken('teacherTopK', inputs.teacherTopK);
    perToken('studentTopK', inputs.studentTopK);
  }
  if (inputs.weights?.rank === 2) {
    perToken('weights', inputs.weights, 'weight');
  } else if (inputs.weights !== undefined) {
    const w = inputs.weights.dataSync();
    w.forEach((v, i) => {
      if (!Number.isFinite(v)) throw new InvalidInputError(`weights[${i}]`, v, 'expected a finite weight');
    });
  }
}

function tensorOf(field: string, value: unknown): tf.Tensor {
  if (!(value instanceof tf.Tensor)) throw new InvalidInputError(field, value, 'expected a tf.Tensor');
  if (value.isDisposed) throw new InvalidInputError(field, shapeOf(value), 'the tensor is disposed');
  return value;
}

function sameShape(field: string, tensor: tf.Tensor, shape: readonly number[], expected: string): void {
  if (tensor.rank !== shape.length || tensor.shape.some((d, i) => d !== shape[i])) {
    throw new ShapeMismatchError(field, expected, shapeOf(tensor));
  }
}

function shapeOf(tensor: tf.Tensor): string {
  return `[${tensor.shape.join(', ')}]`;
}
