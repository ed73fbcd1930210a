import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '@vzero/core';
import {
  CheckpointMismatchError,
  MODEL_PRESETS,
  loadCheckpoint,
  saveCheckpoint,
  LocalPolicy,
} from '../src/index.js';
import { somePrompts, tinyPolicy } from './helpers.js';

let dir: string;
beforeAll(async () => {
  await selectBackend({ prefer: 'cpu' });
  dir = await mkdtemp(join(tmpdir(), 'vzero-model-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('checkpoints', () => {
  it('round-trips weights and outputs bit for bit', async () => {
    const policy = tinyPolicy({}, { ...MODEL_PRESETS.tiny, initSeed: 42 });
    await saveCheckpoint(dir, policy.model, policy.tokenizer, { step: 3 });
    const loaded = await loadCheckpoint(dir, { expect: { width: 32, images: MODEL_PRESETS.tiny.images } });
    expect(loaded.tokenizer.id).toBe(policy.tokenizer.id);
    expect(loaded.model.config).toEqual(policy.model.config);
    expect(loaded.metadata).toEqual({ step: 3 });
    const a = policy.model.getWeights();
    const b = loaded.model.getWeights();
    expect(b.map((w) => w.name)).toEqual(a.map((w) => w.name));
    const bits = (x: Float32Array): number[] => Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length));
    a.forEach((w, i) =>
      expect(bits(b[i]!.tensor.dataSync() as Float32Array)).toEqual(
        bits(w.tensor.dataSync() as Float32Array),
      ),
    );
    const prompts = somePrompts();
    const options = { n: 2, temperature: 1, topP: 1, topK: 0, maxTokens: 6, seed: 3 };
    const before = await policy.sample(prompts, options);
    const after = await new LocalPolicy(loaded.model, loaded.tokenizer).sample(prompts, options);
    expect(after.flat().map((r) => Array.from(r.logprobs))).toEqual(
      before.flat().map((r) => Array.from(r.logprobs)),
    );
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as {
      config: { width: number };
    };
    expect(config.config.width).toBe(32);
    policy.model.dispose();
    loaded.model.dispose();
  });

  it('names the field that differs from the requested architecture', async () => {
    const policy = tinyPolicy();
    await saveCheckpoint(dir, policy.model, policy.tokenizer);
    await expect(loadCheckpoint(dir, { expect: { width: 96 } })).rejects.toThrow(CheckpointMismatchError);
    await expect(loadCheckpoint(dir, { expect: { width: 96 } })).rejects.toThrow(
      'config.width: checkpoint 32, requested 96',
    );
    await expect(loadCheckpoint(dir, { expect: { images: MODEL_PRESETS.student.images } })).rejects.toThrow(
      /^config\.images: checkpoint/,
    );
    await expect(loadCheckpoint(dir, { tokenizerId: 'other' })).rejects.toThrow(/tokenizerId/);
    await expect(loadCheckpoint(join(dir, 'missing'))).rejects.toThrow(/cannot read/);
    policy.model.dispose();
  });
});

describe('checkpoint checksums', () => {
  it('refuses a weights file or index whose bytes changed, naming the file', async () => {
    const { writeFile, readdir } = await import('node:fs/promises');
    const { CheckpointCorruptError } = await import('../src/index.js');
    const policy = tinyPolicy({}, { ...MODEL_PRESETS.tiny, initSeed: 7 });
    const where = await mkdtemp(join(tmpdir(), 'vzero-model-sum-'));
    await saveCheckpoint(where, policy.model, policy.tokenizer);
    policy.model.dispose();
    // Written through temporary names: nothing but the three files remains.
    expect((await readdir(where)).sort()).toEqual(['config.json', 'weights.bin', 'weights.json']);
    const weights = join(where, 'weights.bin');
    const good = await readFile(weights);
    const bad = Buffer.from(good);
    bad[17] = (bad[17] as number) ^ 1; // one bit: a float that still parses
    await writeFile(weights, bad);
    await expect(loadCheckpoint(where)).rejects.toThrow(CheckpointCorruptError);
    await expect(loadCheckpoint(where)).rejects.toThrow(/weights\.bin: SHA-256 differs/);
    await writeFile(weights, good);
    const index = join(where, 'weights.json');
    await writeFile(index, (await readFile(index, 'utf8')).replace('"offset": 0', '"offset": 1'));
    await expect(loadCheckpoint(where)).rejects.toThrow(/weights\.json: SHA-256 differs/);
  });
});
