// Shared fixtures: a small word list, solid-colour images and prompts for the tiny model.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ImagePixels, Prompt, PromptImage, SampledResponse, ScoreResult } from '@vzero/core';
import {
  MODEL_PRESETS,
  Tokenizer,
  createModel,
  LocalPolicy,
  loadCheckpoint,
  saveCheckpoint,
} from '../src/index.js';
import type { ModelPreset, LocalPolicyOptions } from '../src/index.js';

export const WORDS = [
  'what',
  'colour',
  'is',
  'the',
  'triangle',
  'square',
  '?',
  'A',
  'B',
  'C',
  'D',
  '.',
  'red',
  'green',
  'blue',
  'yellow',
  'answer',
];

export const COLOURS: Record<string, [number, number, number]> = {
  red: [1, 0, 0],
  green: [0, 1, 0],
  blue: [0, 0, 1],
  yellow: [1, 1, 0],
};

/** A size x size image of one colour with a small square of another colour at (x, y). */
export function solidImage(
  size: number,
  rgb: readonly [number, number, number],
  spot?: { x: number; y: number; side: number; rgb: readonly [number, number, number] },
): ImagePixels {
  const data = new Float32Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const inSpot = spot && x >= spot.x && x < spot.x + spot.side && y >= spot.y && y < spot.y + spot.side;
      const c = inSpot ? spot.rgb : rgb;
      data.set(c, (y * size + x) * 3);
    }
  }
  return { width: size, height: size, channels: 3, data };
}

export function image(id: string, role: 'full' | 'crop', pixels: ImagePixels): PromptImage {
  return { id, role, pixels };
}

/** A two-slot prompt (tiny preset layout): full image then crop. */
export function teacherPrompt(
  id: string,
  full: PromptImage,
  crop: PromptImage,
  text = 'what colour is the triangle ?',
): Prompt {
  return { id, images: [full, crop], text };
}

export const tokenizer = Tokenizer.fromWords(WORDS);

export function tinyPolicy(
  options: LocalPolicyOptions = {},
  preset: ModelPreset = MODEL_PRESETS.tiny,
): LocalPolicy {
  return new LocalPolicy(createModel({ ...preset, vocabSize: tokenizer.size }), tokenizer, options);
}

/** A few prompts with distinct images (and one shared full image between two prompts). */
export function somePrompts(): Prompt[] {
  const fullA = image(
    'full-a',
    'full',
    solidImage(20, COLOURS.red as [number, number, number], { x: 3, y: 4, side: 5, rgb: [0, 0, 1] }),
  );
  const fullB = image('full-b', 'full', solidImage(16, COLOURS.green as [number, number, number]));
  const cropPos = image('crop-pos', 'crop', solidImage(12, [0, 0, 1]));
  const cropNeg = image('crop-neg', 'crop', solidImage(12, [1, 0, 0]));
  return [
    teacherPrompt('p0', fullA, cropPos),
    teacherPrompt('p1', fullA, cropNeg),
    teacherPrompt('p2', fullB, cropPos, 'what colour is the square ? A red B green'),
  ];
}

/**
 * A tiny random model with `tokenizer` saved to a fresh folder and loaded back, then asked to
 * sample from and score free-form text (English punctuation, accents, CJK): what the loaded
 * tokenizer is, and what the model gave.
 */
export async function freeFormThroughCheckpoint(tokenizer: Tokenizer): Promise<{
  loaded: Tokenizer;
  sampled: SampledResponse[][];
  scored: ScoreResult[];
}> {
  const model = createModel({ ...MODEL_PRESETS.tiny, maxTextLength: 160, vocabSize: tokenizer.size });
  const dir = join(await mkdtemp(join(tmpdir(), 'vzero-free-form-')), 'ckpt');
  await saveCheckpoint(dir, model, tokenizer);
  model.dispose();
  const loaded = await loadCheckpoint(dir);
  try {
    const policy = new LocalPolicy(loaded.model, loaded.tokenizer, { name: 'free-form' });
    const texts = [
      "What colour is the woman's scarf? (A) red (B) blue",
      'Ünïcödé ✓ 中文？',
      'what colour is the square ?',
    ];
    const prompts = somePrompts().map((p, i) => ({ ...p, text: texts[i]! }));
    const sampled = await policy.sample(prompts, {
      n: 2,
      temperature: 1,
      topP: 1,
      topK: 0,
      maxTokens: 12,
      seed: 1,
    });
    const response = policy.encodeResponse('the answer is (B) blue — 青');
    const scored = await policy.score(prompts.map((prompt) => ({ prompt, responseTokenIds: response })));
    return { loaded: loaded.tokenizer, sampled, scored };
  } finally {
    loaded.model.dispose();
  }
}
