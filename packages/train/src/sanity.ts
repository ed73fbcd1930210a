// Settings that validate but make a run quietly meaningless: each gets a warning naming the key
// and what it does, printed before the run starts.
import type { TrainConfig } from './config.js';

export function configWarnings(config: TrainConfig): string[] {
  const out: string[] = [];
  if (config.method === 'vzero' && config.rollout.n === 1) {
    out.push(
      'rollout.n = 1 with method vzero: the gate normalises each rollout against its own group, so with ' +
        'one rollout per prompt every weight is 1 and V-Zero is plain OPD; use rollout.n >= 2 (the paper: 8)',
    );
  }
  if (config.method === 'grpo' && config.rollout.n === 1) {
    out.push(
      'rollout.n = 1 with method grpo: a group of one has zero advantage, so the policy never moves; use rollout.n >= 2',
    );
  }
  return out;
}
