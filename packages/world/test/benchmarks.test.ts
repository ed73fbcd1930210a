// Fixtures in the real V* Bench and HR-Bench layouts, built from real image files through sharp.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError, withoutAnswer } from '@vzero/core';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { exportSamplesParquet, loadHRBench, loadVStarBench, parseTsv } from '../src/index.js';

let root: string;

const solid = (width: number, height: number, r: number, g: number, b: number): sharp.Sharp =>
  sharp({ create: { width, height, channels: 3, background: { r, g, b } } });

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'vzero-bench-'));
  const vstar = join(root, 'vstar_bench');
  await mkdir(join(vstar, 'direct_attributes'), { recursive: true });
  await mkdir(join(vstar, 'relative_position'), { recursive: true });
  await solid(320, 200, 200, 10, 10)
    .jpeg()
    .toFile(join(vstar, 'direct_attributes', 'sa_1.jpg'));
  await writeFile(
    join(vstar, 'direct_attributes', 'sa_1.json'),
    JSON.stringify({
      target_object: ['glove'],
      bbox: [[10, 20, 30, 40]],
      question: 'What is the color of the glove?',
      options: [
        'The color of the glove is red.',
        'The color of the glove is blue.',
        'The color of the glove is white.',
        'The color of the glove is black.',
      ],
    }),
  );
  await solid(64, 48, 0, 0, 255)
    .png()
    .toFile(join(vstar, 'relative_position', 'sa_2.png'));
  await writeFile(
    join(vstar, 'relative_position', 'sa_2.json'),
    JSON.stringify({
      target_object: ['cup', 'dog'],
      bbox: [
        [1, 2, 3, 4],
        [30, 10, 5, 6],
      ],
      question: 'Is the cup on the left or right side of the dog?',
      options: ['The cup is on the left of the dog.', 'The cup is on the right of the dog.'],
    }),
  );
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('V* Bench folder layout', () => {
  it('loads images, questions, xywh boxes and the first-listed answer', async () => {
    const samples = await loadVStarBench(join(root, 'vstar_bench'));
    expect(samples.map((s) => s.id)).toEqual(['direct_attributes/sa_1', 'relative_position/sa_2']);
    const [attr, spatial] = samples;
    expect(attr!.category).toBe('attribute');
    expect(spatial!.category).toBe('spatial');
    expect(attr!.boxes).toEqual([{ x0: 10, y0: 20, x1: 40, y1: 60 }]);
    expect(spatial!.boxes).toEqual([
      { x0: 1, y0: 2, x1: 4, y1: 6 },
      { x0: 30, y0: 10, x1: 35, y1: 16 },
    ]);
    expect([attr!.width, attr!.height]).toEqual([320, 200]);
    expect(attr!.targetObjects).toEqual(['glove']);
    expect(attr!.options[attr!.answerIndex]).toBe('The color of the glove is red.');
    expect(spatial!.options[spatial!.answerIndex]).toBe('The cup is on the left of the dog.');
    expect(attr!.answer).toBe(String.fromCharCode(65 + attr!.answerIndex));
    const free = withoutAnswer(attr!);
    expect('answer' in free).toBe(false);
    const pixels = await sharp((attr!.image as { path: string }).path)
      .raw()
      .toBuffer();
    expect(pixels[0]).toBeGreaterThan(150); // the fixture's red survived the round trip
  });

  it('keeps the listed order when shuffling is off, so the answer is A', async () => {
    const samples = await loadVStarBench(join(root, 'vstar_bench'), { shuffleOptions: false });
    expect(samples.every((s) => s.answer === 'A')).toBe(true);
  });

  it('names the file and field of a bad annotation', async () => {
    const bad = join(root, 'bad_vstar', 'direct_attributes');
    await mkdir(bad, { recursive: true });
    await solid(8, 8, 1, 2, 3).jpeg().toFile(join(bad, 'x.jpg'));
    await writeFile(
      join(bad, 'x.json'),
      JSON.stringify({ question: 'q', options: ['a', 'b'], bbox: [[0, 0, -1, 3]] }),
    );
    await expect(loadVStarBench(join(root, 'bad_vstar'))).rejects.toThrow(
      /direct_attributes\/x\.json: bbox\[0\]/,
    );
    await expect(loadVStarBench(join(root, 'missing'))).rejects.toThrow(InvalidInputError);
  });
});

describe('HR-Bench TSV layout', () => {
  it('loads base64 images, options A-D, categories and cyclic rows sharing an image', async () => {
    const jpeg = (await solid(40, 30, 0, 200, 0).jpeg().toBuffer()).toString('base64');
    const header = ['index', 'question', 'answer', 'A', 'B', 'C', 'D', 'category', 'cycle_category', 'image'];
    const rows = [
      ['0', 'What colour is the sign?', 'A', 'green', 'red', 'blue', 'white', 'single', '0', jpeg],
      // The same question under the next cyclic option order; the image refers back to row 0.
      ['1', 'What colour is the sign?', 'D', 'red', 'blue', 'white', 'green', 'single', '1', '0'],
      ['2', '"Which says ""stop""\tfirst?"', 'B', 'left', 'right', 'top', 'bottom', 'cross', '0', jpeg],
    ];
    const file = join(root, 'hr_bench_4k.tsv');
    await writeFile(file, [header, ...rows].map((r) => r.join('\t')).join('\n') + '\n');
    const samples = await loadHRBench(file);
    expect(
      samples.map((s) => [s.id, s.answer, s.options[s.answerIndex], s.category, s.cycleCategory]),
    ).toEqual([
      ['hrbench-0', 'A', 'green', 'single', '0'],
      ['hrbench-1', 'D', 'green', 'single', '1'],
      ['hrbench-2', 'B', 'right', 'cross', '0'],
    ]);
    expect(samples[2]!.question).toBe('Which says "stop"\tfirst?');
    expect(samples[1]!.boxes).toEqual([]);
    expect([samples[1]!.width, samples[1]!.height]).toEqual([40, 30]);
    const bytes = (samples[1]!.image as { bytes: Uint8Array }).bytes;
    const { data } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
    expect(data[1]).toBeGreaterThan(150);
    // Box-less samples still export (the whole image stands in for the region), with answers when labelled.
    const out = join(root, 'hr.parquet');
    await exportSamplesParquet(
      samples.map((sample) => ({ sample, split: 'test' })),
      out,
      { negative: 'blank' },
    );
    const exported = (await parquetReadObjects({ file: await asyncBufferFromFile(out), utf8: false })) as {
      reward_model: { ground_truth: string };
    }[];
    expect(exported.map((r) => r.reward_model.ground_truth)).toEqual(['A', 'D', 'B']);
  });

  it('rejects a missing column and a bad answer letter by name', async () => {
    const file = join(root, 'bad.tsv');
    await writeFile(file, 'index\tquestion\tA\tB\timage\n0\tq\ta\tb\txx\n');
    await expect(loadHRBench(file)).rejects.toThrow(/tsv column answer/);
    const jpeg = (await solid(4, 4, 0, 0, 0).jpeg().toBuffer()).toString('base64');
    await writeFile(file, `index\tquestion\tanswer\tA\tB\timage\n0\tq\tE\ta\tb\t${jpeg}\n`);
    await expect(loadHRBench(file)).rejects.toThrow(/tsv line 2: answer = "E"/);
  });

  it('parses quoted fields with tabs, newlines and doubled quotes', () => {
    expect(parseTsv('a\tb\n"x\ty"\t"say ""hi""\nthere"\r\n')).toEqual([
      ['a', 'b'],
      ['x\ty', 'say "hi"\nthere'],
    ]);
  });
});
