// Summary numbers of a rollout batch, for logs and metrics.
import type { Trajectory } from '@vzero/core';

export interface RolloutStats {
  readonly prompts: number;
  readonly trajectories: number;
  /** Real (masked-in) response tokens over all trajectories. */
  readonly tokens: number;
  readonly meanLength: number;
  readonly minLength: number;
  readonly maxLength: number;
  /** Fraction of trajectories that ended on a stop token (the rest hit maxTokens). */
  readonly fractionStopped: number;
  /** Mean per-token student log-prob (temperature 1) over real tokens; 0 when there are none. */
  readonly meanLogprob: number;
  /**
   * Fraction of the groups of two or more rollouts whose responses are all the same tokens: a
   * group-normalised gate or advantage cannot tell them apart (0 when there is no such group).
   */
  readonly identicalGroups: number;
}

function realLength(t: Trajectory): number {
  let n = 0;
  for (const m of t.mask) n += m;
  return n;
}

/** Whether every rollout of the group has the same real tokens. */
function allSame(group: readonly Trajectory[]): boolean {
  const real = (t: Trajectory) => t.tokenIds.filter((_, k) => t.mask[k]);
  const first = real(group[0]!);
  return group.every((t) => {
    const other = real(t);
    return other.length === first.length && other.every((id, k) => id === first[k]);
  });
}

/** Statistics of groups of trajectories (result[i] = the rollouts of prompt i). */
export function rolloutStats(groups: readonly (readonly Trajectory[])[]): RolloutStats {
  let trajectories = 0;
  let tokens = 0;
  let stopped = 0;
  let minLength = Infinity;
  let maxLength = 0;
  let logprobSum = 0;
  let multi = 0;
  let identical = 0;
  for (const group of groups) {
    if (group.length >= 2) {
      multi++;
      if (allSame(group)) identical++;
    }
    for (const t of group) {
      const len = realLength(t);
      trajectories++;
      tokens += len;
      if (t.finishReason === 'stop') stopped++;
      minLength = Math.min(minLength, len);
      maxLength = Math.max(maxLength, len);
      for (let k = 0; k < t.mask.length; k++) if (t.mask[k]) logprobSum += t.logprobs[k] ?? 0;
    }
  }
  return {
    prompts: groups.length,
    trajectories,
    tokens,
    meanLength: trajectories > 0 ? tokens / trajectories : 0,
    minLength: trajectories > 0 ? minLength : 0,
    maxLength,
    fractionStopped: trajectories > 0 ? stopped / trajectories : 0,
    meanLogprob: tokens > 0 ? logprobSum / tokens : 0,
    identicalGroups: multi > 0 ? identical / multi : 0,
  };
}
