// The token-level evidence gate: each response token gets its own weight from its own contrast,
// normalised over all real tokens of the rollouts of the same prompt. Same scoring, clip and
// settings as the sequence gate (gate.ts); float64 on plain arrays; outputs are constants.
import { InvalidInputError } from '@vzero/core';
import { DEFAULT_GATE_CONFIG, validateGateConfig, type GateConfig } from './config.js';
import { checkSequence, type GateDiagnostics, type GateSequence } from './gate.js';

export interface TokenGateResult {
  /** score_k = relu(delta_k) - gamma relu(-delta_k) per token, one array per sequence; 0 at padding. */
  readonly scores: Float64Array[];
  /** a_k, the score standardised over the real tokens of its group; 0 at padding. */
  readonly advantages: Float64Array[];
  /**
   * w_k = clip(1 + alpha a_k, wMin, wMax) at real tokens and 0 at padding (the loss never reads
   * padded weights; 0 also drops padding from a consumer that multiplies without the mask).
   */
  readonly weights: Float64Array[];
  /** The sequence gate's statistics, taken over real tokens instead of sequences. */
  readonly diagnostics: GateDiagnostics;
}

/**
 * The token-level gate of a batch of rollouts (the sequence gate's input). For token k of a
 * rollout of group i:
 *
 *   delta_k = l+_k - l-_k;  score_k = relu(delta_k) - gamma relu(-delta_k)
 *   mu, sd  = mean and population std of score over every real token of group i's rollouts
 *   a_k     = (score_k - mu) / (sd + eps)    (0 when the group has a single real token)
 *   w_k     = clip(1 + alpha a_k, wMin, wMax)
 *
 * Padded positions (mask 0) are never read and get weight 0. Outputs are in input order, one
 * array per sequence of its length. Errors as computeGate's.
 */
export function computeTokenGate(
  sequences: readonly GateSequence[],
  config: GateConfig = DEFAULT_GATE_CONFIG,
): TokenGateResult {
  validateGateConfig(config);
  if (!Array.isArray(sequences)) {
    throw new InvalidInputError('sequences', sequences, 'expected an array of sequences');
  }
  const n = sequences.length;
  if (n === 0) throw new InvalidInputError('sequences', sequences, 'expected at least one sequence');

  const { gamma, eps, alpha, wMin, wMax } = config;
  const scores: Float64Array[] = [];
  const real: Uint8Array[] = [];
  const groupMembers = new Map<string, number[]>();
  let tokens = 0;
  let deltaSum = 0;
  let deltaPositive = 0;

  for (let i = 0; i < n; i++) {
    const seq = checkSequence(sequences, i);
    const { positive, negative, mask } = seq;
    const length = positive.length;
    const score = new Float64Array(length);
    const isReal = new Uint8Array(length);
    for (let k = 0; k < length; k++) {
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
      score[k] = delta > 0 ? delta : gamma * delta;
      isReal[k] = 1;
      tokens++;
      deltaSum += delta;
      if (delta > 0) deltaPositive++;
    }
    scores.push(score);
    real.push(isReal);
    const members = groupMembers.get(seq.group);
    if (members) members.push(i);
    else groupMembers.set(seq.group, [i]);
  }

  const advantages = scores.map((s) => new Float64Array(s.length));
  const weights = scores.map((s) => new Float64Array(s.length));
  for (const members of groupMembers.values()) {
    // Shifted by the group's first real score: equal scores give a = 0 exactly (w = 1), as in
    // the sequence gate, and it is the numerically stable form.
    let shift = Number.NaN;
    let count = 0;
    let sum = 0;
    for (const i of members) {
      const s = scores[i] as Float64Array;
      const r = real[i] as Uint8Array;
      for (let k = 0; k < s.length; k++) {
        if (r[k] !== 1) continue;
        if (count === 0) shift = s[k] as number;
        sum += (s[k] as number) - shift;
        count++;
      }
    }
    if (count === 0) continue;
    const meanShifted = sum / count;
    let sq = 0;
    for (const i of members) {
      const s = scores[i] as Float64Array;
      const r = real[i] as Uint8Array;
      for (let k = 0; k < s.length; k++) {
        if (r[k] !== 1) continue;
        const d = (s[k] as number) - shift - meanShifted;
        sq += d * d;
      }
    }
    const sd = Math.sqrt(sq / count);
    for (const i of members) {
      const s = scores[i] as Float64Array;
      const r = real[i] as Uint8Array;
      const a = advantages[i] as Float64Array;
      const w = weights[i] as Float64Array;
      for (let k = 0; k < s.length; k++) {
        if (r[k] !== 1) continue;
        a[k] = count > 1 ? ((s[k] as number) - shift - meanShifted) / (sd + eps) : 0;
        w[k] = Math.min(wMax, Math.max(wMin, 1 + alpha * (a[k] as number)));
      }
    }
  }

  const stats = (arrays: Float64Array[]) => realStats(arrays, real, tokens);
  const w = stats(weights);
  let atMin = 0;
  for (let i = 0; i < n; i++) {
    const row = weights[i] as Float64Array;
    const r = real[i] as Uint8Array;
    for (let k = 0; k < row.length; k++) if (r[k] === 1 && (row[k] as number) <= wMin) atMin++;
  }
  const score = stats(scores);
  const advantage = stats(advantages);
  const diagnostics: GateDiagnostics = {
    scoreMean: score.mean,
    scoreStd: score.std,
    advantageMean: advantage.mean,
    advantageStd: advantage.std,
    weightMean: w.mean,
    weightStd: w.std,
    weightMin: w.min,
    weightMax: w.max,
    fractionAtWMin: tokens > 0 ? atMin / tokens : 0,
    deltaMean: tokens > 0 ? deltaSum / tokens : 0,
    fractionDeltaPositive: tokens > 0 ? deltaPositive / tokens : 0,
    sequences: n,
    groups: groupMembers.size,
    tokens,
  };
  return { scores, advantages, weights, diagnostics };
}

/** Mean, population std, min and max over real tokens; all 0 when there is none. */
function realStats(
  arrays: Float64Array[],
  real: Uint8Array[],
  tokens: number,
): { mean: number; std: number; min: number; max: number } {
  if (tokens === 0) return { mean: 0, std: 0, min: 0, max: 0 };
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < arrays.length; i++) {
    const row = arrays[i] as Float64Array;
    const r = real[i] as Uint8Array;
    for (let k = 0; k < row.length; k++) {
      if (r[k] !== 1) continue;
      const v = row[k] as number;
      sum += v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  const mean = sum / tokens;
  let sq = 0;
  for (let i = 0; i < arrays.length; i++) {
    const row = arrays[i] as Float64Array;
    const r = real[i] as Uint8Array;
    for (let k = 0; k < row.length; k++) {
      if (r[k] !== 1) continue;
      const d = (row[k] as number) - mean;
      sq += d * d;
    }
  }
  return { mean, std: Math.sqrt(sq / tokens), min, max };
}
