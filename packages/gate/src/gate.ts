// The contrastive evidence gate on plain arrays, in float64. One pass validates and scores each
// sequence; a second normalises the scores within each group (the G rollouts of one prompt).
import { InvalidInputError, ShapeMismatchError } from '@vzero/core';
import { DEFAULT_GATE_CONFIG, validateGateConfig, type GateConfig } from './config.js';

/** One rollout: its group (prompt id) and the teacher's per-token log-probs under both views. */
export interface GateSequence {
  /** Rollouts of the same prompt share a group; groups may be interleaved in the input. */
  readonly group: string;
  /** l+: teacher log-prob of each response token with the positive (evidence) view. */
  readonly positive: ArrayLike<number>;
  /** l-: teacher log-prob of each response token with the negative view. */
  readonly negative: ArrayLike<number>;
  /** 1 for a real token, 0 for padding; omitted means every position is real. */
  readonly mask?: ArrayLike<number>;
}

/** Batch statistics the reference logs; "std" is the population std (ddof 0). */
export interface GateDiagnostics {
  readonly scoreMean: number;
  readonly scoreStd: number;
  readonly advantageMean: number;
  readonly advantageStd: number;
  readonly weightMean: number;
  readonly weightStd: number;
  readonly weightMin: number;
  readonly weightMax: number;
  /** Fraction of sequences whose weight is at (or below) wMin. */
  readonly fractionAtWMin: number;
  /** Mean of delta = l+ - l- over all real tokens of the batch (0 when there are none). */
  readonly deltaMean: number;
  /** Fraction of real tokens with delta > 0 (0 when there are none). */
  readonly fractionDeltaPositive: number;
  readonly sequences: number;
  readonly groups: number;
  /** Real (mask 1) tokens in the batch. */
  readonly tokens: number;
}

export interface GateResult {
  /** p_g, the length-normalised evidence score of each sequence, in input order. */
  readonly scores: Float64Array;
  /** a_g, the score standardised within its group (0 for a group of one). */
  readonly advantages: Float64Array;
  /** w_g = clip(1 + alpha * a_g, wMin, wMax): constants, no gradient flows through them. */
  readonly weights: Float64Array;
  readonly diagnostics: GateDiagnostics;
}

/**
 * Computes the evidence weights of a batch of rollouts. Outputs are in input order.
 *
 * A sequence with no real token (all-zero mask) gets p = 0 / max(0, eps) = 0: it neither adds
 * nor removes evidence, and still counts in its group's mean and std.
 * Values at padded positions (mask 0) are never read as numbers, so they may be anything,
 * NaN included; a non-finite value at a real token is an InvalidInputError.
 */
export function computeGate(
  sequences: readonly GateSequence[],
  config: GateConfig = DEFAULT_GATE_CONFIG,
): GateResult {
  validateGateConfig(config);
  if (!Array.isArray(sequences)) {
    throw new InvalidInputError('sequences', sequences, 'expected an array of sequences');
  }
  const n = sequences.length;
  if (n === 0) throw new InvalidInputError('sequences', sequences, 'expected at least one sequence');

  const { gamma, eps, alpha, wMin, wMax } = config;
  const scores = new Float64Array(n);
  const groupMembers = new Map<string, number[]>();
  let tokens = 0;
  let deltaSum = 0;
  let deltaPositive = 0;

  for (let i = 0; i < n; i++) {
    const seq = checkSequence(sequences, i);
    const { positive, negative, mask } = seq;
    let scoreSum = 0;
    let count = 0;
    for (let k = 0; k < positive.length; k++) {
      if (mask !== undefined) {
        const m = mask[k];
        if (m === 0) continue;
        if (m !== 1) throw new InvalidInputError(`sequences[${i}].mask[${k}]`, m, 'expected 0 or 1');
      }
      const lp = positive[k] as number;
      const ln = negative[k] as number;
      if (!Number.isFinite(lp)) {
        throw new InvalidInputError(
          `sequences[${i}].positive[${k}]`,
          lp,
          'expected a finite log-prob at a real token (mask 1)',
        );
      }
      if (!Number.isFinite(ln)) {
        throw new InvalidInputError(
          `sequences[${i}].negative[${k}]`,
          ln,
          'expected a finite log-prob at a real token (mask 1)',
        );
      }
      const delta = lp - ln;
      scoreSum += delta > 0 ? delta : gamma * delta;
      count++;
      deltaSum += delta;
      if (delta > 0) deltaPositive++;
    }
    scores[i] = scoreSum / Math.max(count, eps);
    tokens += count;
    const members = groupMembers.get(seq.group);
    if (members) members.push(i);
    else groupMembers.set(seq.group, [i]);
  }

  const advantages = new Float64Array(n);
  const weights = new Float64Array(n);
  for (const members of groupMembers.values()) {
    if (members.length > 1) {
      // Shifting by the first member keeps the mean exact for equal scores (a group with no
      // contrast gets a = 0 exactly, hence w = 1) and is the numerically stable form.
      const shift = scores[members[0] as number] as number;
      let sum = 0;
      for (const i of members) sum += (scores[i] as number) - shift;
      const meanShifted = sum / members.length;
      let sq = 0;
      for (const i of members) {
        const d = (scores[i] as number) - shift - meanShifted;
        sq += d * d;
      }
      const sd = Math.sqrt(sq / members.length);
      for (const i of members) advantages[i] = ((scores[i] as number) - shift - meanShifted) / (sd + eps);
    }
    for (const i of members) {
      weights[i] = Math.min(wMax, Math.max(wMin, 1 + alpha * (advantages[i] as number)));
    }
  }

  let atMin = 0;
  let weightMin = Infinity;
  let weightMax = -Infinity;
  for (const w of weights) {
    if (w <= wMin) atMin++;
    weightMin = Math.min(weightMin, w);
    weightMax = Math.max(weightMax, w);
  }
  const diagnostics: GateDiagnostics = {
    scoreMean: mean(scores),
    scoreStd: populationStd(scores),
    advantageMean: mean(advantages),
    advantageStd: populationStd(advantages),
    weightMean: mean(weights),
    weightStd: populationStd(weights),
    weightMin,
    weightMax,
    fractionAtWMin: atMin / n,
    deltaMean: tokens > 0 ? deltaSum / tokens : 0,
    fractionDeltaPositive: tokens > 0 ? deltaPositive / tokens : 0,
    sequences: n,
    groups: groupMembers.size,
    tokens,
  };
  return { scores, advantages, weights, diagnostics };
}

/**
 * Checks the shape of sequences[i]; token values are checked while scoring. Shared with the
 * token-level gate (not part of the package's public API).
 */
export function checkSequence(sequences: readonly GateSequence[], i: number): GateSequence {
  const seq: unknown = sequences[i];
  if (seq === null || typeof seq !== 'object') {
    throw new InvalidInputError(
      `sequences[${i}]`,
      seq,
      'expected an object { group, positive, negative, mask? }',
    );
  }
  const { group, positive, negative, mask } = seq as Record<string, unknown>;
  if (typeof group !== 'string') {
    throw new InvalidInputError(`sequences[${i}].group`, group, 'expected a string (the prompt id)');
  }
  if (!isArrayLike(positive)) {
    throw new InvalidInputError(`sequences[${i}].positive`, positive, 'expected an array of log-probs');
  }
  if (!isArrayLike(negative)) {
    throw new InvalidInputError(`sequences[${i}].negative`, negative, 'expected an array of log-probs');
  }
  if (mask !== undefined && !isArrayLike(mask)) {
    throw new InvalidInputError(`sequences[${i}].mask`, mask, 'expected an array of 0/1 or undefined');
  }
  const length = positive.length;
  if (negative.length !== length) {
    throw new ShapeMismatchError(
      `sequences[${i}].negative`,
      `length ${length} (as sequences[${i}].positive)`,
      `length ${negative.length}`,
    );
  }
  if (mask !== undefined && mask.length !== length) {
    throw new ShapeMismatchError(
      `sequences[${i}].mask`,
      `length ${length} (as sequences[${i}].positive)`,
      `length ${mask.length}`,
    );
  }
  return seq as GateSequence;
}

function isArrayLike(value: unknown): value is ArrayLike<unknown> {
  return (
    Array.isArray(value) ||
    ArrayBuffer.isView(value) ||
    (value !== null &&
      typeof value === 'object' &&
      typeof (value as { length?: unknown }).length === 'number')
  );
}

function mean(values: Float64Array): number {
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

function populationStd(values: Float64Array): number {
  const m = mean(values);
  let s = 0;
  for (const v of values) s += (v - m) * (v - m);
  return Math.sqrt(s / values.length);
}
