// Which samples get a negative view must not depend on the order in which their views finish.
import { describe, expect, it } from 'vitest';
import { Rng, deriveSeed, type Prompt } from '@vzero/core';
import { MODEL_PRESETS, resolveModelConfig } from '@vzero/model';
import { loadLabelled } from '@vzero/world';
import { promptsForModel } from '../src/prompts.js';
import { pretrainExamples, type ExamplePrompts } from '../src/pretrain-examples.js';
import { makeFixture } from './fixture.js';

describe('pretrainExamples', () => {
  it('chooses the negatives in sample order, however the views finish', async () => {
    const f = await makeFixture({ train: 12 });
    const train = await loadLabelled(f.world, 'train');
    const config = resolveModelConfig(MODEL_PRESETS.tiny, { vocabSize: 64 });
    const real = promptsForModel(config, 0);
    // The same real views, started (and so finished) in reverse sample order.
    const index = new Map(train.map((s, i) => [s.id, i]));
    const late = <T>(make: () => Promise<T>, id: string) =>
      new Promise((r) => setTimeout(r, 30 * (train.length - index.get(id)!))).then(make);
    const reversed: ExamplePrompts = {
      promptFor: (s) => late(() => real.promptFor(s), s.id),
      negativeFor: (s) => late(() => real.negativeFor(s), s.id),
    };
    const seed = deriveSeed(0, 'pretrain-negatives');
    const expected = new Rng(seed);
    const chosen = train.map(() => expected.float() < 0.5);
    expect(chosen.some(Boolean) && !chosen.every(Boolean)).toBe(true);

    const slow = await pretrainExamples(train, reversed, 0.5, new Rng(seed));
    // Expected: every sample's positive prompt in order, each chosen one followed by its negative.
    const pixels = (p: Prompt) =>
      p.images
        .map(({ pixels: { data } = { data: new Float32Array() } }) =>
          Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64'),
        )
        .join('|');
    const expectedPixels: string[] = [];
    for (const [i, s] of train.entries()) {
      expectedPixels.push(pixels(await real.promptFor(s)));
      if (chosen[i]) expectedPixels.push(pixels(await real.negativeFor(s)));
    }
    expect(slow.map((e) => pixels(e.prompt))).toEqual(expectedPixels);
  });

  it('draws nothing and adds no negatives at fraction 0', async () => {
    const f = await makeFixture({ train: 4 });
    const train = await loadLabelled(f.world, 'train');
    const config = resolveModelConfig(MODEL_PRESETS.tiny, { vocabSize: 64 });
    const rng = new Rng(5);
    const ex = await pretrainExamples(train, promptsForModel(config, 0), 0, rng);
    expect(ex.length).toBe(4);
    expect(rng.float()).toBe(new Rng(5).float());
  });
});
