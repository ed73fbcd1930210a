// Real tiny models (random weights): a one-slot student (full image) and a two-slot teacher
// (full image, crop), sharing one word-level tokenizer; prompts with solid-colour images.
import type { ImagePixels, Prompt, PromptImage, Trajectory } from '@vzero/core';
import { LocalPolicy, MODEL_PRESETS, Tokenizer, createModel } from '@vzero/model';

export const WORDS = ['what', 'colour', 'is', 'the', 'sign', '?', 'A', 'B', 'red', 'green', 'answer', '.'];
export const tokenizer = Tokenizer.fromWords(WORDS);

export function teacherPolicy(): LocalPolicy {
  return new LocalPolicy(
    createModel({ ...MODEL_PRESETS.tiny, initSeed: 2, vocabSize: tokenizer.size }),
    tokenizer,
    {
      name: 'tiny-teacher',
    },
  );
}

export function studentPolicy(): LocalPolicy {
  const preset = { ...MODEL_PRESETS.tiny, images: [{ role: 'full' as const, size: 16 }] };
  return new LocalPolicy(createModel({ ...preset, initSeed: 1, vocabSize: tokenizer.size }), tokenizer, {
    name: 'tiny-student',
  });
}

export function solid(size: number, rgb: readonly [number, number, number]): ImagePixels {
  const data = new Float32Array(size * size * 3);
  for (let p = 0; p < size * size; p++) data.set(rgb, p * 3);
  return { width: size, height: size, channels: 3, data };
}

const QUESTION = 'what colour is the sign ?';

export interface Example {
  readonly student: Prompt;
  readonly positive: Prompt;
  readonly negative: Prompt;
}

/** Student prompt and both teacher views for `count` questions; the views share the full image. */
export function examples(count: number): Example[] {
  return Array.from({ length: count }, (_, i) => {
    const shade = (i + 1) / (count + 1);
    const full: PromptImage = { id: `full-${i}`, role: 'full', pixels: solid(16, [shade, 0.3, 1 - shade]) };
    const pos: PromptImage = { id: `pos-${i}`, role: 'crop', pixels: solid(8, [1, 0, 0]) };
    const neg: PromptImage = { id: `neg-${i}`, role: 'crop', pixels: solid(8, [0, 0.2, 1]) };
    return {
      student: { id: `q${i}`, images: [full], text: QUESTION },
      positive: { id: `q${i}+`, images: [full, pos], text: QUESTION },
      negative: { id: `q${i}-`, images: [full, neg], text: QUESTION },
    };
  });
}

/** Student rollouts as trajectories (what @vzero/rollout produces), G per prompt. */
export async function rollouts(
  student: LocalPolicy,
  prompts: readonly Prompt[],
  G: number,
): Promise<Trajectory[]> {
  const out = await student.sample(prompts, {
    n: G,
    temperature: 1,
    topP: 1,
    topK: 0,
    maxTokens: 6,
    seed: 3,
  });
  return out.flatMap((group, i) =>
    group.map((r, g) => ({
      promptId: prompts[i]!.id,
      groupId: `${prompts[i]!.id}@3`,
      index: g,
      tokenIds: r.tokenIds,
      logprobs: r.logprobs,
      samplingLogprobs: r.samplingLogprobs,
      mask: new Uint8Array(r.tokenIds.length).fill(1),
      finishReason: r.finishReason,
      text: r.text,
    })),
  );
}
