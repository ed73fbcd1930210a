// Dataset generation: n scenes of one split rendered to PNG, a label-free manifest, and the
// answers in a separate labels file.
import { statfs, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import {
  InvalidInputError,
  Rng,
  deriveSeed,
  optionLetter,
  assertFiniteNumber,
  ensureWritableDir,
  toFileSystemError,
  writeFileAtomic,
} from '@vzero/core';
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
  // Before the first file: can the folder exist and will the split fit? (The first image,
  // rendered anyway, sizes it.)
  await ensureWritableDir(folder, 'out');
  const first = await renderScenePng(sceneFor(seed, split, 0, config));
  await checkFreeSpace(folder, n, first.length + ROW_BYTES);
  await ensureWritableDir(join(folder, IMAGES_DIR), 'out');

  const manifest: ManifestRow[] = [];
  const labels: LabelRow[] = [];
  let attribute = 0;
  let followsPrior = 0;
  for (let i = 0; i < n; i++) {
    const scene = sceneFor(seed, split, i, config);
    const id = sampleId(split, i);
    const image = `${IMAGES_DIR}/${id}.png`;
    const png = i === 0 ? first : await renderScenePng(scene);
    await writeFile(join(folder, image), png).catch((error: unknown) => {
      throw toFileSystemError(error, join(folder, image), 'write the image');
    });
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
  // Labels first, then the manifest in one rename: a split with a manifest is complete (the
  // demo reuses any split that has one).
  await writeLabels(folder, labels).catch((error: unknown) => {
    throw toFileSystemError(error, folder, 'write the labels');
  });
  await writeFileAtomic(join(folder, MANIFEST_FILE), toJsonl(manifest));
  const stats = { attribute, spatial: n - attribute, followsPrior };
  // world.json describes how the split was made (settings and counts), never its answers.
  await writeFileAtomic(
    join(folder, WORLD_INFO_FILE),
    JSON.stringify({ split, n, seed, config, stats }, null, 2) + '\n',
  );
  return { dir: folder, split, n, config, stats };
}

/** Manifest and label rows of one sample, generously (they are a few hundred bytes). */
const ROW_BYTES = 1024;

/**
 * Refuses a split whose estimated size (n samples of `perSample` bytes, 10% margin) exceeds the
 * free space of the file system `folder` would live on.
 */
async function checkFreeSpace(folder: string, n: number, perSample: number): Promise<void> {
  let existing = resolve(folder);
  let fs: Awaited<ReturnType<typeof statfs>> | undefined;
  for (;;) {
    try {
      fs = await statfs(existing);
      break;
    } catch {
      const parent = dirname(existing);
      if (parent === existing) return;
      existing = parent;
    }
  }
  const free = Number(fs.bavail) * Number(fs.bsize);
  const needed = n * perSample * 1.1;
  if (needed > free) {
    const gb = (b: number) => `${(b / 1e9).toFixed(b < 1e9 ? 3 : 1)} GB`;
    throw new InvalidInputError(
      'n',
      n,
      `the split needs about ${gb(needed)} (${perSample} bytes per sample) and ${existing} has ${gb(free)} free; lower --n or free some space`,
    );
  }
}
