// The negative view the training app really builds on the paper-table world: the paper's
// outside-downsampled view for nearly every prompt, and where it cannot be made, a fallback
// that cannot show the target (never a random crop, which can).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveSeed, withoutAnswer } from '@vzero/core';
import { resolveModelConfig } from '@vzero/model';
import { buildViews, intersectionArea } from '@vzero/views';
import { generateWorld, loadLabelled, type WorldLabelledSample } from '@vzero/world';
import { ablatePreset } from '../src/ablate/presets.js';
import { PromptFactory } from '../src/prompts.js';
import { DEFAULT_CROP_PADDING, NEGATIVE_VIEW_FALLBACKS } from '../src/view-settings.js';

let root: string;
let samples: WorldLabelledSample[];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'vzero-prompts-'));
  const { config } = ablatePreset('paper-table').world;
  await generateWorld({ out: root, split: 'train', n: 300, seed: 5, ...config });
  samples = await loadLabelled(root, 'train');
}, 120_000);

afterAll(() => rm(root, { recursive: true, force: true }));

describe('the negative view on the paper-table world', () => {
  it('is the paper outside-downsampled view for at least 95% of prompts, the rest from the fallbacks', async () => {
    const student = resolveModelConfig('student', { images: [{ role: 'full', size: 128 }], vocabSize: 64 });
    const teacher = resolveModelConfig('teacher', {
      images: [
        { role: 'full', size: 32 },
        { role: 'crop', size: 32 },
      ],
      vocabSize: 64,
    });
    const factory = new PromptFactory(student, teacher, {
      negative: 'outside-downsampled',
      factor: 2,
      padding: DEFAULT_CROP_PADDING,
      seed: 1,
      encode: false,
    });
    const modes = new Map<string, number>();
    for (const s of samples) {
      const built = await factory.forSample(withoutAnswer(s));
      modes.set(built.negativeMode, (modes.get(built.negativeMode) ?? 0) + 1);
    }
    const paper = modes.get('outside-downsampled') ?? 0;
    expect(paper / samples.length).toBeGreaterThanOrEqual(0.95);
    for (const mode of modes.keys())
      expect(['outside-downsampled', ...NEGATIVE_VIEW_FALLBACKS]).toContain(mode);
  });

  it('never shows the target box, whichever mode made it', async () => {
    for (const s of samples) {
      const v = await buildViews(s.image, s.boxes, {
        size: 32,
        cropSize: 32,
        padding: DEFAULT_CROP_PADDING,
        minSize: 8,
        square: true,
        negative: 'outside-downsampled',
        fallback: NEGATIVE_VIEW_FALLBACKS,
        seed: deriveSeed(1, 'views'),
        kernel: 'linear',
      });
      if (!v.negative.ok) throw new Error(`${s.id}: ${v.negative.detail}`);
      if (v.negativeBox) expect(intersectionArea(v.negativeBox, v.targetBox)).toBe(0);
      else expect(v.negative.mode).toBe('blank');
    }
  });
});
