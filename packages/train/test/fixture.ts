// A tiny but real set-up for end-to-end tests: a small generated world and random-weight
// student and teacher checkpoints with the real architecture (MODEL_PRESETS.tiny sizes).
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectBackend } from '@vzero/core';
import { MODEL_PRESETS, Tokenizer, createModel, resolveModelConfig, saveCheckpoint } from '@vzero/model';
import { WORLD_VOCABULARY, generateWorld, type Split } from '@vzero/world';

export interface Fixture {
  readonly root: string;
  readonly world: string;
  readonly models: { readonly student: string; readonly teacher: string };
}

export const TINY_WORLD = {
  width: 160,
  height: 120,
  distractorsMin: 3,
  distractorsMax: 5,
  targetSizeMin: 10,
  targetSizeMax: 14,
  distractorSizeMin: 6,
  distractorSizeMax: 12,
};

export async function makeFixture(
  splits: Partial<Record<Split, number>> = { train: 6, val: 4 },
): Promise<Fixture> {
  await selectBackend({ prefer: 'wasm' });
  const root = await mkdtemp(join(tmpdir(), 'vzero-train-'));
  const world = join(root, 'world');
  for (const [split, n] of Object.entries(splits)) {
    await generateWorld({ out: world, split: split as Split, n: n as number, seed: 3, ...TINY_WORLD });
  }
  const tokenizer = Tokenizer.fromWords(WORLD_VOCABULARY);
  const tiny = MODEL_PRESETS.tiny;
  const models = { student: join(root, 'models', 'student'), teacher: join(root, 'models', 'teacher') };
  const student = createModel(
    resolveModelConfig(tiny, {
      vocabSize: tokenizer.size,
      images: [{ role: 'full', size: 16 }],
      initSeed: 11,
    }),
  );
  const teacher = createModel(resolveModelConfig(tiny, { vocabSize: tokenizer.size, initSeed: 12 }));
  await saveCheckpoint(models.student, student, tokenizer);
  await saveCheckpoint(models.teacher, teacher, tokenizer);
  student.dispose();
  teacher.dispose();
  return { root, world, models };
}

/** A small training config over the fixture (overrides merged one level deep). */
export function tinyConfig(
  f: Fixture,
  out: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  const base: Record<string, Record<string, unknown> | unknown> = {
    method: 'vzero',
    seed: 5,
    steps: 3,
    out,
    checkpointEvery: 0,
    data: { dir: f.world, split: 'train' },
    models: f.models,
    rollout: { n: 3, maxTokens: 8 },
    optim: { promptsPerStep: 3, miniBatches: 2, lr: 1e-2 },
    eval: { splits: [] },
  };
  for (const [k, v] of Object.entries(overrides)) {
    const cur = base[k];
    base[k] =
      v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object'
        ? { ...cur, ...v }
        : v;
  }
  return base;
}
