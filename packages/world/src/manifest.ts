// The label-free half of a dataset folder. Nothing in this module knows where answers live:
// the labels file is named only in labels.ts, so label-free loading cannot read answers.
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InvalidInputError, type Box, type LabelFreeSample } from '@vzero/core';
import { isSplit, SPLITS, type Split } from './config.js';
import { parseJsonl } from './jsonl.js';

export const MANIFEST_FILE = 'manifest.jsonl';
export const IMAGES_DIR = 'images';
export const WORLD_INFO_FILE = 'world.json';

/** One label-free manifest row as stored on disk. */
export interface ManifestRow {
  readonly id: string;
  /** Image path relative to the split folder, e.g. "images/train-000003.png". */
  readonly image: string;
  readonly question: string;
  readonly options: readonly string[];
  readonly boxes: readonly Box[];
  readonly category: string;
  readonly width: number;
  readonly height: number;
}

/** A label-free sample of the world: core's LabelFreeSample plus the image size. */
export type WorldLabelFreeSample = LabelFreeSample & { readonly width: number; readonly height: number };

/** How loaders read text files; tests pass a recording reader to see which files were opened. */
export interface LoadOptions {
  readonly readText?: (path: string) => Promise<string>;
}

/** A UTF-8 byte-order mark at the start of `text` removed (editors on Windows write one). */
export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * Throws unless `path` is a regular file (a symbolic link is followed): a FIFO would block the
 * loader for ever, a device never end, a folder fail obscurely. The error names `field`.
 */
export async function assertRegularFile(path: string, field: string): Promise<void> {
  let s;
  try {
    s = await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InvalidInputError(field, path, 'file not found (or a broken link)');
    throw new InvalidInputError(field, path, `cannot read the file (${code ?? (error as Error).message})`);
  }
  if (!s.isFile()) throw new InvalidInputError(field, path, 'is not a regular file');
}

/** Reads a regular file as UTF-8 text, without a leading byte-order mark. */
export const defaultReadText = async (path: string): Promise<string> => {
  const s = await stat(path); // ENOENT as readFile would throw it
  if (!s.isFile()) throw new InvalidInputError(path, path, 'is not a regular file');
  return stripBom(await readFile(path, 'utf8'));
};

/** The folder of one split: `<dir>/<split>`. */
export function splitDir(dir: string, split: string): string {
  if (!isSplit(split)) throw new InvalidInputError('split', split, `expected one of ${SPLITS.join(', ')}`);
  return join(dir, split);
}

/** Reads a text file, turning "no such file" into an error naming the file. */
export async function readRequired(
  path: string,
  field: string,
  readText: (path: string) => Promise<string>,
): Promise<string> {
  try {
    return await readText(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new InvalidInputError(field, path, 'file not found (generate the split first)');
    }
    throw error;
  }
}

function field(file: string, line: number, name: string): string {
  return `${file} line ${line}: ${name}`;
}

function validateBox(value: unknown, where: string): Box {
  const b = value as Record<string, unknown> | null;
  const ok =
    b !== null &&
    typeof b === 'object' &&
    ['x0', 'y0', 'x1', 'y1'].every((k) => typeof b[k] === 'number' && Number.isFinite(b[k])) &&
    (b.x1 as number) > (b.x0 as number) &&
    (b.y1 as number) > (b.y0 as number);
  if (!ok)
    throw new InvalidInputError(where, value, 'expected a box {x0, y0, x1, y1} with x1 > x0 and y1 > y0');
  const { x0, y0, x1, y1 } = b as unknown as Box;
  return { x0, y0, x1, y1 };
}

/** Validates one manifest row, naming the file, line and field of anything wrong. */
export function validateManifestRow(value: Record<string, unknown>, file: string, line: number): ManifestRow {
  for (const key of ['id', 'image', 'question', 'category'] as const) {
    if (typeof value[key] !== 'string' || value[key] === '') {
      throw new InvalidInputError(field(file, line, key), value[key], 'expected a non-empty string');
    }
  }
  const options = value.options;
  if (!Array.isArray(options) || options.length < 2 || !options.every((o) => typeof o === 'string')) {
    throw new InvalidInputError(
      field(file, line, 'options'),
      options,
      'expected at least two option strings',
    );
  }
  if (!Array.isArray(value.boxes)) {
    throw new InvalidInputError(field(file, line, 'boxes'), value.boxes, 'expected a list of boxes');
  }
  const boxes = value.boxes.map((b, i) => validateBox(b, field(file, line, `boxes[${i}]`)));
  for (const key of ['width', 'height'] as const) {
    const v = value[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
      throw new InvalidInputError(field(file, line, key), v, 'expected a positive integer');
    }
  }
  return {
    id: value.id as string,
    image: value.image as string,
    question: value.question as string,
    options: options as string[],
    boxes,
    category: value.category as string,
    width: value.width as number,
    height: value.height as number,
  };
}

/** Reads and validates `<dir>/<split>/manifest.jsonl`. */
export async function readManifest(
  dir: string,
  split: Split | string,
  options: LoadOptions = {},
): Promise<ManifestRow[]> {
  const folder = splitDir(dir, split);
  const path = join(folder, MANIFEST_FILE);
  const text = await readRequired(path, `${split}/${MANIFEST_FILE}`, options.readText ?? defaultReadText);
  const rows = parseJsonl(text, `${split}/${MANIFEST_FILE}`).map(({ line, value }) =>
    validateManifestRow(value, `${split}/${MANIFEST_FILE}`, line),
  );
  const seen = new Set<string>();
  rows.forEach((r, i) => {
    if (seen.has(r.id))
      throw new InvalidInputError(`${split}/${MANIFEST_FILE} row ${i + 1}: id`, r.id, 'duplicate id');
    seen.add(r.id);
  });
  return rows;
}

/** A manifest row as a label-free sample with an absolute image path. */
export function rowToSample(row: ManifestRow, folder: string): WorldLabelFreeSample {
  return {
    id: row.id,
    image: { path: resolve(folder, row.image) },
    question: row.question,
    options: row.options,
    boxes: row.boxes,
    category: row.category,
    width: row.width,
    height: row.height,
  };
}

/**
 * Loads a split without answers. Reads only the manifest: never the labels file, never images.
 */
export async function loadLabelFree(
  dir: string,
  split: Split | string,
  options: LoadOptions = {},
): Promise<WorldLabelFreeSample[]> {
  const rows = await readManifest(dir, split, options);
  const folder = splitDir(dir, split);
  return rows.map((r) => rowToSample(r, folder));
}
