// The suite's own small world and random-weight checkpoints with the real student and teacher
// presets: speed does not depend on what the weights have learned, and nothing outside the
// suite is needed. Made once by the parent; every child loads the same files.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { selectBackend } from '@vzero/core';
import { MODEL_PRESETS, Tokenizer, createModel, resolveModelConfig, saveCheckpoint } from '@vzero/model';
import { WORLD_VOCABULARY, generateWorld } from '@vzero/world';
import { parseTrainConfig, type TrainConfig } from '@vzero/train';
import type { SizeSpec } from './options.js';

export interface Fixture {
  readonly world: string;
  readonly models: { readonly student: string; readonly teacher: string };
}

export async function makeFixture(dir: string, size: SizeSpec): Promise<Fixture> {
  // Weights come from core's Rng, so they are the same whichever backend makes them.
  await selectBackend({ prefer: 'wasm' });
  const world = join(dir, 'world');
  await generateWorld({ out: world, split: 'train', n: size.samples, seed: 7, ...size.world });
  const tokenizer = Tokenizer.fromWords(WORLD_VOCABULARY);
  const models = { student: join(dir, 'models', 'student'), teacher: join(dir, 'models', 'teacher') };
  for (const [who, preset, seed] of [
    ['student', MODEL_PRESETS.student, 11],
    ['teacher', MODEL_PRESETS.teacher, 12],
  ] as const) {
    const model = createModel(resolveModelConfig(preset, { vocabSize: tokenizer.size, initSeed: seed }));
    await saveCheckpoint(models[who], model, tokenizer);
    model.dispose();
  }
  const fixture: Fixture = { world, models };
  await writeFile(join(dir, 'fixture.json'), JSON.stringify(fixture));
  return fixture;
}

/** The default V-Zero training config the suite times, over the fixture, for `steps` steps. */
export function benchTrainConfig(fixture: Fixture, size: SizeSpec, steps: number, out: string): TrainConfig {
  return parseTrainConfig({
    method: 'vzero',
    steps,
    out,
    checkpointEvery: 0,
    data: { dir: fixture.world, split: 'train' },
    models: fixture.models,
    rollout: { n: size.g, maxTokens: size.maxTokens },
    optim: { promptsPerStep: size.prompts, miniBatches: size.miniBatches },
    eval: { splits: [] },
  });
}
