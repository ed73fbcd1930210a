import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { InvalidInputError, deriveSeed, selectBackend } from '@vzero/core';
import type { SampledResponse, SamplingOptions } from '@vzero/core';
import { somePrompts, tinyPolicy, tokenizer } from './helpers.js';

const base: SamplingOptions = { n: 3, temperature: 1, topP: 1, topK: 0, maxTokens: 8, seed: 7 };

function close(a: Float32Array, b: Float32Array, tol = 2e-4): void {
  expect(a.length).toBe(b.length);
  a.forEach((x, i) => expect(Math.abs(x - (b[i] ?? NaN))).toBeLessThan(tol));
}

const flat = (out: SampledResponse[][]): SampledResponse[] => out.flat();

describe.each(['cpu', 'wasm'] as const)('LocalPolicy on %s', (backend) => {
  beforeAll(async () => {
    await selectBackend({ prefer: backend });
  });

  it('scores sampled tokens with the log-probs seen while decoding (cache, no cache, no sharing)', async () => {
    const prompts = somePrompts();
    const cached = tinyPolicy();
    const uncached = tinyPolicy({ useCache: false, sharePrefix: false });
    const unshared = tinyPolicy({ sharePrefix: false });
    const a = await cached.sample(prompts, base);
    const b = await uncached.sample(prompts, base);
    const c = await unshared.sample(prompts, base);
    expect(flat(b).map((r) => r.tokenIds)).toEqual(flat(a).map((r) => r.tokenIds));
    expect(flat(c).map((r) => r.tokenIds)).toEqual(flat(a).map((r) => r.tokenIds));
    const requests = a.flatMap((g, i) =>
      g.map((r) => ({ prompt: prompts[i]!, responseTokenIds: r.tokenIds })),
    );
    const scores = [
      await cached.score(requests),
      await uncached.score(requests),
      await unshared.score(requests),
    ];
    flat(a).forEach((r, j) => {
      close(r.logprobs, flat(b)[j]!.logprobs);
      close(r.logprobs, flat(c)[j]!.logprobs);
      for (const s of scores) close(r.logprobs, s[j]!.logprobs);
    });
    // At temperature 1 without truncation the sampling distribution is the policy itself.
    for (const r of flat(a)) expect(Array.from(r.samplingLogprobs)).toEqual(Array.from(r.logprobs));
    for (const p of [cached, uncached, unshared]) p.model.dispose();
  });

  it('is reproducible by seed, greedy at temperature 0 and with top-k 1', async () => {
    const prompts = somePrompts();
    const policy = tinyPolicy();
    const a = await policy.sample(prompts, base);
    const again = await policy.sample(prompts, base);
    const other = await policy.sample(prompts, { ...base, seed: 8 });
    expect(flat(again).map((r) => r.tokenIds)).toEqual(flat(a).map((r) => r.tokenIds));
    expect(flat(other).map((r) => r.tokenIds)).not.toEqual(flat(a).map((r) => r.tokenIds));
    const greedy = await policy.sample(prompts, { ...base, temperature: 0 });
    const top1 = await policy.sample(prompts, { ...base, topK: 1, seed: 99 });
    expect(flat(top1).map((r) => r.tokenIds)).toEqual(flat(greedy).map((r) => r.tokenIds));
    // Greedy: every token is the argmax of the teacher-forced distribution at its step.
    const requests = greedy.flatMap((g, i) =>
      g.map((r) => ({ prompt: prompts[i]!, responseTokenIds: r.tokenIds })),
    );
    const scored = await policy.score(requests, { topK: 1 });
    scored.forEach((s, j) => {
      const ids = flat(greedy)[j]!.tokenIds;
      ids.forEach((id, t) => expect(s.topK!.ids[t]![0]).toBe(id));
      expect(Array.from(flat(greedy)[j]!.samplingLogprobs).every((x) => x === 0)).toBe(true);
    });
    policy.model.dispose();
  });

  it('takes per-prompt seeds already derived, so one prompt sampled alone (a server) reproduces a batch', async () => {
    const prompts = somePrompts();
    const policy = tinyPolicy();
    const batch = await policy.sample(prompts, base);
    for (const [i, p] of prompts.entries()) {
      // Another id and another call seed: only the given per-prompt seed decides the rollouts.
      const alone = await policy.sample([{ ...p, id: 'renamed' }], {
        ...base,
        seed: 12345,
        promptSeeds: [deriveSeed(base.seed, p.id)],
      });
      expect(flat(alone).map((r) => r.tokenIds)).toEqual(batch[i]!.map((r) => r.tokenIds));
    }
    await expect(policy.sample(prompts, { ...base, promptSeeds: [1] })).rejects.toThrow(/promptSeeds/);
    await expect(policy.sample(prompts.slice(0, 1), { ...base, promptSeeds: [1.5] })).rejects.toThrow(
      /promptSeeds\[0\]/,
    );
    policy.model.dispose();
  });

  it('leaks no tensors across sample and score', async () => {
    const prompts = somePrompts();
    const policy = tinyPolicy();
    const run = async (): Promise<void> => {
      const out = await policy.sample(prompts, { ...base, topK: 5, topP: 0.9, temperature: 0.7 });
      await policy.score(
        out.flatMap((g, i) => g.map((r) => ({ prompt: prompts[i]!, responseTokenIds: r.tokenIds }))),
        { topK: 3 },
      );
    };
    await run();
    const before = tf.memory().numTensors;
    await run();
    await run();
    expect(tf.memory().numTensors).toBe(before);
    policy.model.dispose();
  });

  it('rejects bad options, unknown words and wrong image slots naming the field', async () => {
    const prompts = somePrompts();
    const policy = tinyPolicy();
    await expect(policy.sample(prompts, { ...base, topP: 0 })).rejects.toThrow(/options\.topP/);
    await expect(policy.sample(prompts, { ...base, n: 0 })).rejects.toThrow(InvalidInputError);
    await expect(
      policy.sample([{ ...prompts[0]!, text: 'what colour is the hexagon ?' }], base),
    ).rejects.toThrow(/unknown word "hexagon"/);
    await expect(
      policy.sample([{ ...prompts[0]!, images: prompts[0]!.images.slice(0, 1) }], base),
    ).rejects.toThrow(/prompts\[0\]\.images/);
    await expect(policy.score([{ prompt: prompts[0]!, responseTokenIds: [tokenizer.size] }])).rejects.toThrow(
      /requests\[0\]\.responseTokenIds\[0\]/,
    );
    policy.model.dispose();
  });
});
