// Token choice on the JavaScript side with core's seeded Rng, so the same seed picks the same
// tokens on every backend. Order of truncation as in common inference servers: temperature,
// then top-k, then top-p (nucleus) on the top-k distribution.
import type { Rng } from '@vzero/core';

export interface TokenChoice {
  readonly id: number;
  /** Log-prob under the policy at temperature 1. */
  readonly logprob: number;
  /** Log-prob under the (tempered, truncated) distribution actually sampled from. */
  readonly samplingLogprob: number;
}

export interface ChoiceSettings {
  readonly temperature: number;
  readonly topK: number;
  readonly topP: number;
}

/** Index of the largest value (the lowest index among ties). */
export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if ((row[i] ?? -Infinity) > (row[best] ?? -Infinity)) best = i;
  return best;
}

/** The weights of the row being sampled (grown as needed, reused across calls). */
let weights = new Float64Array(0);

/**
 * Picks a token from a row of log-probs (log-softmax at temperature 1). Temperature 0 and
 * top-k 1 are greedy (sampling log-prob 0: the choice is certain).
 */
export function chooseToken(logprobs: ArrayLike<number>, settings: ChoiceSettings, rng: Rng): TokenChoice {
  const V = logprobs.length;
  const { temperature, topK, topP } = settings;
  if (temperature === 0 || topK === 1) {
    const id = argmax(logprobs);
    return { id, logprob: logprobs[id] ?? 0, samplingLogprob: 0 };
  }
  const untruncated = temperature === 1 && (topK === 0 || topK >= V) && topP >= 1;
  // Candidates in descending order when truncating; in id order otherwise (no list needed).
  let ids: number[] | undefined;
  let n = V;
  if (!untruncated) {
    ids = Array.from({ length: V }, (_, i) => i);
    ids.sort((a, b) => (logprobs[b] ?? 0) - (logprobs[a] ?? 0) || a - b);
    if (topK > 0 && topK < V) n = topK;
  }
  // Weights exp(z - max) of z = logprob / temperature in a reused buffer, summed in candidate
  // order (max as Math.max: NaN wins). One pass per loop, no arrays per call: this runs for every
  // row of every decoding step.
  if (weights.length < n) weights = new Float64Array(n);
  const w = weights;
  let max = -Infinity;
  for (let j = 0; j < n; j++) {
    const z = (logprobs[ids ? (ids[j] as number) : j] ?? 0) / temperature;
    w[j] = z;
    if (z > max || Number.isNaN(z)) max = z;
  }
  let total = 0;
  for (let j = 0; j < n; j++) {
    w[j] = Math.exp((w[j] as number) - max);
    total += w[j] as number;
  }
  if (topP < 1) {
    let cum = 0;
    let keep = n;
    for (let j = 0; j < n; j++) {
      cum += (w[j] as number) / total;
      if (cum >= topP) {
        keep = j + 1;
        break;
      }
    }
    n = keep;
    total = 0;
    for (let j = 0; j < n; j++) total += w[j] as number;
  }
  const u = rng.float() * total;
  let acc = 0;
  let j = 0;
  for (; j < n - 1; j++) {
    acc += w[j] as number;
    if (u < acc) break;
  }
  const id = ids ? (ids[j] ?? 0) : j;
  const logprob = logprobs[id] ?? 0;
  const samplingLogprob = untruncated ? logprob : Math.log((w[j] as number) / total);
  return { id, logprob, samplingLogprob };
}
