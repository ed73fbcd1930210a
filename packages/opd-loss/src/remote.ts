// The loss as per-token numbers for a remote trainer (a Tinker-compatible service), whose
// built-in losses are sum-reduced over tokens:
//   cross_entropy:        L = -sum_k weights_k * logp_k
//   importance_sampling:  L = -sum_k exp(logp_k - sampling_logp_k) * advantages_k
//   ppo:                  the clipped form of importance_sampling
// Direct mode maps onto cross_entropy with weights_k = -dL/ds_k, the derivative of this package's
// whole scalar loss with respect to the student's log-prob of each sampled token, at the current
// s: a cross_entropy step there has the toolkit's gradient. Policy-gradient mode maps onto
// importance_sampling / ppo with A'_k = c_k * A_k, the toolkit's advantage times the aggregation's
// per-token factor c_k, which makes the sum-reduced surrogate equal to the aggregated one.
// Plain arrays in float64, no TensorFlow.js. docs/METHOD.md, "Remote training", has the formulas.
import { InvalidInputError, ShapeMismatchError } from '@vzero/core';
import {
  DEFAULT_OPD_LOSS_CONFIG,
  validateOpdLossConfig,
  type Aggregation,
  type OpdLossConfig,
} from './config.js';
import { K3_LOG_RATIO_CLAMP, K3_VALUE_CLAMP } from './estimators.js';

/** Rows of numbers: `[B][T]`, every row the same length T. */
export type Rows = readonly ArrayLike<number>[];

/** The inputs of `opdLoss` as plain arrays (rows of a padded `[B, T]` batch). */
export interface RemoteLossInputs {
  /** [B][T] the student's log-probs of the sampled tokens (those the service will score). */
  readonly studentLogprobs: Rows;
  /** [B][T] positive-view teacher log-probs l+. */
  readonly teacherLogprobs: Rows;
  /** [B][T] 1 for a real response token, 0 for padding (whose values are never read). */
  readonly mask: Rows;
  /** [B] one gate weight per sequence, or [B][T] one per token (gate level 'token'); default 1. */
  readonly weights?: ArrayLike<number> | Rows;
  /** [B][T][K] student log-probs at the teacher's top-K ids (forward-kl-topk only). */
  readonly studentTopK?: readonly Rows[];
  /** [B][T][K] the teacher's top-K log-probs (forward-kl-topk only). */
  readonly teacherTopK?: readonly Rows[];
}

/**
 * c[b][k], the aggregation's per-token factor: every aggregation is linear in the per-token
 * losses, `L = sum_bk c_bk l_bk`, with (N real tokens, n_b those of row b, S the rows with at
 * least one real token, F = lossScaleFactor or T):
 * - token-mean: 1 / max(N, 1)
 * - seq-mean-token-mean: 1 / (max(|S|, 1) * n_b)
 * - seq-mean-token-sum: 1 / max(|S|, 1)
 * - seq-mean-token-sum-norm: 1 / (max(|S|, 1) * F)
 * and 0 at padded positions.
 */
export function aggregationFactors(
  mask: Rows,
  aggregation: Aggregation,
  lossScaleFactor?: number,
): number[][] {
  const counts = mask.map((row) => {
    let n = 0;
    for (let k = 0; k < row.length; k++) if (row[k] === 1) n++;
    return n;
  });
  const total = counts.reduce((a, b) => a + b, 0);
  const sequences = counts.filter((n) => n > 0).length;
  const t = mask[0]?.length ?? 0;
  const perRow = (n: number): number => {
    switch (aggregation) {
      case 'token-mean':
        return 1 / Math.max(total, 1);
      case 'seq-mean-token-mean':
        return 1 / (Math.max(sequences, 1) * Math.max(n, 1));
      case 'seq-mean-token-sum':
        return 1 / Math.max(sequences, 1);
      case 'seq-mean-token-sum-norm':
        return 1 / (Math.max(sequences, 1) * (lossScaleFactor ?? t));
    }
  };
  return mask.map((row, b) => {
    const c = perRow(counts[b] as number);
    return Array.from(row, (m) => (m === 1 ? c : 0));
  });
}

/**
 * Direct mode as cross_entropy: weights[b][k] = -dL/ds_bk, the derivative of `opdLoss`'s scalar
 * (estimator, clamp, gate weight, aggregation) with respect to the student's log-prob of each
 * sampled token, at the given log-probs. A cross_entropy step (`-sum_k weights_k logp_k`) at
 * that point has the same gradient as the toolkit's loss. Padded positions get 0.
 *
 * Per real token: weights = -c w g v', with c the aggregation factor (`aggregationFactors`), w
 * the gate weight, g = 1 where -clamp <= v <= clamp and 0 outside (tfjs's and torch's clamp
 * gradient: the bounds themselves pass), and v' = dv/ds:
 * abs: sign(s - t), 0 at a tie; k2: s - t; k3: 1 - e^c where c = t - s lies in [-20, 20] and
 * the value in [0, 10], else 0. The weights can be negative (push a log-prob down).
 *
 * Needs mode 'direct' and estimator abs, k2 or k3 (forward-kl-topk: `topKCrossEntropyWeights`;
 * k1 is refused in direct mode as by `opdLoss`).
 */
export function crossEntropyWeights(
  inputs: RemoteLossInputs,
  config: OpdLossConfig = DEFAULT_OPD_LOSS_CONFIG,
): number[][] {
  validateOpdLossConfig(config);
  if (config.mode !== 'direct') {
    throw new InvalidInputError(
      'opdLoss.mode',
      config.mode,
      'crossEntropyWeights maps direct mode; use policyGradientAdvantages for mode "pg"',
    );
  }
  if (config.estimator === 'forward-kl-topk') {
    throw new InvalidInputError(
      'opdLoss.estimator',
      config.estimator,
      'its gradient is per top-K token id, not per sampled token; use topKCrossEntropyWeights',
    );
  }
  const batch = readInputs(inputs, false);
  const factors = aggregationFactors(batch.mask, config.aggregation, config.lossScaleFactor);
  const estimator = config.estimator;
  return perRealToken(batch, factors, (s, t, c, w) => {
    const [value, slope] = valueAndSlope(estimator, s, t);
    const passes = value >= -config.clamp && value <= config.clamp;
    return passes ? -c * w * slope : 0;
  });
}

/**
 * Direct forward-KL top-K as cross_entropy over the teacher's top-K ids: weights[b][k][j] =
 * -dL/d(log p_S(j)) = c w g p_T(j), with p_T(j) = exp(teacherTopK[b][k][j]) and g the clamp's gate
 * on the token's top-K KL (see crossEntropyWeights). A service whose cross_entropy takes one
 * target per position gets K copies of each sequence: copy j targets the j-th top-K id at every
 * position with weights[b][.][j]; the copies' summed gradient is the toolkit's.
 */
export function topKCrossEntropyWeights(
  inputs: RemoteLossInputs,
  config: OpdLossConfig = DEFAULT_OPD_LOSS_CONFIG,
): number[][][] {
  validateOpdLossConfig(config);
  if (config.estimator !== 'forward-kl-topk') {
    throw new InvalidInputError(
      'opdLoss.estimator',
      config.estimator,
      'topKCrossEntropyWeights maps forward-kl-topk; use crossEntropyWeights for abs, k2 or k3',
    );
  }
  const batch = readInputs(inputs, true);
  const factors = aggregationFactors(batch.mask, config.aggregation, config.lossScaleFactor);
  const sK = batch.studentTopK as readonly Rows[];
  const tK = batch.teacherTopK as readonly Rows[];
  const kk = batch.topK;
  return batch.mask.map((row, b) =>
    Array.from({ length: batch.t }, (_, k) => {
      if (row[k] !== 1) return new Array<number>(kk).fill(0);
      const teacher = (tK[b] as Rows)[k] as ArrayLike<number>;
      const student = (sK[b] as Rows)[k] as ArrayLike<number>;
      let value = 0;
      for (let j = 0; j < kk; j++) {
        const lt = teacher[j] as number;
        value += Math.exp(lt) * (lt - (student[j] as number));
      }
      const passes = value >= -config.clamp && value <= config.clamp;
      const scale = passes ? ((factors[b] as number[])[k] as number) * batch.weight(b, k) : 0;
      return Array.from({ length: kk }, (_, j) => plusZero(scale * Math.exp(teacher[j] as number)));
    }),
  );
}

/**
 * Policy-gradient mode as importance_sampling / ppo advantages: A'[b][k] = c_bk * A_bk with
 * A = -(w * clamp(v)) the toolkit's detached advantage (v the estimator at the given student
 * log-probs: k1 = s - t, or abs, k2, k3) and c the aggregation factor. Every aggregation is
 * `sum_k c_k l_k` and the PPO surrogate is positively homogeneous in A (c > 0), so
 * `-sum_k r_k A'_k` (importance_sampling) equals the aggregated unclipped surrogate at every
 * ratio r, and the clipped surrogate with A' equals the aggregated clipped one: the same value
 * and gradient. E.g. token-mean: A' = A / N. Padded positions get 0.
 */
export function policyGradientAdvantages(
  inputs: RemoteLossInputs,
  config: OpdLossConfig = DEFAULT_OPD_LOSS_CONFIG,
): number[][] {
  validateOpdLossConfig(config);
  if (config.mode !== 'pg') {
    throw new InvalidInputError(
      'opdLoss.mode',
      config.mode,
      'policyGradientAdvantages maps mode "pg"; use crossEntropyWeights for mode "direct"',
    );
  }
  const batch = readInputs(inputs, false);
  const factors = aggregationFactors(batch.mask, config.aggregation, config.lossScaleFactor);
  const estimator = config.estimator as 'k1' | 'abs' | 'k2' | 'k3';
  return perRealToken(batch, factors, (s, t, c, w) => {
    const value = valueAndSlope(estimator, s, t)[0];
    return -c * w * Math.min(config.clamp, Math.max(-config.clamp, value));
  });
}

/** The estimator's value and its derivative with respect to s (torch's conventions at kinks). */
function valueAndSlope(estimator: 'k1' | 'abs' | 'k2' | 'k3', s: number, t: number): [number, number] {
  const d = s - t;
  switch (estimator) {
    case 'k1':
      return [d, 1];
    case 'abs':
      return [Math.abs(d), Math.sign(d)];
    case 'k2':
      return [0.5 * d * d, d];
    case 'k3': {
      const x = t - s;
      const c = Math.min(K3_LOG_RATIO_CLAMP, Math.max(-K3_LOG_RATIO_CLAMP, x));
      const raw = Math.expm1(c) - c;
      const value = Math.min(K3_VALUE_CLAMP, Math.max(0, raw));
      const inside = x >= -K3_LOG_RATIO_CLAMP && x <= K3_LOG_RATIO_CLAMP && raw >= 0 && raw <= K3_VALUE_CLAMP;
      // d/ds (expm1(c) - c) = -(e^c - 1), c = t - s
      return [value, inside ? -Math.expm1(c) : 0];
    }
  }
}

interface Batch {
  readonly b: number;
  readonly t: number;
  readonly topK: number;
  readonly student: Rows;
  readonly teacher: Rows;
  readonly mask: Rows;
  readonly weight: (b: number, k: number) => number;
  readonly studentTopK?: readonly Rows[];
  readonly teacherTopK?: readonly Rows[];
}

function perRealToken(
  batch: Batch,
  factors: number[][],
  f: (s: number, t: number, c: number, w: number) => number,
): number[][] {
  return batch.mask.map((row, b) =>
    Array.from({ length: batch.t }, (_, k) =>
      row[k] === 1
        ? plusZero(
            f(
              (batch.student[b] as ArrayLike<number>)[k] as number,
              (batch.teacher[b] as ArrayLike<number>)[k] as number,
              (factors[b] as number[])[k] as number,
              batch.weight(b, k),
            ),
          )
        : 0,
    ),
  );
}

/** -0 as 0, so a tie or a zero weight reads as a plain 0. */
function plusZero(x: number): number {
  return x + 0;
}

/**
 * Checks the arrays and returns them with their sizes. Errors name the field and position:
 * an empty batch, rows of the wrong length (`mask[1]`), a mask value other than 0/1, a
 * non-finite value at a real token (`teacherLogprobs[0][2]`) or a non-finite weight.
 */
function readInputs(inputs: RemoteLossInputs, topK: boolean): Batch {
  if (inputs === null || typeof inputs !== 'object') {
    throw new InvalidInputError('inputs', inputs, 'expected an object of arrays');
  }
  const student = rowsOf('studentLogprobs', inputs.studentLogprobs);
  const b = student.length;
  if (b === 0) {
    throw new InvalidInputError(
      'studentLogprobs',
      student,
      'expected at least one sequence (an empty batch)',
    );
  }
  const t = (student[0] as ArrayLike<number>).length;
  const teacher = rowsOf('teacherLogprobs', inputs.teacherLogprobs);
  const mask = rowsOf('mask', inputs.mask);
  for (const [field, rows] of [
    ['studentLogprobs', student],
    ['teacherLogprobs', teacher],
    ['mask', mask],
  ] as const) {
    sameRows(field, rows, b, t);
  }
  mask.forEach((row, i) => {
    for (let k = 0; k < t; k++) {
      const m = row[k];
      if (m !== 0 && m !== 1) throw new InvalidInputError(`mask[${i}][${k}]`, m, 'expected 0 or 1');
    }
  });
  const real = (i: number, k: number) => (mask[i] as ArrayLike<number>)[k] === 1;
  finiteAtRealTokens('studentLogprobs', student, real);
  finiteAtRealTokens('teacherLogprobs', teacher, real);

  const weight = readWeights(inputs.weights, b, t, real);
  let topKSize = 0;
  let studentTopK: readonly Rows[] | undefined;
  let teacherTopK: readonly Rows[] | undefined;
  if (topK) {
    for (const field of ['teacherTopK', 'studentTopK'] as const) {
      if (inputs[field] === undefined) {
        throw new InvalidInputError(
          field,
          undefined,
          'required by estimator forward-kl-topk ([B][T][K] log-probs)',
        );
      }
    }
    teacherTopK = cubeOf('teacherTopK', inputs.teacherTopK, b, t, undefined);
    topKSize = ((teacherTopK[0] as Rows)[0] as ArrayLike<number> | undefined)?.length ?? 1;
    if (topKSize < 1) {
      throw new ShapeMismatchError('teacherTopK[0][0]', 'length K >= 1', 'length 0');
    }
    teacherTopK = cubeOf('teacherTopK', inputs.teacherTopK, b, t, topKSize);
    studentTopK = cubeOf('studentTopK', inputs.studentTopK, b, t, topKSize);
    for (const [field, cube] of [
      ['teacherTopK', teacherTopK],
      ['studentTopK', studentTopK],
    ] as const) {
      cube.forEach((rows, i) =>
        rows.forEach((values, k) => {
          if (!real(i, k)) return;
          for (let j = 0; j < topKSize; j++) {
            if (!Number.isFinite(values[j])) {
              throw new InvalidInputError(
                `${field}[${i}][${k}][${j}]`,
                values[j],
                'expected a finite log-prob at a real token (mask 1)',
              );
            }
          }
        }),
      );
    }
  }
  return {
    b,
    t,
    topK: topKSize,
    student,
    teacher,
    mask,
    weight,
    ...(studentTopK ? { studentTopK } : {}),
    ...(teacherTopK ? { teacherTopK } : {}),
  };
}

function readWeights(
  weights: ArrayLike<number> | Rows | undefined,
  b: number,
  t: number,
  real: (i: number, k: number) => boolean,
): (i: number, k: number) => number {
  if (weights === undefined) return () => 1;
  if (!isArrayLike(weights)) {
    throw new InvalidInputError('weights', weights, 'expected [B] weights per sequence or [B][T] per token');
  }
  if (weights.length !== b) {
    throw new ShapeMismatchError(
      'weights',
      `${b} rows (one per sequence, as studentLogprobs)`,
      `${weights.length}`,
    );
  }
  if (b > 0 && isArrayLike(weights[0])) {
    const rows = rowsOf('weights', weights as Rows);
    sameRows('weights', rows, b, t);
    rows.forEach((row, i) => {
      for (let k = 0; k < t; k++) {
        if (real(i, k) && !Number.isFinite(row[k])) {
          throw new InvalidInputError(
            `weights[${i}][${k}]`,
            row[k],
            'expected a finite weight at a real token',
          );
        }
      }
    });
    return (i, k) => (rows[i] as ArrayLike<number>)[k] as number;
  }
  const perSequence = weights as ArrayLike<unknown>;
  for (let i = 0; i < b; i++) {
    const w = perSequence[i];
    if (typeof w !== 'number' || !Number.isFinite(w)) {
      throw new InvalidInputError(`weights[${i}]`, w, 'expected a finite weight');
    }
  }
  return (i) => perSequence[i] as number;
}

function rowsOf(field: string, value: unknown): Rows {
  if (!Array.isArray(value)) throw new InvalidInputError(field, value, 'expected an array of rows [B][T]');
  value.forEach((row, i) => {
    if (!isArrayLike(row)) throw new InvalidInputError(`${field}[${i}]`, row, 'expected an array of numbers');
  });
  return value as Rows;
}

function sameRows(field: string, rows: Rows, b: number, t: number): void {
  if (rows.length !== b) {
    throw new ShapeMismatchError(field, `${b} rows (as studentLogprobs)`, `${rows.length} rows`);
  }
  rows.forEach((row, i) => {
    if (row.length !== t) {
      throw new ShapeMismatchError(
        `${field}[${i}]`,
        `length ${t} (as studentLogprobs[0])`,
        `length ${row.length}`,
      );
    }
  });
}

function cubeOf(field: string, value: unknown, b: number, t: number, k: number | undefined): readonly Rows[] {
  if (!Array.isArray(value)) throw new InvalidInputError(field, value, 'expected [B][T][K] log-probs');
  if (value.length !== b)
    throw new ShapeMismatchError(field, `${b} rows (as studentLogprobs)`, `${value.length} rows`);
  return value.map((rows: unknown, i) => {
    const r = rowsOf(`${field}[${i}]`, rows);
    if (r.length !== t) {
      throw new ShapeMismatchError(
        `${field}[${i}]`,
        `length ${t} (as studentLogprobs[0])`,
        `length ${r.length}`,
      );
    }
    if (k !== undefined) {
      r.forEach((values, j) => {
        if (values.length !== k) {
          throw new ShapeMismatchError(
            `${field}[${i}][${j}]`,
            `length ${k} (K, as teacherTopK[0][0])`,
            `length ${values.length}`,
          );
        }
      });
    }
    return r;
  });
}

function isArrayLike(value: unknown): value is ArrayLike<unknown> {
  return (
    Array.isArray(value) ||
    (ArrayBuffer.isView(value) && !(value instanceof DataView)) ||
    (value !== null &&
      typeof value === 'object' &&
      typeof (value as { length?: unknown }).length === 'number')
  );
}

function finiteAtRealTokens(field: string, rows: Rows, real: (i: number, k: number) => boolean): void {
  rows.forEach((row, i) => {
    for (let k = 0; k < row.length; k++) {
      if (real(i, k) && !Number.isFinite(row[k])) {
        throw new InvalidInputError(
          `${field}[${i}][${k}]`,
          row[k],
          'expected a finite log-prob at a real token (mask 1)',
        );
      }
    }
  });
}
