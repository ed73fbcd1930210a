// Export to the reference trainer's parquet schema (verl's multimodal RL layout plus V-Zero's
// teacher columns). Nested columns are real parquet LIST / STRUCT columns written with
// hyparquet-writer from an explicit schema, so pandas / pyarrow read them as lists of dicts.
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { ParquetWriter, fileWriter } from 'hyparquet-writer';
import { buildViews, resolveViewSpec, type NegativeViewMode, type ViewSpec } from '@vzero/views';
import { InvalidInputError, type ImageSource, type LabelFreeSample, type LabelledSample } from '@vzero/core';
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

/** Negative-view modes, as @vzero/views builds them ('outside-downsampled' is the paper's). */
export { NEGATIVE_VIEW_MODES, NEGATIVE_MODES, type NegativeViewMode, type NegativeMode } from '@vzero/views';

export interface ExportParquetOptions {
  /** Negative view in the crop slot of the negative teacher prompt (default 'outside-downsampled'). */
  readonly negative?: NegativeViewMode;
  /**
   * true (default): read only the manifest; reward_model.ground_truth is "" in every row, the
   * V-Zero / OPD path needs no answers. false: read the labels file and fill ground_truth with the
   * answer letter (for baselines and validation sets).
   */
  readonly labelFree?: boolean;
  /**
   * Further @vzero/views settings for the crops (padding, minSize, square, factor, fallback,
   * seed, ...). Crops keep their native size by default (cropSize 'native'); the trainer resizes.
   */
  readonly views?: Partial<ViewSpec>;
  /** Rows per parquet row group (default 64; rows hold images, so groups stay small). */
  readonly rowGroupSize?: number;
  readonly dataSource?: string;
  readonly onProgress?: (done: number, total: number) => void;
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

async function imageBytes(source: ImageSource): Promise<Uint8Array> {
  return 'bytes' in source ? source.bytes : new Uint8Array(await readFile(source.path));
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
  const spec: Partial<ViewSpec> = {
    cropSize: 'native',
    padding: 0.5,
    minSize: 32,
    fallback: 'random-crop',
    ...options.views,
    ...(options.negative !== undefined ? { negative: options.negative } : {}),
  };
  resolveViewSpec(spec); // fail on a bad mode or setting before any file is written
  const groupSize = options.rowGroupSize ?? 64;
  if (!Number.isInteger(groupSize) || groupSize < 1)
    throw new InvalidInputError('rowGroupSize', groupSize, 'expected a positive integer');
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
    // Samples without boxes (HR-Bench) use the whole image as the region.
    let boxes = sample.boxes;
    if (boxes.length === 0) {
      const meta = await sharp(full).metadata();
      boxes = [{ x0: 0, y0: 0, x1: meta.width ?? 1, y1: meta.height ?? 1 }];
    }
    const views = await buildViews(full, boxes, spec, { key: sample.id, boxOutside: 'clip' });
    if (!views.negative.ok) {
      throw new InvalidInputError(
        `negative view of ${sample.id}`,
        views.negative.requestedMode,
        views.negative.detail,
      );
    }
    const positive = await views.positive.png();
    const neg = await views.negative.png();
    const text = formatPrompt(sample);
    const teacherPrompt = [{ role: 'user', content: `<image><crop>${text}` }];
    cols.data_source.push(dataSource);
    cols.prompt.push([{ role: 'user', content: `<image>${text}` }]);
    cols.images.push([{ bytes: full }]);
    cols.teacher_raw_prompt.push(teacherPrompt);
    cols.teacher_images.push([{ bytes: full }, { bytes: positive }]);
    cols.teacher_neg_raw_prompt.push(teacherPrompt);
    cols.teacher_neg_images.push([{ bytes: full }, { bytes: neg }]);
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
