import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '@vzero/core';
import type { Prompt } from '@vzero/core';
import { AdamW, MODEL_PRESETS, pretrain, supervisedStep } from '../src/index.js';
import type { ModelPreset } from '../src/index.js';
import { COLOURS, image, solidImage, somePrompts, tinyPolicy } from './helpers.js';

const studentTiny: ModelPreset = { ...MODEL_PRESETS.tiny, images: [{ role: 'full', size: 16 }] };

/** Toy task: the answer word is the colour of the image (the text is the same for all). */
function colourExamples(): { prompt: Prompt; response: string }[] {
  return Object.entries(COLOURS).flatMap(([name, rgb], c) =>
    [0, 1].map((v) => ({
      prompt: {
        id: `${name}-${v}`,
        images: [
          image(
            `${name}-${v}`,
            'full',
            solidImage(16, rgb, { x: 4 * v, y: 2, side: 3, rgb: [0.5, 0.5, 0.5] }),
          ),
        ],
        text: 'what colour is the square ?',
      },
      response: `the square is ${name} . answer ${'ABCD'[c]}`,
    })),
  );
}

describe.each(['cpu', 'wasm'] as const)('training on %s', (backend) => {
  beforeAll(async () => {
    await selectBackend({ prefer: backend });
  });

  it('responseLogprobs equals teacher-forced scores and topK logprobs pick the same values', async () => {
    const policy = tinyPolicy();
    const prompts = somePrompts();
    const responses = [
      [5, 6, 7, 2],
      [8, 2],
      [9, 10, 11],
    ];
    const scores = await policy.score(
      prompts.map((p, i) => ({ prompt: p, responseTokenIds: responses[i]! })),
    );
    const batch = policy.batch(prompts, responses);
    const lp = policy.model.responseLogprobs(batch);
    const values = lp.arraySync();
    lp.dispose();
    responses.forEach((r, b) => {
      r.forEach((_id, t) => expect(values[b]![t]).toBeCloseTo(scores[b]!.logprobs[t]!, 4));
      for (let t = r.length; t < 4; t++) expect(values[b]![t]).toBe(0);
    });
    const ids = tf.tensor3d(
      responses.map((r) => Array.from({ length: 4 }, (_, t) => [r[t] ?? 0, 3])),
      [3, 4, 2],
      'int32',
    );
    const topk = policy.model.responseTopKLogprobs(batch, ids);
    const tk = topk.arraySync();
    tf.dispose([ids, topk]);
    responses.forEach((r, b) => r.forEach((_id, t) => expect(tk[b]![t]![0]).toBeCloseTo(values[b]![t]!, 5)));
    policy.model.dispose();
  });

  it('takes AdamW steps that lower the loss without leaking tensors (wasm has no UnsortedSegmentSum)', () => {
    const policy = tinyPolicy();
    const prompts = somePrompts();
    const batch = policy.batch(prompts, [
      [5, 6, 2],
      [7, 2],
      [8, 9, 10, 2],
    ]);
    const opt = new AdamW(policy.model.trainableVariables);
    const first = supervisedStep(policy.model, opt, batch, { lr: 1e-2, gradClip: 1 });
    const before = tf.memory().numTensors;
    let last = first;
    for (let i = 0; i < 5; i++) last = supervisedStep(policy.model, opt, batch, { lr: 1e-2, gradClip: 1 });
    expect(tf.memory().numTensors).toBe(before);
    expect(last.loss).toBeLessThan(first.loss);
    expect(first.gradNorm).toBeGreaterThan(0);
    opt.dispose();
    policy.model.dispose();
  });

  it('frees every tensor it created once the model and optimizer are disposed', () => {
    const start = tf.memory().numTensors;
    const policy = tinyPolicy();
    const opt = new AdamW(policy.model.trainableVariables);
    supervisedStep(
      policy.model,
      opt,
      policy.batch(somePrompts(), [
        [5, 2],
        [6, 2],
        [7, 2],
      ]),
      { lr: 1e-3, gradClip: 1 },
    );
    opt.dispose();
    policy.model.dispose();
    expect(tf.memory().numTensors).toBe(start);
  });
});

describe('pretrain end to end', () => {
  beforeAll(async () => {
    await selectBackend({ prefer: 'wasm' });
  });

  it('learns that the answer depends on the image colour', { timeout: 60_000 }, async () => {
    const policy = tinyPolicy({}, studentTiny);
    const examples = colourExamples();
    const progress: number[] = [];
    const result = await pretrain(policy.model, policy.tokenizer, examples, {
      steps: 150,
      batchSize: 8,
      lr: 1e-2,
      warmupSteps: 10,
      onProgress: (p) => {
        progress.push(p.step);
      },
    });
    expect(result.steps).toBe(150);
    expect(progress.at(-1)).toBe(150);
    const head = result.losses.slice(0, 5).reduce((a, b) => a + b) / 5;
    const tail = result.losses.slice(-5).reduce((a, b) => a + b) / 5;
    expect(tail).toBeLessThan(0.25 * head);
    const out = await policy.sample(
      examples.map((e) => e.prompt),
      { n: 1, temperature: 0, topP: 1, topK: 0, maxTokens: 10, seed: 0 },
    );
    expect(out.map((g) => g[0]!.text)).toEqual(examples.map((e) => e.response));
    policy.model.dispose();
  });
});

describe('the old names of lr and gradClip (learningRate, clipNorm)', () => {
  beforeAll(async () => {
    await selectBackend({ prefer: 'wasm' });
  });

  it('still train as the new ones do, with one deprecation warning each; both names is an error', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    const losses = async (options: Parameters<typeof pretrain>[3]) => {
      const policy = tinyPolicy({}, studentTiny);
      try {
        return (
          await pretrain(policy.model, policy.tokenizer, colourExamples(), {
            steps: 2,
            batchSize: 4,
            ...options,
          })
        ).losses;
      } finally {
        policy.model.dispose();
      }
    };
    try {
      const now = await losses({ lr: 1e-2, gradClip: 0.5 });
      expect(await losses({ learningRate: 1e-2, clipNorm: 0.5 })).toEqual(now);
      expect(await losses({ learningRate: 1e-2, clipNorm: 0.5 })).toEqual(now);
      expect(await losses({ learningRate: 1e-3 })).not.toEqual(now);
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
      expect(warnings).toEqual([
        'DeprecationWarning: pretrain.learningRate is deprecated, use lr (the old name will be removed)',
        'DeprecationWarning: pretrain.clipNorm is deprecated, use gradClip (the old name will be removed)',
      ]);
      await expect(losses({ lr: 1e-2, learningRate: 1e-2 })).rejects.toThrow(
        /pretrain\.learningRate = 0\.01: is the old name of lr, which is given too/,
      );
    } finally {
      process.off('warning', onWarning);
    }
  });
});
