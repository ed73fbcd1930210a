// Free-form English questions against the tokenizers (issue 13): a student freshly pretrained
// with `vzero pretrain` (the default tokenizer) answers every question of a V*-layout folder and
// an HR-Bench TSV; a checkpoint with the closed word vocabulary (every checkpoint written before
// the byte-level tokenizers) still evaluates: the log says up front that its vocabulary is closed
// and how many questions have words outside it, those are scored as unanswered, and the
// questions it can read get the very answers they get on their own. A question longer than a
// model takes is scored the same way, named, instead of stopping the evaluation.
process.env['VZERO_BACKEND'] = 'wasm'; // the served child inherits it: one backend on both sides
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { MODEL_PRESETS, createModel, resolveModelConfig, saveCheckpoint } from '@vzero/model';
import { run } from './cli-run.js';
import { writeEnglishBenchmarks } from './english-bench.js';
import { makeFixture, type Fixture } from './fixture.js';
import { serveProcess } from './serve-process.js';
import { worldTokenizer } from '../src/world-tokenizer.js';

interface ReportJson {
  overall: { questions: number; unanswered: number };
  predictions: { id: string; responses: string[]; predicted: string | null }[];
}

const readReport = async (dir: string) =>
  JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as ReportJson;

let f: Fixture;
let vstar: string;
let tsv: string;

beforeAll(async () => {
  f = await makeFixture({ train: 8, val: 2 });
  ({ vstar, tsv } = await writeEnglishBenchmarks(f.root));
}, 120_000);

describe('vzero eval and the tokenizers', () => {
  it('a student freshly pretrained with the default tokenizer answers every free-form question', async () => {
    const fresh = join(f.root, 'models', 'fresh');
    const p = await run([
      'pretrain',
      'student',
      '--data',
      f.world,
      '--out',
      fresh,
      '--steps',
      '2',
      '--batch-size',
      '4',
    ]);
    expect(p.code, p.err).toBe(0);
    const config = JSON.parse(await readFile(join(fresh, 'config.json'), 'utf8')) as {
      tokenizer: { type: string };
      config: { maxTextLength: number };
    };
    expect(config.tokenizer.type).toBe('vzero-bpe');
    expect(config.config.maxTextLength).toBe(256);
    for (const [name, bench, n] of [
      ['vstar', vstar, 3],
      ['hr', tsv, 6],
    ] as const) {
      const out = join(f.root, `fresh-${name}`);
      const r = await run(['eval', '--checkpoint', fresh, '--data', bench, '--out', out]);
      expect(r.code, r.err).toBe(0);
      expect(r.err).not.toMatch(/unanswered|closed vocabulary/);
      expect((await readReport(out)).overall.questions).toBe(n);
    }
    // Served, the byte-level BPE model gives the same answers (its tokens decode remotely).
    const server = await serveProcess(fresh);
    try {
      const out = join(f.root, 'fresh-vstar-served');
      const r = await run(['eval', '--url', server.url, '--data', vstar, '--out', out]);
      expect(r.code, r.err).toBe(0);
      const rows = (rep: ReportJson) => rep.predictions.map((p) => [p.id, p.responses, p.predicted]);
      expect(rows(await readReport(out))).toEqual(rows(await readReport(join(f.root, 'fresh-vstar'))));
    } finally {
      await server.kill();
    }
  }, 180_000);

  it('scores the questions a closed-vocabulary checkpoint cannot read as unanswered, saying so first', async () => {
    // One world question (in the vocabulary) beside the three English ones.
    const mixed = join(f.root, 'vstar-mixed');
    const alone = join(f.root, 'vstar-world-only');
    for (const dir of [mixed, alone]) {
      await mkdir(join(dir, 'direct_attributes'), { recursive: true });
      const jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#3366cc' } })
        .jpeg()
        .toBuffer();
      await writeFile(join(dir, 'direct_attributes', 'world.jpg'), jpeg);
      await writeFile(
        join(dir, 'direct_attributes', 'world.json'),
        JSON.stringify({
          question: 'what is the colour of the star ?',
          options: ['red', 'blue', 'green', 'white'],
          bbox: [[5, 5, 20, 20]],
        }),
      );
    }
    for (const [i, folder] of [
      [0, 'direct_attributes'],
      [1, 'relative_position'],
      [2, 'direct_attributes'],
    ] as const) {
      await mkdir(join(mixed, folder), { recursive: true });
      for (const ext of ['jpg', 'json'])
        await writeFile(
          join(mixed, folder, `sa_${i}.${ext}`),
          await readFile(join(vstar, folder, `sa_${i}.${ext}`)),
        );
    }
    const out = join(f.root, 'closed-mixed');
    const r = await run(['eval', '--checkpoint', f.models.student, '--data', mixed, '--out', out]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/closed vocabulary \(\d+ tokens.*\): 3 of 4 questions contain words outside it/);
    expect(r.err).toMatch(
      /these 3 questions are scored as unanswered \(wrong\), e\.g\. direct_attributes\/sa_0 \(unknown word "What"\)/,
    );
    const report = await readReport(out);
    expect(report.overall.questions).toBe(4);
    expect(report.overall.unanswered).toBeGreaterThanOrEqual(3);
    for (const p of report.predictions.filter((p) => p.id !== 'direct_attributes/world')) {
      expect(p).toMatchObject({ responses: [''], predicted: null });
    }
    // The question it can read is answered exactly as on its own.
    const single = join(f.root, 'closed-alone');
    const s = await run(['eval', '--checkpoint', f.models.student, '--data', alone, '--out', single]);
    expect(s.code, s.err).toBe(0);
    expect(s.err).not.toMatch(/unanswered|closed vocabulary/);
    const world = (rep: ReportJson) => rep.predictions.find((p) => p.id === 'direct_attributes/world');
    expect(world(report)).toEqual(world(await readReport(single)));
  }, 120_000);

  it('scores a question longer than the model takes as unanswered, naming it', async () => {
    const tokenizer = worldTokenizer('bpe');
    const short = join(f.root, 'models', 'short');
    const model = createModel(
      resolveModelConfig(MODEL_PRESETS.tiny, {
        vocabSize: tokenizer.size,
        images: [{ role: 'full', size: 16 }],
        maxTextLength: 40,
      }),
    );
    await saveCheckpoint(short, model, tokenizer);
    model.dispose();
    const out = join(f.root, 'short-vstar');
    const r = await run(['eval', '--checkpoint', short, '--data', vstar, '--out', out]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).not.toMatch(/closed vocabulary/);
    expect(r.err).toMatch(/2 of 3 questions are longer than the model takes/);
    expect(r.err).toMatch(/direct_attributes\/sa_0 \(prompt of \d+ tokens \(maxTextLength 40\)\)/);
    const report = await readReport(out);
    expect(report.overall.questions).toBe(3);
    expect(report.predictions.find((p) => p.id === 'direct_attributes/sa_0')).toMatchObject({
      predicted: null,
    });
  }, 120_000);
});
