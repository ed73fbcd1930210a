// Free-form English questions (a V*-layout folder and an HR-Bench TSV built here) evaluated with a
// checkpoint whose tokenizer has the byte fallback: through the local checkpoint and through
// `vzero serve` (a child process on loopback) every question gets the same answer, none throws.
// The same benchmark stops a plain word-tokenizer checkpoint at its first unknown word.
process.env['VZERO_BACKEND'] = 'wasm'; // the served child inherits it: one backend on both sides
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { MODEL_PRESETS, Tokenizer, createModel, resolveModelConfig, saveCheckpoint } from '@vzero/model';
import { WORLD_VOCABULARY } from '@vzero/world';
import { run } from './cli-run.js';
import { makeFixture, type Fixture } from './fixture.js';
import { serveProcess, type ServeProcess } from './serve-process.js';

const QUESTIONS = [
  { q: "What is the colour of the woman's scarf?", options: ['The scarf is red.', 'blue', 'green', 'white'] },
  { q: 'Is the bicycle on the left or right side of the dog?', options: ['left', 'right'] },
  {
    q: 'What does the sign above the café door say? (Übersetzung)',
    options: ['Geöffnet', 'Closed — 闭', 'Sale!', 'Exit'],
  },
];

let f: Fixture;
let open: string;
let vstar: string;
let tsv: string;
let server: ServeProcess;

interface ReportJson {
  overall: { questions: number };
  predictions: { id: string; responses: string[]; predicted: string | null }[];
}

beforeAll(async () => {
  f = await makeFixture({ test: 2 });
  const tokenizer = Tokenizer.fromWords(WORLD_VOCABULARY, { byteFallback: true });
  open = join(f.root, 'models', 'open-vocab');
  const model = createModel(
    resolveModelConfig(MODEL_PRESETS.tiny, {
      vocabSize: tokenizer.size,
      images: [{ role: 'full', size: 16 }],
      maxTextLength: 256,
      initSeed: 21,
    }),
  );
  await saveCheckpoint(open, model, tokenizer);
  model.dispose();

  vstar = join(f.root, 'vstar-english');
  const rows = ['index\tquestion\tanswer\tA\tB\tC\tD\timage\tcategory\tcycle_category'];
  for (const [i, { q, options }] of QUESTIONS.entries()) {
    const folder = join(vstar, i === 1 ? 'relative_position' : 'direct_attributes');
    await mkdir(folder, { recursive: true });
    const jpeg = await sharp({
      create: { width: 120, height: 90, channels: 3, background: { r: 40 * i, g: 120, b: 200 - 40 * i } },
    })
      .jpeg()
      .toBuffer();
    await writeFile(join(folder, `sa_${i}.jpg`), jpeg);
    await writeFile(
      join(folder, `sa_${i}.json`),
      JSON.stringify({ question: q, options, bbox: [[10, 10, 30, 20]] }),
    );
    const four = [...options, 'nan', 'nan'].slice(0, 4);
    rows.push([2 * i, q, 'A', ...four, jpeg.toString('base64'), 'single', 0].join('\t'));
    const rotated = [...options.slice(1), options[0]!, 'nan', 'nan'].slice(0, 4);
    const answer = 'ABCD'[options.length - 1];
    rows.push([2 * i + 1, q, answer, ...rotated, String(2 * i), 'single', 1].join('\t'));
  }
  tsv = join(f.root, 'hr-english.tsv');
  await writeFile(tsv, rows.join('\n') + '\n');
  server = await serveProcess(open);
}, 180_000);

afterAll(async () => {
  await server?.kill();
});

describe('vzero eval on free-form English questions', () => {
  it('answers every question of a V* folder and an HR-Bench TSV the same way locally and served', async () => {
    for (const [name, bench, n] of [
      ['vstar', vstar, 3],
      ['hr', tsv, 6],
    ] as const) {
      const localOut = join(f.root, `open-${name}-local`);
      const remoteOut = join(f.root, `open-${name}-remote`);
      const l = await run(['eval', '--checkpoint', open, '--bench', bench, '--out', localOut]);
      expect(l.code, l.err).toBe(0);
      const r = await run(['eval', '--url', server.url, '--bench', bench, '--out', remoteOut]);
      expect(r.code, r.err).toBe(0);
      const read = async (d: string) =>
        JSON.parse(await readFile(join(d, 'report.json'), 'utf8')) as ReportJson;
      const [lr, rr] = [await read(localOut), await read(remoteOut)];
      expect(rr.overall.questions).toBe(n);
      expect(rr.predictions.map((p) => [p.id, p.responses, p.predicted])).toEqual(
        lr.predictions.map((p) => [p.id, p.responses, p.predicted]),
      );
    }
  });

  it('names a question too long for the model instead of failing a batch', async () => {
    const tokenizer = Tokenizer.fromWords(WORLD_VOCABULARY, { byteFallback: true });
    const short = join(f.root, 'models', 'short');
    const model = createModel(
      resolveModelConfig(MODEL_PRESETS.tiny, {
        vocabSize: tokenizer.size,
        images: [{ role: 'full', size: 16 }],
        maxTextLength: 24,
      }),
    );
    await saveCheckpoint(short, model, tokenizer);
    model.dispose();
    const r = await run(['eval', '--checkpoint', short, '--bench', vstar]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /question direct_attributes\/sa_0 = ".*": its prompt takes \d+ tokens; the model's maxTextLength is 24/,
    );
  });

  it('stops a word-tokenizer checkpoint at the first unknown word, naming it', async () => {
    const r = await run(['eval', '--checkpoint', f.models.student, '--bench', vstar]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/unknown word "What"/);
  });
});
