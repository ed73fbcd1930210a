import { beforeAll, describe, expect, it } from 'vitest';
import {
  InvalidInputError,
  selectBackend,
  type Policy,
  type Prompt,
  type SampledResponse,
  type SamplingOptions,
  type Trajectory,
} from '@vzero/core';
import { LocalPolicy } from '@vzero/model';
import {
  groupIdFor,
  isPromptSeeded,
  padTrajectories,
  rolloutStats,
  sample,
  type RolloutProgress,
} from '../src/index.js';
import { prompts, tinyPolicy, tokenizer } from './fixtures.js';

const options = { n: 3, temperature: 1, topP: 1, topK: 0, maxTokens: 6, seed: 11 } as const;

const tokens = (groups: Trajectory[][]): number[][] => groups.flat().map((t) => [...t.tokenIds]);

describe('sample with a real tiny model', () => {
  beforeAll(async () => {
    await selectBackend({ prefer: 'cpu' });
  });

  it('gives the same trajectories for the same seed, whatever the batch size or neighbours', async () => {
    const policy = tinyPolicy();
    const ps = prompts(4);
    const whole = await sample(policy, ps, options);
    const again = await sample(policy, ps, { ...options, batchSize: 3 });
    const ones = await sample(policy, ps, { ...options, batchSize: 1 });
    expect(tokens(again)).toEqual(tokens(whole));
    expect(tokens(ones)).toEqual(tokens(whole));
    again
      .flat()
      .forEach((t, b) => expect(Array.from(t.logprobs)).toEqual(Array.from(whole.flat()[b]!.logprobs)));
    // A prompt's rollouts do not depend on which prompts come with it.
    const alone = await sample(policy, [ps[2]!], options);
    expect(tokens(alone)).toEqual(tokens([whole[2]!]));
    // A different seed changes them.
    const other = await sample(policy, ps, { ...options, seed: 12 });
    expect(tokens(other)).not.toEqual(tokens(whole));
    policy.model.dispose();
  });

  it('returns n trajectories per prompt with group ids, indices, masks and log-probs that line up', async () => {
    const policy = tinyPolicy();
    const ps = prompts(3);
    const progress: RolloutProgress[] = [];
    const groups = await sample(policy, ps, {
      ...options,
      batchSize: 2,
      onProgress: (p) => progress.push(p),
    });
    expect(groups).toHaveLength(3);
    groups.forEach((group, i) => {
      expect(group).toHaveLength(options.n);
      const promptId = ps[i]!.id;
      group.forEach((t, g) => {
        expect(t.promptId).toBe(promptId);
        expect(t.groupId).toBe(groupIdFor(promptId, options.seed));
        expect(t.index).toBe(g);
        expect(t.tokenIds.length).toBeGreaterThan(0);
        expect(t.tokenIds.length).toBeLessThanOrEqual(options.maxTokens);
        expect(t.mask.length).toBe(t.tokenIds.length);
        expect(Array.from(t.mask).every((m) => m === 1)).toBe(true);
        expect(t.logprobs.length).toBe(t.tokenIds.length);
        expect(t.samplingLogprobs.length).toBe(t.tokenIds.length);
        expect(Array.from(t.logprobs).every((x) => Number.isFinite(x) && x <= 0)).toBe(true);
        expect(t.text).toBe(tokenizer.decode(t.tokenIds));
        // A response stops on <eos> or runs to maxTokens.
        const ends = t.tokenIds.at(-1) === tokenizer.eosId;
        expect(t.finishReason).toBe(ends ? 'stop' : 'length');
        if (!ends) expect(t.tokenIds.length).toBe(options.maxTokens);
      });
      expect(new Set(group.map((t) => t.groupId)).size).toBe(1);
    });
    expect(new Set(groups.map((g) => g[0]!.groupId)).size).toBe(3);
    // Progress is monotone and ends with every prompt and token.
    expect(progress.at(-1)).toEqual({
      promptsDone: 3,
      promptsTotal: 3,
      trajectories: 9,
      tokens: groups.flat().reduce((s, t) => s + t.tokenIds.length, 0),
    });
    progress.slice(1).forEach((p, k) => expect(p.promptsDone).toBeGreaterThan(progress[k]!.promptsDone));

    // Padding and stats agree with the trajectories.
    const flat = groups.flat();
    const padded = padTrajectories(flat, { padId: tokenizer.padId });
    expect(Array.from(padded.lengths)).toEqual(flat.map((t) => t.tokenIds.length));
    expect(padded.length).toBe(Math.max(...flat.map((t) => t.tokenIds.length)));
    const stats = rolloutStats(groups);
    expect(stats.trajectories).toBe(9);
    expect(stats.tokens).toBe(padded.mask.reduce((s, m) => s + m, 0));
    expect(stats.fractionStopped).toBeCloseTo(flat.filter((t) => t.finishReason === 'stop').length / 9, 12);
    policy.model.dispose();
  });

  it('stops on a caller stop token and samples greedily at temperature 0', async () => {
    const policy = tinyPolicy();
    const ps = prompts(2);
    const free = await sample(policy, ps, { ...options, temperature: 0 });
    // Greedy: all n rollouts of a prompt are the same.
    for (const group of free) for (const t of group) expect(t.tokenIds).toEqual(group[0]!.tokenIds);
    const first = free[0]![0]!.tokenIds[0]!;
    const stopped = await sample(policy, ps, { ...options, temperature: 0, stop: [first] });
    expect(stopped[0]![0]!.tokenIds).toEqual([first]);
    expect(stopped[0]![0]!.finishReason).toBe('stop');
    policy.model.dispose();
  });

  it('rejects bad options and duplicate prompt ids before calling the policy', async () => {
    const policy = tinyPolicy();
    const ps = prompts(2);
    await expect(sample(policy, ps, { ...options, n: 0 })).rejects.toThrow(/options\.n = 0/);
    await expect(sample(policy, ps, { ...options, topP: 0 })).rejects.toThrow(/options\.topP/);
    await expect(sample(policy, [ps[0]!, ps[0]!], options)).rejects.toThrow(InvalidInputError);
    await expect(sample(policy, [ps[0]!, ps[0]!], options)).rejects.toThrow(/prompts\[1\]\.id/);
    policy.model.dispose();
  });
});

/** The real tiny model (LocalPolicy seeds per prompt id), recording the prompts of every call. */
class PromptSeededTiny extends LocalPolicy {
  readonly calls: string[][] = [];
  override async sample(ps: readonly Prompt[], o: SamplingOptions): Promise<SampledResponse[][]> {
    this.calls.push(ps.map((p) => p.id));
    return super.sample(ps, o);
  }
}

describe('sample with a prompt-seeded policy', () => {
  beforeAll(async () => {
    await selectBackend({ prefer: 'cpu' });
  });

  it('sends chunks of batchSize prompts per call and stays independent of batchSize', async () => {
    const policy = new PromptSeededTiny(tinyPolicy().model, tokenizer);
    expect(isPromptSeeded(policy)).toBe(true);
    // The flag is what counts: a policy without it (e.g. a remote server) gets one prompt per call.
    const { samplingSeedScope: _scope, ...unflagged } = { ...policy, samplingSeedScope: undefined };
    expect(isPromptSeeded(unflagged as unknown as Policy)).toBe(false);
    const ps = prompts(5);
    const a = await sample(policy, ps, { ...options, batchSize: 2 });
    expect(policy.calls).toEqual([['q0', 'q1'], ['q2', 'q3'], ['q4']]);
    const b = await sample(policy, ps, { ...options, batchSize: 5 });
    expect(policy.calls.slice(3)).toEqual([['q0', 'q1', 'q2', 'q3', 'q4']]);
    expect(tokens(b)).toEqual(tokens(a));
    policy.model.dispose();
  });
});
