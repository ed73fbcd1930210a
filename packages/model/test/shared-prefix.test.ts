// The update's shared image prefix (Model.sharedPrefixLogprobs): rows with the same images encode
// them once. Forward values must be fullLogprobs' exactly on the tfjs kernels (the prefix is
// copied, not recomputed differently) and within a few ulp with the native kernels; gradients the
// same up to the order of float sums; nothing leaks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '@vzero/core';
import { nativeKernelsAvailable, registerNativeKernels, unregisterNativeKernels } from '@vzero/tfjs-native';
import { MODEL_PRESETS, createModel, type ModelPreset, type ResponseBatch } from '../src/index.js';
import { image, solidImage, teacherPrompt, tokenizer } from './helpers.js';
import type { Prompt } from '@vzero/core';

const full = image('full', 'full', solidImage(16, [1, 0, 0], { x: 2, y: 3, side: 5, rgb: [0, 0, 1] }));
const other = image('other', 'full', solidImage(16, [0, 1, 0]));
const cropA = image('crop-a', 'crop', solidImage(16, [0, 0, 1]));
const cropB = image('crop-b', 'crop', solidImage(16, [1, 1, 0]));

/** Three rows of one prompt (a group of rollouts), two of another, one alone, interleaved. */
function groupedBatch(): ResponseBatch {
  const p: Prompt[] = [
    teacherPrompt('p', full, cropA),
    teacherPrompt('q', other, cropB, 'what colour is the square ?'),
    teacherPrompt('r', full, cropB),
  ];
  const enc = (x: Prompt) => ({ images: x.images, tokenIds: tokenizer.encode(x.text) });
  const order = [0, 0, 1, 0, 2, 1];
  const responses = [[12, 11, 16, 12, 2], [13, 2], [14, 11, 2], [12, 11, 16, 13], [15, 15, 2], [12]];
  return { prompts: order.map((i) => enc(p[i] as Prompt)), responses };
}

const PRESETS: [string, ModelPreset][] = [
  ['tiny (two image slots)', MODEL_PRESETS.tiny],
  ['tiny with a convolution stem', { ...MODEL_PRESETS.tiny, stemPatch: 4, stemChannels: 8 }],
];

// the backends training runs on: plain cpu and wasm, and wasm with the native kernels (where built)
const SETUPS: readonly { name: string; backend: 'cpu' | 'wasm'; native: boolean }[] = [
  { name: 'cpu', backend: 'cpu', native: false },
  { name: 'wasm', backend: 'wasm', native: false },
  ...(nativeKernelsAvailable()
    ? [{ name: 'wasm + native kernels', backend: 'wasm' as const, native: true }]
    : []),
];

describe.each(SETUPS)('shared image prefix on $name', ({ backend, native }) => {
  beforeAll(async () => {
    await selectBackend({ prefer: backend });
    if (native) registerNativeKernels({ backends: [backend], threads: 2 });
  });
  afterAll(async () => {
    if (native) unregisterNativeKernels();
    await selectBackend({ prefer: 'cpu' });
  });

  it.each(PRESETS)(
    '%s: forward equal to fullLogprobs, gradients equal up to float order',
    async (_n, preset) => {
      const model = createModel({ ...preset, vocabSize: tokenizer.size });
      try {
        const batch = groupedBatch();
        const full = tf.tidy(() => model.fullLogprobs(batch, 1).arraySync());
        const shared = tf.tidy(() => model.sharedPrefixLogprobs(batch, 1).arraySync());
        if (native) {
          // the native kernels block their sums by the shapes they get (the prefix alone is a
          // shorter key row and fewer GEMM rows): a few ulp
          const fl = (full as number[][][]).flat(2);
          const sl = (shared as number[][][]).flat(2);
          expect(Math.max(...fl.map((x, i) => Math.abs(x - (sl[i] as number))))).toBeLessThan(1e-5);
        } else expect(shared).toEqual(full);

        const grads = (sharePrefix: boolean) =>
          tf.tidy(() => {
            const { value, grads } = tf.variableGrads(
              () => tf.sum(model.responseLogprobs(batch, { sharePrefix })) as tf.Scalar,
              model.trainableVariables,
            );
            return {
              value: value.dataSync()[0] as number,
              grads: Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, Array.from(g.dataSync())])),
            };
          });
        const a = grads(false);
        const before = tf.memory().numTensors;
        const b = grads(true);
        expect(tf.memory().numTensors).toBe(before);
        expect(b.value).toBeCloseTo(a.value, native ? 4 : 12);
        expect(Object.keys(b.grads).sort()).toEqual(Object.keys(a.grads).sort());
        // each parameter's gradient: the difference's norm against the gradient's norm (at least 1:
        // a gradient that is 0 in exact arithmetic, as the key bias's, is float noise either way)
        let worst = 0;
        for (const [k, ga] of Object.entries(a.grads)) {
          const gb = b.grads[k] as number[];
          let diff = 0;
          let norm = 0;
          for (let i = 0; i < ga.length; i++) {
            diff += ((gb[i] as number) - (ga[i] as number)) ** 2;
            norm += (ga[i] as number) ** 2;
          }
          worst = Math.max(worst, Math.sqrt(diff) / Math.max(1, Math.sqrt(norm)));
        }
        expect(worst).toBeLessThan(1e-5);
        // (the image encoder's weights included: a prefix cut off from the gradient would differ by
        // the whole of theirs)
      } finally {
        model.dispose();
      }
    },
  );

  it('falls back to fullLogprobs when no two rows share their images', async () => {
    const model = createModel({ ...MODEL_PRESETS.tiny, vocabSize: tokenizer.size });
    try {
      const batch = groupedBatch();
      const distinct: ResponseBatch = {
        prompts: [batch.prompts[0]!, batch.prompts[2]!, batch.prompts[4]!],
        responses: [batch.responses[0]!, batch.responses[2]!, batch.responses[4]!],
      };
      const a = tf.tidy(() => model.fullLogprobs(distinct).arraySync());
      const b = tf.tidy(() => model.sharedPrefixLogprobs(distinct).arraySync());
      expect(b).toEqual(a);
    } finally {
      model.dispose();
    }
  });
});
