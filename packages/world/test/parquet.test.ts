import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError } from '@vzero/core';
import { cropRegion, exportParquet, generateWorld, loadLabelled, PARQUET_COLUMNS } from '../src/index.js';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'vzero-parquet-'));
  await generateWorld({ out: root, split: 'val', n: 5, seed: 3 });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

type Row = Record<string, unknown> & {
  prompt: { role: string; content: string }[];
  images: { bytes: Uint8Array }[];
  teacher_raw_prompt: { role: string; content: string }[];
  teacher_images: { bytes: Uint8Array }[];
  teacher_neg_images: { bytes: Uint8Array }[];
  reward_model: { style: string; ground_truth: string };
  extra_info: { split: string; index: number; id: string; boxes: string };
};

async function read(file: string): Promise<Row[]> {
  return (await parquetReadObjects({ file: await asyncBufferFromFile(file), utf8: false })) as Row[];
}

describe('exportParquet', () => {
  it('writes the reference schema: chat prompts, image lists, teacher views, empty ground truth when label-free', async () => {
    const out = join(root, 'val.parquet');
    const progress: number[] = [];
    const result = await exportParquet(root, 'val', out, {
      negative: 'paper',
      onProgress: (d) => progress.push(d),
    });
    expect(result.rows).toBe(5);
    expect(progress).toEqual([1, 2, 3, 4, 5]);
    const meta = await parquetMetadataAsync(await asyncBufferFromFile(out));
    expect(Number(meta.num_rows)).toBe(5);
    const rows = await read(out);
    expect(Object.keys(rows[0]!)).toEqual([...PARQUET_COLUMNS]);
    const labelled = await loadLabelled(root, 'val');
    for (const [i, row] of rows.entries()) {
      const s = labelled[i]!;
      expect(row.prompt).toEqual([{ role: 'user', content: expect.stringMatching(/^<image>[^<]*\?/) }]);
      expect(row.teacher_raw_prompt[0]!.content.startsWith('<image><crop>')).toBe(true);
      expect(row.reward_model).toEqual({ style: 'rule', ground_truth: '' });
      expect(row.extra_info).toMatchObject({ split: 'val', index: i, id: s.id });
      expect(JSON.parse(row.extra_info.boxes)).toEqual(s.boxes);
      expect(row.images).toHaveLength(1);
      expect(row.teacher_images).toHaveLength(2);
      expect(row.teacher_neg_images).toHaveLength(2);
      // The full image is the PNG on disk; the crop has the crop region's size.
      const full = await sharp(row.images[0]!.bytes).metadata();
      expect([full.width, full.height]).toEqual([s.width, s.height]);
      const region = cropRegion(s.boxes, s.width, s.height);
      const crop = await sharp(row.teacher_images[1]!.bytes).metadata();
      expect([crop.width, crop.height]).toEqual([region.width, region.height]);
      const neg = await sharp(row.teacher_neg_images[1]!.bytes).metadata();
      expect(neg.width).toBeLessThanOrEqual(region.width);
    }
  });

  it('fills ground truth from the labels only when asked', async () => {
    const out = join(root, 'val-labelled.parquet');
    await exportParquet(root, 'val', out, { negative: 'blank', labelFree: false });
    const rows = await read(out);
    const labelled = await loadLabelled(root, 'val');
    expect(rows.map((r) => r.reward_model.ground_truth)).toEqual(labelled.map((s) => s.answer));
  });

  it('rejects an unknown negative mode by name', async () => {
    await expect(
      exportParquet(root, 'val', join(root, 'x.parquet'), { negative: 'nope' as 'paper' }),
    ).rejects.toThrow(InvalidInputError);
  });
});

describe('cropRegion', () => {
  it('pads the union of the boxes and clamps to the image', () => {
    expect(cropRegion([{ x0: 10, y0: 10, x1: 20, y1: 30 }], 100, 100, 0.5)).toEqual({
      left: 5,
      top: 0,
      width: 20,
      height: 40,
    });
    expect(cropRegion([{ x0: 90, y0: 90, x1: 100, y1: 100 }], 100, 100, 1)).toEqual({
      left: 80,
      top: 80,
      width: 20,
      height: 20,
    });
  });
});
