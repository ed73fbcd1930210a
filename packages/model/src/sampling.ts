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
  // Candidates in descending order when truncating; in id order otherwise (no sort needed).
  let ids: number[] = Array.from({ length: V }, (_, i) => i);
  if (!untruncated) ids.sort((a, b) => (logprobs[b] ?? 0) - (logprobs[a] ?? 0) || a - b);
  if (topK > 0 && topK < V) ids = ids.slice(0, topK);
  const scaled = ids.map((i) => (logprobs[i] ?? 0) / temperature);
  const max = Math.max(...scaled);
  let weights = scaled.map((z) => Math.exp(z - max));
  let total = weights.reduce((a, b) => a + b, 0);
  if (topP < 1) {
    let cum = 0;
    let keep = weights.length;
    for (let j = 0; j < weights.length; j++) {
      cum += (weights[j] ?? 0) / total;
      if (cum >= topP) {
        keep = j + 1;
        break;
      }
    }
    ids = ids.slice(0, keep);
    weights = weights.slice(0, keep);
    total = weights.reduce((a, b) => a + b, 0);
  }
  const u = rng.float() * total;
  let acc = 0;
  let j = 0;
  for (; j < weights.length - 1; j++) {
    acc += weights[j] ?? 0;
    if (u < acc) break;
  }
  const id = ids[j] ?? 0;
  const logprob = logprobs[id] ?? 0;
  const samplingLogprob = untruncated ? logprob : Math.log((weights[j] ?? 0) / total);
  return { id, logprob, samplingLogprob };
}
