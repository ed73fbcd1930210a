// Dataset generation: n scenes of one split rendered to PNG, a label-free manifest, and the
// answers in a separate labels file.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidInputError, Rng, deriveSeed, optionLetter, assertFiniteNumber } from '@vzero/core';
import { isSplit, resolveWorldConfig, SPLITS, type Split, type WorldConfig } from './config.js';
import { toJsonl } from './jsonl.js';
import { IMAGES_DIR, MANIFEST_FILE, WORLD_INFO_FILE, type ManifestRow } from './manifest.js';
import { writeLabels, type LabelRow } from './labels.js';
import { renderScenePng } from './render.js';
import { sampleScene, type Scene } from './scene.js';

export interface GenerateWorldOptions extends Partial<WorldConfig> {
  /** Dataset root; the split is written to `<out>/<split>/`. */
  readonly out: string;
  readonly split: Split;
  /** Number of samples (images) in the split. */
  readonly n: number;
  readonly seed: number;
}

export interface GenerateWorldHooks {
  /** Called after each image is written: done in 1..total. */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface GenerateWorldResult {
  readonly dir: string;
  readonly split: Split;
  readonly n: number;
  readonly config: WorldConfig;
  /** Counts by category, and how many samples follow the world's priors (no answers). */
  readonly stats: { readonly attribute: number; readonly spatial: number; readonly followsPrior: number };
}

/** Sample id of the i-th sample of a split. */
export function sampleId(split: Split, index: number): string {
  return `${split}-${String(index).padStart(6, '0')}`;
}

/** The scene of sample `index` of `split` under `seed`: independent of n and of other samples. */
export function sceneFor(seed: number, split: Split, index: number, config: WorldConfig): Scene {
  return sampleScene(new Rng(deriveSeed(deriveSeed(seed, split), index)), config, split);
}

/**
 * Generates one split. Deterministic: the same options give byte-identical images, manifest and
 * labels. Samples are written in index order.
 */
export async function generateWorld(
  options: GenerateWorldOptions,
  hooks: GenerateWorldHooks = {},
): Promise<GenerateWorldResult> {
  const { out, split, n, seed, ...overrides } = options;
  if (typeof out !== 'string' || out === '')
    throw new InvalidInputError('out', out, 'expected a folder path');
  if (!isSplit(split)) throw new InvalidInputError('split', split, `expected one of ${SPLITS.join(', ')}`);
  if (typeof n !== 'number' || !Number.isInteger(n) || n <= 0) {
    throw new InvalidInputError('n', n, 'expected a positive integer');
  }
  assertFiniteNumber('seed', seed);
  const config = resolveWorldConfig(overrides);
  const folder = join(out, split);
  await mkdir(join(folder, IMAGES_DIR), { recursive: true });

  const manifest: ManifestRow[] = [];
  const labels: LabelRow[] = [];
  let attribute = 0;
  let followsPrior = 0;
  for (let i = 0; i < n; i++) {
    const scene = sceneFor(seed, split, i, config);
    const id = sampleId(split, i);
    const image = `${IMAGES_DIR}/${id}.png`;
    await writeFile(join(folder, image), await renderScenePng(scene));
    manifest.push({
      id,
      image,
      question: scene.question,
      options: scene.options,
      boxes: scene.boxes,
      category: scene.category,
      width: scene.width,
      height: scene.height,
    });
    labels.push({
      id,
      answer: optionLetter(scene.answerIndex),
      answerIndex: scene.answerIndex,
      facts: scene.facts,
    });
    if (scene.category === 'attribute') attribute++;
    if (scene.facts.followsPrior) followsPrior++;
    hooks.onProgress?.(i + 1, n);
  }
  await writeFile(join(folder, MANIFEST_FILE), toJsonl(manifest));
  await writeLabels(folder, labels);
  const stats = { attribute, spatial: n - attribute, followsPrior };
  // world.json describes how the split was made (settings and counts), never its answers.
  await writeFile(
    join(folder, WORLD_INFO_FILE),
    JSON.stringify({ split, n, seed, config, stats }, null, 2) + '\n',
  );
  return { dir: folder, split, n, config, stats };
}
