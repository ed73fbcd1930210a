// Dense, padded arrays for the loss: row b holds trajectory b, left-aligned, padded on the right.
import { InvalidInputError, ShapeMismatchError, type Trajectory } from '@vzero/core';

export interface PadOptions {
  /** Token id written into padding positions (default 0). Padding is masked out anyway. */
  readonly padId?: number;
  /** Pad to this length instead of the longest trajectory (must be >= the longest). */
  readonly length?: number;
}

/** Row-major [batch, length] arrays; padding has mask 0, log-prob 0 and token `padId`. */
export interface PaddedBatch {
  readonly batch: number;
  readonly length: number;
  readonly tokenIds: Int32Array;
  readonly logprobs: Float32Array;
  readonly samplingLogprobs: Float32Array;
  readonly mask: Float32Array;
  /** Real tokens per row (the sum of the trajectory's mask). */
  readonly lengths: Int32Array;
}

function checkTrajectory(t: Trajectory, b: number): void {
  const len = t.tokenIds.length;
  if (t.logprobs.length !== len) {
    throw new ShapeMismatchError(`trajectories[${b}].logprobs`, `${len} values`, `${t.logprobs.length}`);
  }
  if (t.samplingLogprobs.length !== len) {
    throw new ShapeMismatchError(
      `trajectories[${b}].samplingLogprobs`,
      `${len} values`,
      `${t.samplingLogprobs.length}`,
    );
  }
  if (t.mask.length !== len) {
    throw new ShapeMismatchError(`trajectories[${b}].mask`, `${len} values`, `${t.mask.length}`);
  }
}

/** Pads trajectories into [B, T] arrays, T = the longest trajectory (or `options.length`). */
export function padTrajectories(trajectories: readonly Trajectory[], options: PadOptions = {}): PaddedBatch {
  const padId = options.padId ?? 0;
  if (!Number.isInteger(padId) || padId < 0) {
    throw new InvalidInputError('options.padId', padId, 'expected a token id (integer >= 0)');
  }
  trajectories.forEach(checkTrajectory);
  const longest = trajectories.reduce((m, t) => Math.max(m, t.tokenIds.length), 0);
  const length = options.length ?? longest;
  if (!Number.isInteger(length) || length < longest) {
    throw new InvalidInputError(
      'options.length',
      length,
      `expected an integer >= the longest trajectory (${longest})`,
    );
  }
  const batch = trajectories.length;
  const tokenIds = new Int32Array(batch * length).fill(padId);
  const logprobs = new Float32Array(batch * length);
  const samplingLogprobs = new Float32Array(batch * length);
  const mask = new Float32Array(batch * length);
  const lengths = new Int32Array(batch);
  trajectories.forEach((t, b) => {
    const row = b * length;
    let real = 0;
    for (let k = 0; k < t.tokenIds.length; k++) {
      tokenIds[row + k] = t.tokenIds[k] ?? padId;
      logprobs[row + k] = t.logprobs[k] ?? 0;
      samplingLogprobs[row + k] = t.samplingLogprobs[k] ?? 0;
      const m = t.mask[k] ?? 0;
      mask[row + k] = m;
      real += m;
    }
    lengths[b] = real;
  });
  return { batch, length, tokenIds, logprobs, samplingLogprobs, mask, lengths };
}
