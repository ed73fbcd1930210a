// Decoding into a preallocated KV cache written in place (with the native kernels) against
// concatenating the cache every step (what runs without them, and what ran before): the same
// rollouts and the same log-probs bit for bit, through the policy and through DecodeState
// directly (a cache that outgrows its reservation, rows selected after steps), with no tensors
// left behind.
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend, type SamplingOptions } from '@vzero/core';
import {
  ATTENTION_APPEND_KERNEL,
  canAppendAttention,
  nativeKernelsAvailable,
  registerNativeKernels,
  unregisterNativeKernels,
} from '@vzero/tfjs-native';
import type { LocalPolicy } from '../src/index.js';
import { somePrompts, tinyPolicy } from './helpers.js';

const options: SamplingOptions = { n: 4, temperature: 1, topP: 1, topK: 0, maxTokens: 10, seed: 11 };

/** Runs `fn` with the native kernels, decoding in place or (inPlace false) by concatenation. */
async function withKernels<T>(
  backend: 'cpu' | 'wasm',
  inPlace: boolean,
  fn: () => T | Promise<T>,
): Promise<T> {
  registerNativeKernels({ backends: [backend], threads: 2 });
  if (!inPlace) tf.unregisterKernel(ATTENTION_APPEND_KERNEL, backend);
  expect(canAppendAttention()).toBe(inPlace);
  try {
    return await fn();
  } finally {
    unregisterNativeKernels();
  }
}

/** Log-probs of every step of a direct decode: 9 steps, reserving 2, rows reordered after 4. */
function decodeSteps(policy: LocalPolicy): Float32Array[] {
  const model = policy.model;
  const prompts = somePrompts().map((p) => policy.encodePrompt(p));
  const prefix = model.encodePrefix(
    prompts.map((p) => p.images),
    true,
  );
  const { state, logprobs } = model.startDecoding(prompts, prefix);
  tf.dispose(prefix.flatMap((c) => [c.k, c.v]));
  const out = [logprobs];
  state.select([0, 0, 1, 2, 2, 2]);
  state.reserve(2);
  for (let s = 0; s < 9; s++) {
    if (s === 4) state.select([5, 4, 3, 2, 1, 0]);
    const tokens = Array.from({ length: state.rows }, (_, r) => (3 + r + s) % 12);
    out.push(
      state.step(
        tokens,
        tokens.map((_, r) => r !== s % 6),
      ),
    );
  }
  state.dispose();
  return out;
}

describe.each(['cpu', 'wasm'] as const)('decoding in place on %s', (backend) => {
  beforeAll(async () => {
    await selectBackend({ prefer: backend });
  });
  afterEach(() => unregisterNativeKernels());

  it('is not used without the native kernels', () => {
    expect(canAppendAttention()).toBe(false);
  });

  it.skipIf(!nativeKernelsAvailable())('gives the concatenating decoder’s rollouts bit for bit', async () => {
    const policy = tinyPolicy();
    const sample = (inPlace: boolean) =>
      withKernels(backend, inPlace, () => policy.sample(somePrompts(), options));
    const a = (await sample(true)).flat();
    const b = (await sample(false)).flat();
    expect(a.map((r) => r.tokenIds)).toEqual(b.map((r) => r.tokenIds));
    expect(a.map((r) => Array.from(r.logprobs))).toEqual(b.map((r) => Array.from(r.logprobs)));
    policy.model.dispose();
  });

  it.skipIf(!nativeKernelsAvailable())(
    'DecodeState: the same log-probs every step, past its reservation and after reordering rows',
    async () => {
      const policy = tinyPolicy();
      const before = tf.memory().numTensors;
      const a = await withKernels(backend, true, () => decodeSteps(policy));
      expect(tf.memory().numTensors).toBe(before);
      const b = await withKernels(backend, false, () => decodeSteps(policy));
      expect(a.map((x) => Array.from(x))).toEqual(b.map((x) => Array.from(x)));
      policy.model.dispose();
    },
  );
});
