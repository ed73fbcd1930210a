// The distillation objective: per-token estimator -> clamp -> gate weight -> PG surrogate or
// direct loss -> aggregation. `opdLoss` builds only the scalar (safe inside tf.variableGrads);
// `opdLossMetrics` recomputes the same terms in its own tidy and returns plain numbers.
import * as tf from '@tensorflow/tfjs-core';
import { aggregateLoss } from './aggregate.js';
import { DEFAULT_OPD_LOSS_CONFIG, validateOpdLossConfig, type OpdLossConfig } from './config.js';
import { detach } from './detach.js';
import { forwardKlTopK, tokenEstimator } from './estimators.js';
import { checkOpdInputs, type OpdLossInputs } from './inputs.js';

export interface OpdLossMetrics {
  /** The aggregated loss. */
  readonly loss: number;
  /** Mean |estimator value| over real tokens, before clamp and weight. */
  readonly meanAbsLoss: number;
  /** Fraction of real tokens whose estimator value was clamped (|value| > clamp). */
  readonly clampFraction: number;
  /** pg: fraction of real tokens where the PPO clip is active (verl's pg_clipfrac); direct: 0. */
  readonly clipFraction: number;
  /** pg: fraction of real tokens where the dual clip caps a negative advantage; direct: 0. */
  readonly clipFractionLower: number;
  /** exp(clamp(new - old)) over real tokens (1 when there are none or no oldLogprobs). */
  readonly ratioMean: number;
  readonly ratioMin: number;
  readonly ratioMax: number;
  /** Mean of old - new log-prob over real tokens (verl's ppo_kl). */
  readonly approxKl: number;
  /** forward-kl-topk: mean over real tokens of sum_j exp(teacher top-K log-prob). */
  readonly topKTeacherMass?: number;
  /** forward-kl-topk: mean over real tokens of sum_j exp(student log-prob at those ids). */
  readonly topKStudentMass?: number;
  /** Real (mask 1) tokens. */
  readonly tokens: number;
}

interface Terms {
  readonly perToken: tf.Tensor2D;
  readonly estimate: tf.Tensor2D;
  readonly valid: tf.Tensor2D;
  readonly ratio: tf.Tensor2D;
  readonly logRatio: tf.Tensor2D;
  readonly clipped?: tf.Tensor2D;
  readonly dualClipped?: tf.Tensor2D;
}

/**
 * The scalar loss of a batch. Gradients flow to `studentLogprobs` (and, for forward-kl-topk, to
 * `studentTopK`) only: teacher, old log-probs and weights are detached. Checks config, shapes and
 * mask values; padded positions never influence the loss or its gradient, even if NaN.
 * Call it inside tf.variableGrads / optimizer.minimize; it leaves no tensor behind but the loss.
 */
export function opdLoss(inputs: OpdLossInputs, config: OpdLossConfig = DEFAULT_OPD_LOSS_CONFIG): tf.Scalar {
  validateOpdLossConfig(config);
  checkOpdInputs(inputs, config);
  return tf.tidy(() =>
    aggregateLoss(
      lossTerms(inputs, config, false).perToken,
      inputs.mask,
      config.aggregation,
      config.lossScaleFactor,
    ),
  );
}

/** Diagnostics of the same computation as opdLoss, as plain numbers (one data read). */
export function opdLossMetrics(
  inputs: OpdLossInputs,
  config: OpdLossConfig = DEFAULT_OPD_LOSS_CONFIG,
): OpdLossMetrics {
  validateOpdLossConfig(config);
  checkOpdInputs(inputs, config);
  const topK = config.estimator === 'forward-kl-topk';
  let values: OpdLossMetrics | undefined;
  tf.tidy(() => {
    const terms = lossTerms(inputs, config, true);
    const loss = aggregateLoss(terms.perToken, inputs.mask, config.aggregation, config.lossScaleFactor);
    const validB = tf.cast(terms.valid, 'bool');
    const zeros = tf.zerosLike(terms.estimate);
    const tokens = tf.sum(tf.cast(validB, 'float32'));
    const denom = tf.maximum(tokens, 1);
    const mean = (x: tf.Tensor) => tf.div(tf.sum(tf.where(validB, x, zeros)), denom);
    const fraction = (flag: tf.Tensor) => mean(tf.cast(flag, 'float32'));
    const hasTokens = tf.greater(tokens, 0);
    const ratioMin = tf.where(
      hasTokens,
      tf.min(tf.where(validB, terms.ratio, tf.fill(terms.ratio.shape, Infinity))),
      1,
    );
    const ratioMax = tf.where(
      hasTokens,
      tf.max(tf.where(validB, terms.ratio, tf.fill(terms.ratio.shape, -Infinity))),
      1,
    );
    const abs = tf.abs(terms.estimate);
    const mass = (x: tf.Tensor3D) =>
      mean(tf.sum(tf.exp(tf.where(tf.expandDims(validB, -1), x, tf.fill(x.shape, -Infinity))), -1));
    const named: MetricTensors = {
      loss,
      meanAbsLoss: mean(abs),
      clampFraction: fraction(tf.greater(abs, config.clamp)),
      clipFraction: terms.clipped ? fraction(terms.clipped) : tf.scalar(0),
      clipFractionLower: terms.dualClipped ? fraction(terms.dualClipped) : tf.scalar(0),
      ratioMean: tf.where(hasTokens, mean(terms.ratio), 1),
      ratioMin,
      ratioMax,
      approxKl: tf.neg(mean(terms.logRatio)),
      tokens,
      ...(topK
        ? {
            topKTeacherMass: mass(inputs.teacherTopK as tf.Tensor3D),
            topKStudentMass: mass(inputs.studentTopK as tf.Tensor3D),
          }
        : {}),
    };
    values = readScalars(named);
  });
  const read = values as OpdLossMetrics;
  return { ...read, approxKl: read.approxKl + 0 }; // + 0 turns -0 into 0
}

/** Each metric as a scalar tensor, under its name. */
type MetricTensors = { readonly [K in keyof OpdLossMetrics]: tf.Tensor };

/** Scalar tensors by name -> numbers by the same names (and order), in one data read. */
function readScalars(named: MetricTensors): OpdLossMetrics {
  const names = Object.keys(named) as (keyof OpdLossMetrics)[];
  const scalars = names.map((n) => tf.reshape(tf.cast(named[n] as tf.Tensor, 'float32'), []));
  const values = tf.stack(scalars).dataSync();
  return Object.fromEntries(names.map((n, i) => [n, values[i] as number])) as unknown as OpdLossMetrics;
}

/**
 * Per-token terms of the objective, padded positions zeroed before any arithmetic. The clip
 * flags are built only for diagnostics, off the loss's tape.
 */
function lossTerms(inputs: OpdLossInputs, config: OpdLossConfig, diagnostics: boolean): Terms {
  const valid = tf.cast(inputs.mask, 'bool') as tf.Tensor2D;
  // Constants (never zerosLike(student): that would link the student to every masked term).
  const zeros = tf.zeros(inputs.studentLogprobs.shape) as tf.Tensor2D;
  // Zeroing through `where` (not a multiply) keeps NaN padding out of values and gradients.
  const clean = (x: tf.Tensor2D) => tf.where(valid, x, zeros);
  const student = clean(inputs.studentLogprobs);
  const teacher = detach(clean(inputs.teacherLogprobs));
  const old = inputs.oldLogprobs === undefined ? detach(student) : detach(clean(inputs.oldLogprobs));
  // A constant, never onesLike(student): that would put the student on the weights' tape.
  // Per-token weights [B, T] are zeroed at padding first (a NaN there would otherwise reach the
  // student's gradient through the product); per-sequence weights [B] broadcast over T.
  const weights =
    inputs.weights === undefined
      ? tf.ones([student.shape[0], 1])
      : inputs.weights.rank === 2
        ? detach(clean(inputs.weights as tf.Tensor2D))
        : tf.reshape(detach(inputs.weights), [-1, 1]);
  const logRatio = tf.clipByValue(
    tf.sub(student, old),
    -config.logRatioClamp,
    config.logRatioClamp,
  ) as tf.Tensor2D;
  const ratio = tf.exp(logRatio);
  const clampValue = (x: tf.Tensor) => tf.clipByValue(x, -config.clamp, config.clamp);

  if (config.mode === 'direct') {
    let estimate: tf.Tensor2D;
    if (config.estimator === 'forward-kl-topk') {
      const valid3 = tf.expandDims(valid, -1);
      const studentTopK = inputs.studentTopK as tf.Tensor3D;
      const zeros3 = tf.zeros(studentTopK.shape) as tf.Tensor3D;
      // Padded positions become a zero-KL pair (teacher = student = log 1).
      estimate = forwardKlTopK(
        tf.where(valid3, studentTopK, zeros3),
        detach(tf.where(valid3, inputs.teacherTopK as tf.Tensor3D, zeros3)),
      );
    } else {
      estimate = tokenEstimator(config.estimator as 'abs' | 'k2' | 'k3', student, teacher) as tf.Tensor2D;
    }
    const perToken = clean(tf.mul(weights, clampValue(estimate)) as tf.Tensor2D);
    return { perToken, estimate, valid, ratio, logRatio };
  }

  // Policy gradient: A = -(w * clamp(estimator)) is a constant; the gradient comes from the ratio.
  const estimate = tokenEstimator(
    config.estimator as 'k1' | 'abs' | 'k2' | 'k3',
    detach(student),
    teacher,
  ) as tf.Tensor2D;
  const advantage = detach(tf.neg(tf.mul(weights, clampValue(estimate)))) as tf.Tensor2D;
  const pg = ppoSurrogate(ratio, advantage, config);
  const perToken = clean(pg.loss);
  if (!diagnostics) return { perToken, estimate, valid, ratio, logRatio };
  return { perToken, estimate, valid, ratio, logRatio, clipped: pg.clipped(), dualClipped: pg.dualClipped() };
}

/**
 * The PPO clipped surrogate per token (verl's formulation): max(-A r, -A clip(r, 1 - clipLow,
 * 1 + clipHigh)), capped at -A * dualClip where A < 0. `advantage` must be a constant (detached);
 * the gradient flows through `ratio`. Also used by baselines with their own advantages (GRPO).
 * The clip masks are built only when asked for (they are diagnostics, not part of the loss).
 */
export function ppoSurrogate(
  ratio: tf.Tensor2D,
  advantage: tf.Tensor2D,
  config: Pick<OpdLossConfig, 'clipLow' | 'clipHigh' | 'dualClip'>,
): { loss: tf.Tensor2D; clipped: () => tf.Tensor2D; dualClipped: () => tf.Tensor2D } {
  const negA = tf.neg(advantage);
  const loss1 = tf.mul(negA, ratio);
  const loss2 = tf.mul(negA, tf.clipByValue(ratio, 1 - config.clipLow, 1 + config.clipHigh));
  const clippedLoss = tf.maximum(loss1, loss2);
  const loss3 = tf.mul(negA, config.dualClip);
  const negative = tf.less(advantage, 0);
  return {
    loss: tf.where(negative, tf.minimum(clippedLoss, loss3), clippedLoss) as tf.Tensor2D,
    clipped: () => tf.greater(loss2, loss1) as tf.Tensor2D,
    dualClipped: () => tf.logicalAnd(negative, tf.greater(clippedLoss, loss3)) as tf.Tensor2D,
  };
}
