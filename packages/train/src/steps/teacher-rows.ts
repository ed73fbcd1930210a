// Packing the teacher's per-trajectory scores into the row-major arrays of one mini-batch
// (rows of the step's trajectories, padded to length T): the positive-view log-probs, and the
// teacher's top-K ids and log-probs for the forward-KL estimator.
import type { TeacherScores } from '@vzero/core';

/** Teacher log-probs under the positive view, [rows.length, T]. */
export function packTeacherLogprobs(
  rows: readonly number[],
  T: number,
  scores: readonly TeacherScores[],
): Float32Array {
  const out = new Float32Array(rows.length * T);
  rows.forEach((r, b) => out.set((scores[r]?.positive as Float32Array).subarray(0, T), b * T));
  return out;
}

export interface PackedTopK {
  /** [rows.length, T, K] row-major; positions without top-K stay 0. */
  readonly ids: Int32Array;
  readonly logprobs: Float32Array;
  readonly K: number;
}

/** The teacher's top-K ids and log-probs per position, [rows.length, T, K]. */
export function packTeacherTopK(
  rows: readonly number[],
  T: number,
  K: number,
  scores: readonly TeacherScores[],
): PackedTopK {
  const ids = new Int32Array(rows.length * T * K);
  const logprobs = new Float32Array(rows.length * T * K).fill(0);
  rows.forEach((r, b) => {
    const topK = scores[r]?.topK;
    if (!topK) return;
    for (let k = 0; k < T && k < topK.ids.length; k++) {
      ids.set((topK.ids[k] as Int32Array).subarray(0, K), (b * T + k) * K);
      logprobs.set((topK.logprobs[k] as Float32Array).subarray(0, K), (b * T + k) * K);
    }
  });
  return { ids, logprobs, K };
}

/** The rows' per-token weights as [rows.length, T] (row-major; 0 past each row's length). */
export function packTokenWeights(
  rows: readonly number[],
  T: number,
  tokenWeights: readonly Float64Array[],
): Float32Array {
  const out = new Float32Array(rows.length * T);
  rows.forEach((r, b) => out.set((tokenWeights[r] as Float64Array).subarray(0, T), b * T));
  return out;
}
