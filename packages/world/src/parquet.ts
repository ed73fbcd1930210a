// Export to the reference trainer's parquet schema (verl's multimodal RL layout plus V-Zero's
// teacher columns). Nested columns are real parquet LIST / STRUCT columns written with
// hyparquet-writer from an explicit schema, so pandas / pyarrow read them as lists of dicts.
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { ParquetWriter, fileWriter } from 'hyparquet-writer';
import {
  InvalidInputError,
  Rng,
  deriveSeed,
  type Box,
  type ImageSource,
  type LabelFreeSample,
  type LabelledSample,
} from '@vzero/core';
import type { Split } from './config.js';
import { loadLabelled } from './labels.js';
import { loadLabelFree } from './manifest.js';
import { formatPrompt } from './questions.js';

// The schema element type as hyparquet-writer declares it (it pins its own hyparquet version).
type SchemaElement = ConstructorParameters<typeof ParquetWriter>[0]['schema'][number];

/** The columns of an exported file, in order. */
export const PARQUET_COLUMNS = [
  'data_source',
  'prompt',
  'images',
  'teacher_raw_prompt',
  'teacher_images',
  'teacher_neg_raw_prompt',
  'teacher_neg_images',
  'reward_model',
  'extra_info',
] as const;

/**
 * Negative view in the crop slot of the negative teacher prompt:
 * - 'paper': downsample the full image 2x, take a random region of the positive crop's size
 *   outside the target box(es) (the paper's negative);
 * - 'random': a random region of the crop's size anywhere in the full-resolution image;
 * - 'downsample': the positive crop itself at half resolution (reference "downsample_teacher_crop");
 * - 'blank': a flat grey image of the crop's size.
 */
export type NegativeMode = 'paper' | 'random' | 'downsample' | 'blank';
export const NEGATIVE_MODES: readonly NegativeMode[] = ['paper', 'random', 'downsample', 'blank'];

export interface ExportParquetOptions {
  readonly negative?: NegativeMode;
  /**
   * true (default): read only the manifest; reward_model.ground_truth is "" in every row, the
   * V-Zero / OPD path needs no answers. false: read the labels file and fill ground_truth with the
   * answer letter (for baselines and validation sets).
   */
  readonly labelFree?: boolean;
  /** Context around the target box(es) in the positive crop, as a fraction of the box side (default 0.5). */
  readonly cropPadding?: number;
  /** Seed for the negative regions (default 0). */
  readonly seed?: number;
  /** Rows per parquet row group (default 64; rows hold images, so groups stay small). */
  readonly rowGroupSize?: number;
  readonly dataSource?: string;
  readonly onProgress?: (done: number, total: number) => void;
}

/** A pixel region of an image (integers, inside the image). */
export interface Region {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

const str = (name: string): SchemaElement => ({
  name,
  type: 'BYTE_ARRAY',
  converted_type: 'UTF8',
  repetition_type: 'OPTIONAL',
});

const messagesSchema = (name: string): SchemaElement[] => [
  { name, repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
  { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
  { name: 'element', repetition_type: 'OPTIONAL', num_children: 2 },
  str('role'),
  str('content'),
];

const imagesSchema = (name: string): SchemaElement[] => [
  { name, repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
  { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
  { name: 'element', repetition_type: 'OPTIONAL', num_children: 1 },
  { name: 'bytes', type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL' },
];

const SCHEMA: SchemaElement[] = [
  { name: 'root', num_children: PARQUET_COLUMNS.length },
  str('data_source'),
  ...messagesSchema('prompt'),
  ...imagesSchema('images'),
  ...messagesSchema('teacher_raw_prompt'),
  ...imagesSchema('teacher_images'),
  ...messagesSchema('teacher_neg_raw_prompt'),
  ...imagesSchema('teacher_neg_images'),
  { name: 'reward_model', repetition_type: 'OPTIONAL', num_children: 2 },
  str('style'),
  str('ground_truth'),
  { name: 'extra_info', repetition_type: 'OPTIONAL', num_children: 6 },
  str('split'),
  { name: 'index', type: 'INT32', repetition_type: 'OPTIONAL' },
  str('id'),
  str('category'),
  str('question'),
  str('boxes'),
];

/** The positive crop region: the union of the boxes grown by `padding` x its side, clamped to the image. */
export function cropRegion(boxes: readonly Box[], width: number, height: number, padding = 0.5): Region {
  if (boxes.length === 0) return { left: 0, top: 0, width, height };
  const x0 = Math.min(...boxes.map((b) => b.x0));
  const y0 = Math.min(...boxes.map((b) => b.y0));
  const x1 = Math.max(...boxes.map((b) => b.x1));
  const y1 = Math.max(...boxes.map((b) => b.y1));
  const padX = Math.max(1, Math.round((x1 - x0) * padding));
  const padY = Math.max(1, Math.round((y1 - y0) * padding));
  const left = Math.max(0, Math.floor(x0 - padX));
  const top = Math.max(0, Math.floor(y0 - padY));
  const right = Math.min(width, Math.ceil(x1 + padX));
  const bottom = Math.min(height, Math.ceil(y1 + padY));
  return { left, top, width: Math.max(1, right - left), height: Math.max(1, bottom - top) };
}

function intersects(r: Region, b: Box, scale: number): boolean {
  return (
    r.left < b.x1 * scale &&
    b.x0 * scale < r.left + r.width &&
    r.top < b.y1 * scale &&
    b.y0 * scale < r.top + r.height
  );
}

async function imageBytes(source: ImageSource): Promise<Uint8Array> {
  return 'bytes' in source ? source.bytes : new Uint8Array(await readFile(source.path));
}

const png = (image: sharp.Sharp): Promise<Buffer> =>
  image.png({ compressionLevel: 6, adaptiveFiltering: false }).toBuffer();

async function negativeView(
  mode: NegativeMode,
  full: Uint8Array,
  width: number,
  height: number,
  crop: Region,
  boxes: readonly Box[],
  rng: Rng,
): Promise<Buffer> {
  switch (mode) {
    case 'blank':
      return png(
        sharp({
          create: {
            width: crop.width,
            height: crop.height,
            channels: 3,
            background: { r: 128, g: 128, b: 128 },
          },
        }),
      );
    case 'downsample':
      return png(
        sharp(full)
          .extract(crop)
          .resize(Math.max(1, Math.round(crop.width / 2)), Math.max(1, Math.round(crop.height / 2))),
      );
    case 'random': {
      const left = rng.int(0, width - crop.width + 1);
      const top = rng.int(0, height - crop.height + 1);
      return png(sharp(full).extract({ left, top, width: crop.width, height: crop.height }));
    }
    case 'paper': {
      const w2 = Math.max(1, Math.round(width / 2));
      const h2 = Math.max(1, Math.round(height / 2));
      const rw = Math.min(crop.width, w2);
      const rh = Math.min(crop.height, h2);
      let region: Region = { left: 0, top: 0, width: rw, height: rh };
      // Rejection sampling for a region clear of every target; the last try is kept if none is.
      for (let t = 0; t < 64; t++) {
        region = { left: rng.int(0, w2 - rw + 1), top: rng.int(0, h2 - rh + 1), width: rw, height: rh };
        if (!boxes.some((b) => intersects(region, b, w2 / width))) break;
      }
      const half = await sharp(full).resize(w2, h2, { fit: 'fill' }).png().toBuffer();
      return png(sharp(half).extract(region));
    }
  }
}

interface ExportSample {
  readonly sample: LabelFreeSample | LabelledSample;
  readonly split: string;
}

/** Writes samples (label-free or labelled) to `outFile` in the reference parquet schema. */
export async function exportSamplesParquet(
  samples: readonly ExportSample[],
  outFile: string,
  options: ExportParquetOptions = {},
): Promise<{ readonly rows: number; readonly file: string }> {
  const negative = options.negative ?? 'paper';
  if (!NEGATIVE_MODES.includes(negative)) {
    throw new InvalidInputError('negative', negative, `expected one of ${NEGATIVE_MODES.join(', ')}`);
  }
  const padding = options.cropPadding ?? 0.5;
  if (typeof padding !== 'number' || !(padding >= 0) || !Number.isFinite(padding)) {
    throw new InvalidInputError('cropPadding', padding, 'expected a finite number >= 0');
  }
  const groupSize = options.rowGroupSize ?? 64;
  if (!Number.isInteger(groupSize) || groupSize < 1)
    throw new InvalidInputError('rowGroupSize', groupSize, 'expected a positive integer');
  const seed = options.seed ?? 0;
  const dataSource = options.dataSource ?? 'vzero_world';

  const writer = new ParquetWriter({ writer: fileWriter(outFile), schema: SCHEMA });
  const cols: Record<(typeof PARQUET_COLUMNS)[number], unknown[]> = {
    data_source: [],
    prompt: [],
    images: [],
    teacher_raw_prompt: [],
    teacher_images: [],
    teacher_neg_raw_prompt: [],
    teacher_neg_images: [],
    reward_model: [],
    extra_info: [],
  };
  const flush = (): void => {
    if (cols.prompt.length === 0) return;
    writer.write({
      columnData: PARQUET_COLUMNS.map((name) => ({ name, data: cols[name] })),
      rowGroupSize: cols.prompt.length,
    });
    for (const name of PARQUET_COLUMNS) cols[name] = [];
  };

  for (let i = 0; i < samples.length; i++) {
    const { sample, split } = samples[i] as ExportSample;
    const full = await imageBytes(sample.image);
    const meta = await sharp(full).metadata();
    const width = meta.width ?? 0;
    const height = meta.height ?? 0;
    const crop = cropRegion(sample.boxes, width, height, padding);
    const positive = await png(sharp(full).extract(crop));
    const neg = await negativeView(
      negative,
      full,
      width,
      height,
      crop,
      sample.boxes,
      new Rng(deriveSeed(seed, sample.id)),
    );
    const text = formatPrompt(sample);
    const teacherPrompt = [{ role: 'user', content: `<image><crop>${text}` }];
    cols.data_source.push(dataSource);
    cols.prompt.push([{ role: 'user', content: `<image>${text}` }]);
    cols.images.push([{ bytes: full }]);
    cols.teacher_raw_prompt.push(teacherPrompt);
    cols.teacher_images.push([{ bytes: full }, { bytes: new Uint8Array(positive) }]);
    cols.teacher_neg_raw_prompt.push(teacherPrompt);
    cols.teacher_neg_images.push([{ bytes: full }, { bytes: new Uint8Array(neg) }]);
    cols.reward_model.push({
      style: 'rule',
      ground_truth: 'answer' in sample && typeof sample.answer === 'string' ? sample.answer : '',
    });
    cols.extra_info.push({
      split,
      index: i,
      id: sample.id,
      category: sample.category,
      question: sample.question,
      boxes: JSON.stringify(sample.boxes),
    });
    if (cols.prompt.length >= groupSize) flush();
    options.onProgress?.(i + 1, samples.length);
  }
  flush();
  writer.finish();
  return { rows: samples.length, file: outFile };
}

/**
 * Exports one split of a world dataset folder to `outFile`. Label-free by default: the labels
 * file is not read and ground_truth is "" (see ExportParquetOptions.labelFree).
 */
export async function exportParquet(
  dir: string,
  split: Split | string,
  outFile: string,
  options: ExportParquetOptions = {},
): Promise<{ readonly rows: number; readonly file: string }> {
  const labelFree = options.labelFree ?? true;
  const samples = labelFree ? await loadLabelFree(dir, split) : await loadLabelled(dir, split);
  return exportSamplesParquet(
    samples.map((sample) => ({ sample, split })),
    outFile,
    options,
  );
}
