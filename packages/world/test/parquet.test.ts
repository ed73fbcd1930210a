import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError } from '@vzero/core';
import { buildViews } from '@vzero/views';
import { COLOUR_RGB, exportParquet, generateWorld, loadLabelled, PARQUET_COLUMNS } from '../src/index.js';

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
      negative: 'outside-downsampled',
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
      // The crop is the positive view @vzero/views builds for the same box and settings.
      const views = await buildViews(
        (s.image as { path: string }).path,
        s.boxes,
        {
          cropSize: 'native',
          padding: 0.5,
          minSize: 32,
          fallback: 'random-crop',
        },
        { key: s.id },
      );
      const crop = await sharp(row.teacher_images[1]!.bytes).raw().toBuffer({ resolveWithObject: true });
      expect([crop.info.width, crop.info.height]).toEqual([views.positive.width, views.positive.height]);
      expect(Buffer.compare(crop.data, Buffer.from(views.positive.rgb))).toBe(0);
      // An attribute target's colour is visible in the positive crop.
      if (s.facts?.kind === 'attribute') {
        const [r, g, b] = COLOUR_RGB[s.facts.colour];
        let hits = 0;
        for (let p = 0; p < crop.data.length; p += 3) {
          if (Math.hypot(crop.data[p]! - r, crop.data[p + 1]! - g, crop.data[p + 2]! - b) < 30) hits++;
        }
        expect(hits).toBeGreaterThan(20);
      }
      const neg = await sharp(row.teacher_neg_images[1]!.bytes).metadata();
      expect([neg.width, neg.height]).toEqual([views.positive.width, views.positive.height]);
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
      exportParquet(root, 'val', join(root, 'x.parquet'), { negative: 'nope' as 'blank' }),
    ).rejects.toThrow(InvalidInputError);
    await expect(
      exportParquet(root, 'val', join(root, 'x.parquet'), { negative: 'nope' as 'blank' }),
    ).rejects.toThrow(/negative = "nope"/);
  });
});
