// Loader for the V* Bench folder layout (craigwu/vstar_bench):
//   <root>/direct_attributes/sa_XXXX.jpg + sa_XXXX.json
//   <root>/relative_position/sa_XXXX.jpg + sa_XXXX.json
// Each JSON holds "question" (string), "options" (strings, the CORRECT one FIRST), "bbox"
// (list of [x, y, w, h] pixel boxes, one per target) and "target_object" (list of names).
import { readdir, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import sharp from 'sharp';
import { InvalidInputError, Rng, deriveSeed, optionLetter, type Box } from '@vzero/core';
import { assertRegularFile, defaultReadText, readRequired, type LoadOptions } from './manifest.js';
import type { WorldLabelledSample } from './labels.js';

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp']);

/** V* folder names and the toolkit's question families. */
const VSTAR_CATEGORIES: Readonly<Record<string, string>> = {
  direct_attributes: 'attribute',
  relative_position: 'spatial',
};

export interface VStarOptions extends LoadOptions {
  /**
   * V* lists the correct option first; shuffling (seeded per sample id) keeps the answer from
   * always being "A". Default true.
   */
  readonly shuffleOptions?: boolean;
  readonly seed?: number;
}

/** A sample of a real benchmark: labelled, with the benchmark's own target names when known. */
export type BenchmarkSample = WorldLabelledSample & { readonly targetObjects?: readonly string[] };

function xywhBox(value: unknown, where: string): Box {
  if (
    !Array.isArray(value) ||
    value.length !== 4 ||
    !value.every((v) => typeof v === 'number' && Number.isFinite(v))
  ) {
    throw new InvalidInputError(where, value, 'expected [x, y, w, h] numbers');
  }
  const [x, y, w, h] = value as [number, number, number, number];
  if (!(w > 0 && h > 0)) throw new InvalidInputError(where, value, 'width and height must be > 0');
  return { x0: x, y0: y, x1: x + w, y1: y + h };
}

/**
 * The size of an image file, or an error naming it: only a regular file is opened (a link is
 * followed), and an empty or undecodable one is named with the decoder's reason.
 */
async function imageSize(path: string, name: string): Promise<{ width?: number; height?: number }> {
  await assertRegularFile(path, name);
  if ((await stat(path)).size === 0) throw new InvalidInputError(name, path, 'the image file is empty');
  try {
    return await sharp(path).metadata();
  } catch (error) {
    throw new InvalidInputError(name, path, `not a decodable image (${(error as Error).message})`);
  }
}

/** Loads every V* sample under `root` (sub-folders in name order, files in name order). */
export async function loadVStarBench(root: string, options: VStarOptions = {}): Promise<BenchmarkSample[]> {
  const readText = options.readText ?? defaultReadText;
  const shuffle = options.shuffleOptions ?? true;
  const seed = options.seed ?? 0;
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new InvalidInputError('root', root, 'folder not found');
    throw error;
  }
  const folders = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const samples: BenchmarkSample[] = [];
  for (const folder of folders) {
    const files = (await readdir(join(root, folder))).sort();
    for (const file of files) {
      const ext = extname(file).toLowerCase();
      if (!IMAGE_EXTENSIONS.has(ext)) continue;
      const stem = file.slice(0, -ext.length);
      const jsonName = `${folder}/${stem}.json`;
      const text = await readRequired(join(root, folder, `${stem}.json`), jsonName, readText);
      let json: Record<string, unknown>;
      try {
        json = JSON.parse(text) as Record<string, unknown>;
      } catch (error) {
        throw new InvalidInputError(
          jsonName,
          text.slice(0, 80),
          `not valid JSON (${(error as Error).message})`,
        );
      }
      const { question, options: opts, bbox, target_object: targets } = json;
      if (typeof question !== 'string')
        throw new InvalidInputError(`${jsonName}: question`, question, 'expected a string');
      if (!Array.isArray(opts) || opts.length < 2 || !opts.every((o) => typeof o === 'string')) {
        throw new InvalidInputError(`${jsonName}: options`, opts, 'expected at least two option strings');
      }
      const boxes =
        bbox === undefined
          ? []
          : Array.isArray(bbox)
            ? bbox.map((b, i) => xywhBox(b, `${jsonName}: bbox[${i}]`))
            : undefined;
      if (!boxes) throw new InvalidInputError(`${jsonName}: bbox`, bbox, 'expected a list of [x, y, w, h]');
      const id = `${folder}/${stem}`;
      const order = opts.map((_, i) => i);
      const shown = shuffle ? new Rng(deriveSeed(seed, id)).shuffle(order) : order;
      const answerIndex = shown.indexOf(0);
      const path = resolve(root, folder, file);
      const meta = await imageSize(path, `${folder}/${file}`);
      samples.push({
        id,
        image: { path },
        question,
        options: shown.map((i) => opts[i] as string),
        boxes,
        category: VSTAR_CATEGORIES[folder] ?? folder,
        answer: optionLetter(answerIndex),
        answerIndex,
        width: meta.width ?? 0,
        height: meta.height ?? 0,
        ...(Array.isArray(targets) ? { targetObjects: targets.map(String) } : {}),
      });
    }
  }
  return samples;
}
