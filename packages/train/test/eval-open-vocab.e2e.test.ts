// Free-form English questions (a V*-layout folder and an HR-Bench TSV built here) evaluated with a
// checkpoint whose tokenizer has the byte fallback: through the local checkpoint and through
// `vzero serve` (a child process on loopback) every question gets the same answer, none throws.
// (eval-closed-vocab.e2e.test.ts: a freshly pretrained model, closed-vocabulary checkpoints and
// questions too long for a model.)
process.env['VZERO_BACKEND'] = 'wasm'; // the served child inherits it: one backend on both sides
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MODEL_PRESETS, Tokenizer, createModel, resolveModelConfig, saveCheckpoint } from '@vzero/model';
import { WORLD_VOCABULARY } from '@vzero/world';
import { run } from './cli-run.js';
import { writeEnglishBenchmarks } from './english-bench.js';
import { makeFixture, type Fixture } from './fixture.js';
import { serveProcess, type ServeProcess } from './serve-process.js';

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

  ({ vstar, tsv } = await writeEnglishBenchmarks(f.root));
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
      const l = await run(['eval', '--checkpoint', open, '--data', bench, '--out', localOut]);
      expect(l.code, l.err).toBe(0);
      const r = await run(['eval', '--url', server.url, '--data', bench, '--out', remoteOut]);
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
});
