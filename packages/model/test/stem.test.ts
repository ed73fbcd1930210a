// The sub-patch stem: a strided convolution (shared matrix over every sub-patch, then ReLU) in
// front of the patch projection. Checked against a hand computation in plain JavaScript.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '@vzero/core';
import {
  AdamW,
  MODEL_PRESETS,
  createModel,
  loadCheckpoint,
  patchify,
  resolveModelConfig,
  saveCheckpoint,
  supervisedStep,
  toSubPatches,
} from '../src/index.js';
import type { ModelPreset } from '../src/index.js';
import { image, solidImage, somePrompts, tinyPolicy, tokenizer } from './helpers.js';

const withStem: ModelPreset = { ...MODEL_PRESETS.tiny, stemPatch: 4, stemChannels: 3 };

describe('toSubPatches', () => {
  it('puts each sub-patch together (golden: one 4x4 patch in 2x2 sub-patches)', () => {
    // Pixel (y, x) holds the value 10*y + x in all three channels.
    const patch = new Float32Array(4 * 4 * 3);
    for (let y = 0; y < 4; y++)
      for (let x = 0; x < 4; x++) patch.fill(10 * y + x, (y * 4 + x) * 3, (y * 4 + x) * 3 + 3);
    const out = toSubPatches(patch, 4, 2);
    const firstChannel = Array.from({ length: 16 }, (_, i) => out[i * 3]);
    expect(firstChannel).toEqual([0, 1, 10, 11, 2, 3, 12, 13, 20, 21, 30, 31, 22, 23, 32, 33]);
  });

  it('is a permutation within each patch, for any patch and sub-patch size', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        (grid, sub, patches) => {
          const p = grid * sub;
          const dim = p * p * 3;
          const data = Float32Array.from({ length: patches * dim }, (_, i) => i);
          const out = toSubPatches(data, p, sub);
          for (let k = 0; k < patches; k++) {
            const a = Array.from(out.subarray(k * dim, (k + 1) * dim)).sort((x, y) => x - y);
            expect(a).toEqual(Array.from(data.subarray(k * dim, (k + 1) * dim)));
          }
        },
      ),
      { numRuns: 50 },
    );
  });

  it('names the bad argument', () => {
    expect(() => toSubPatches(new Float32Array(48), 4, 3)).toThrow(/sub = 3/);
    expect(() => toSubPatches(new Float32Array(47), 4, 2)).toThrow(/patches\.length = 47/);
  });
});

describe('stem config', () => {
  it('rejects a stem that does not tile the patch or has no channels, naming the field', () => {
    expect(() => resolveModelConfig('tiny', { vocabSize: 9, stemPatch: 3, stemChannels: 4 })).toThrow(
      /config\.stemPatch = 3/,
    );
    expect(() => resolveModelConfig('tiny', { vocabSize: 9, stemPatch: 4, stemChannels: 0 })).toThrow(
      /config\.stemChannels = 0/,
    );
    expect(() => resolveModelConfig('tiny', { vocabSize: 9, stemPatch: -1, stemChannels: 2 })).toThrow(
      /config\.stemPatch = -1/,
    );
    expect(resolveModelConfig('tiny', { vocabSize: 9, stemPatch: 2, stemChannels: 5 }).stemChannels).toBe(5);
  });
});

describe.each(['cpu', 'wasm'] as const)('stem on %s', (backend) => {
  beforeAll(async () => {
    await selectBackend({ prefer: backend });
  });

  it('embeds patches as relu(sub-patches x stem_w + stem_b) x patch_w + patch_b (hand computation)', () => {
    const model = createModel({ ...withStem, vocabSize: tokenizer.size });
    const w = new Map(model.getWeights().map((x) => [x.name, x.tensor.arraySync() as number[][] | number[]]));
    const img = solidImage(16, [0.2, 0.4, 0.9], { x: 3, y: 5, side: 6, rgb: [1, 0, 0] });
    const got = tf.tidy(() => model.embedImages([image('i', 'full', img)], 0).arraySync()[0]!);

    const p = 8;
    const sub = 4;
    const pix = patchify(img, 16, p);
    const stemW = w.get('stem_w') as number[][];
    const stemB = w.get('stem_b') as number[];
    const patchW = w.get('patch_w') as number[][];
    const patchB = w.get('patch_b') as number[];
    const pos = w.get('slot0_pos') as number[][];
    const view = (w.get('view_emb') as number[][])[0]!;
    for (let patch = 0; patch < 4; patch++) {
      const features: number[] = [];
      for (let sy = 0; sy < 2; sy++) {
        for (let sx = 0; sx < 2; sx++) {
          for (let c = 0; c < 3; c++) {
            let z = stemB[c]!;
            for (let y = 0; y < sub; y++)
              for (let x = 0; x < sub; x++)
                for (let ch = 0; ch < 3; ch++) {
                  const v = pix[patch * p * p * 3 + ((sy * sub + y) * p + sx * sub + x) * 3 + ch]!;
                  z += v * stemW[(y * sub + x) * 3 + ch]![c]!;
                }
            features.push(Math.max(0, z));
          }
        }
      }
      for (let j = 0; j < 32; j++) {
        let e = patchB[j]! + pos[patch]![j]! + view[j]!;
        features.forEach((f, i) => (e += f * patchW[i]![j]!));
        expect(got[patch]![j]).toBeCloseTo(e, 4);
      }
    }
    model.dispose();
  });

  it('trains the stem without leaking tensors', () => {
    const policy = tinyPolicy({}, withStem);
    const batch = policy.batch(somePrompts(), [
      [5, 6, 2],
      [7, 2],
      [8, 9, 10, 2],
    ]);
    const stemBefore = policy.model
      .getWeights()
      .find((x) => x.name === 'stem_w')!
      .tensor.dataSync()
      .slice();
    const opt = new AdamW(policy.model.trainableVariables);
    const first = supervisedStep(policy.model, opt, batch, { lr: 1e-2, gradClip: 1 });
    const count = tf.memory().numTensors;
    let last = first;
    for (let i = 0; i < 4; i++) last = supervisedStep(policy.model, opt, batch, { lr: 1e-2, gradClip: 1 });
    expect(tf.memory().numTensors).toBe(count);
    expect(last.loss).toBeLessThan(first.loss);
    const stemAfter = policy.model
      .getWeights()
      .find((x) => x.name === 'stem_w')!
      .tensor.dataSync();
    expect(stemAfter.some((v, i) => v !== stemBefore[i])).toBe(true);
    opt.dispose();
    policy.model.dispose();
  });
});

describe('stem and the rest of the model', () => {
  it('adds its weights only with a stem, after the weights drawn before patch_w', async () => {
    await selectBackend({ prefer: 'cpu' });
    const plain = createModel({ ...MODEL_PRESETS.tiny, vocabSize: tokenizer.size });
    const stem = createModel({ ...withStem, vocabSize: tokenizer.size });
    const plainNames = plain.getWeights().map((x) => x.name);
    const stemWeights = stem.getWeights();
    expect(plainNames.some((n) => n.startsWith('stem_'))).toBe(false);
    expect(stemWeights.map((x) => x.name)).toEqual([...plainNames, 'stem_w', 'stem_b']);
    expect(stemWeights.find((x) => x.name === 'patch_w')!.tensor.shape).toEqual([4 * 3, 32]);
    for (const name of plainNames.slice(0, plainNames.indexOf('patch_w'))) {
      const a = plain.getWeights().find((x) => x.name === name)!.tensor;
      const b = stemWeights.find((x) => x.name === name)!.tensor;
      expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    }
    plain.dispose();
    stem.dispose();
  });

  it('round-trips through a checkpoint, and a config written before the stem loads as no stem', async () => {
    await selectBackend({ prefer: 'cpu' });
    const dir = await mkdtemp(join(tmpdir(), 'vzero-stem-'));
    try {
      const policy = tinyPolicy({}, withStem);
      await saveCheckpoint(dir, policy.model, policy.tokenizer);
      const loaded = await loadCheckpoint(dir);
      expect(loaded.model.config.stemPatch).toBe(4);
      const scoreOf = async (p: typeof policy): Promise<number[]> =>
        Array.from((await p.score([{ prompt: somePrompts()[0]!, responseTokenIds: [5, 6] }]))[0]!.logprobs);
      const reloaded = tinyPolicy({}, withStem);
      reloaded.model.setWeights(new Map(loaded.model.getWeights().map((x) => [x.name, x.tensor])));
      expect(await scoreOf(reloaded)).toEqual(await scoreOf(policy));
      loaded.model.dispose();
      reloaded.model.dispose();
      policy.model.dispose();

      const plain = tinyPolicy();
      await saveCheckpoint(dir, plain.model, plain.tokenizer);
      const file = join(dir, 'config.json');
      const stored = JSON.parse(await readFile(file, 'utf8')) as { config: Record<string, unknown> };
      delete stored.config.stemPatch;
      delete stored.config.stemChannels;
      await writeFile(file, JSON.stringify(stored));
      const old = await loadCheckpoint(dir);
      expect(old.model.getWeights().some((x) => x.name.startsWith('stem_'))).toBe(false);
      old.model.dispose();
      plain.model.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
