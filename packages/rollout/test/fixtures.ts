// A real tiny model (random weights) and a few prompts with solid-colour images.
import type { ImagePixels, Prompt } from '@vzero/core';
import { LocalPolicy, MODEL_PRESETS, Tokenizer, createModel } from '@vzero/model';

export const WORDS = ['what', 'colour', 'is', 'the', 'sign', '?', 'A', 'B', 'red', 'green', 'answer', '.'];
export const tokenizer = Tokenizer.fromWords(WORDS);

export function tinyPolicy(initSeed = 1): LocalPolicy {
  return new LocalPolicy(
    createModel({ ...MODEL_PRESETS.tiny, initSeed, vocabSize: tokenizer.size }),
    tokenizer,
    {
      name: `tiny-${initSeed}`,
    },
  );
}

function solid(size: number, rgb: readonly [number, number, number]): ImagePixels {
  const data = new Float32Array(size * size * 3);
  for (let p = 0; p < size * size; p++) data.set(rgb, p * 3);
  return { width: size, height: size, channels: 3, data };
}

/** `count` prompts, each with its own full image and crop (the tiny preset's two slots). */
export function prompts(count: number): Prompt[] {
  return Array.from({ length: count }, (_, i) => {
    const shade = (i + 1) / (count + 1);
    return {
      id: `q${i}`,
      images: [
        { id: `full-${i}`, role: 'full', pixels: solid(16, [shade, 0.2, 1 - shade]) },
        { id: `crop-${i}`, role: 'crop', pixels: solid(8, [1 - shade, shade, 0.5]) },
      ],
      text: i % 2 === 0 ? 'what colour is the sign ?' : 'what is the sign ? A red B green',
    };
  });
}
