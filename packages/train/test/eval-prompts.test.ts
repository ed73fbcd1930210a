// Evaluation views are built once per process: the prompts equal a fresh factory's, and a second
// evaluation of the same questions builds no view again.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveSeed, type Prompt } from '@vzero/core';
import { resolveModelConfig } from '@vzero/model';
import { generateWorld, loadLabelled, type WorldLabelledSample } from '@vzero/world';
import { EvalPrompts } from '../src/evaluation/prompts.js';
import { PromptFactory, type PromptSettings } from '../src/prompts.js';

let root: string;
let samples: WorldLabelledSample[];
const slots = resolveModelConfig('student', { images: [{ role: 'full', size: 64 }], vocabSize: 64 });
const settings: PromptSettings = {
  negative: 'outside-downsampled',
  factor: 2,
  padding: 0,
  seed: deriveSeed(0, 'views'),
  encode: false,
};

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'vzero-eval-prompts-'));
  await generateWorld({ out: root, split: 'val', n: 24, seed: 4, width: 128, height: 96 });
  samples = await loadLabelled(root, 'val');
}, 120_000);
afterAll(() => rm(root, { recursive: true, force: true }));

const pixels = (p: Prompt): number[][] =>
  p.images.map((i) => {
    if (!i.pixels) throw new Error(`prompt ${p.id}: no pixels`);
    return Array.from(i.pixels.data);
  });

describe('EvalPrompts', () => {
  it('gives the prompts a fresh factory gives, building each view once over repeated evaluations', async () => {
    const shared = new EvalPrompts();
    const fresh = await Promise.all(
      samples.map((s) => new PromptFactory(slots, undefined, settings).student(s)),
    );
    for (let evaluation = 0; evaluation < 3; evaluation++) {
      // the same slots and settings, as a later evaluation of the run asks for them
      const factory = shared.factory({ images: slots.images.map((s) => ({ ...s })) }, undefined, {
        ...settings,
      });
      const made = await Promise.all(samples.map((s) => factory.student(s)));
      made.forEach((p, i) => {
        expect(p.text).toBe(fresh[i]!.text);
        expect(pixels(p)[0]!.length).toBe(64 * 64 * 3);
        expect(pixels(p)).toEqual(pixels(fresh[i]!));
      });
    }
    expect(shared.stats).toEqual({ hits: 2 * samples.length, misses: samples.length, factories: 1 });
    // other settings get a factory of their own
    shared.factory(slots, undefined, { ...settings, seed: 1 });
    expect(shared.stats.factories).toBe(2);
  });
});
