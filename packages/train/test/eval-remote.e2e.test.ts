// `vzero eval` on a served model: a checkpoint behind `vzero serve` (a real child process on
// loopback) gives the same per-question answers (greedy) as the same checkpoint loaded locally,
// on a world split, a V*-layout folder and an HR-Bench TSV built here; and a benchmark that
// yields no questions is an error.
process.env['VZERO_BACKEND'] = 'wasm'; // the served child inherits it: one backend on both sides
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadLabelled } from '@vzero/world';
import { run } from './cli-run.js';
import { makeFixture, type Fixture } from './fixture.js';
import { serveProcess, served, type ServeProcess } from './serve-process.js';

let f: Fixture;
let vstar: string;
let tsv: string;
let student: ServeProcess;
let teacher: ServeProcess;

interface ReportJson {
  overall: { questions: number; correct: number };
  predictions: { id: string; responses: string[]; predicted: string | null; score: number }[];
  cyclic?: { cycles: string[]; averaged: { overall: { accuracy: number } } };
  method: string;
}

async function report(dir: string): Promise<ReportJson> {
  return JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as ReportJson;
}

beforeAll(async () => {
  f = await makeFixture({ test: 6 });
  const samples = await loadLabelled(f.world, 'test');
  // V* layout: <category>/<stem>.png + .json with the correct option first and [x, y, w, h] boxes.
  vstar = join(f.root, 'vstar');
  for (const [i, s] of samples.entries()) {
    const folder = join(vstar, s.category === 'spatial' ? 'relative_position' : 'direct_attributes');
    await mkdir(folder, { recursive: true });
    const path = (s.image as { path: string }).path;
    await writeFile(join(folder, `sa_${i}.png`), await readFile(path));
    const options = [s.options[s.answerIndex], ...s.options.filter((_, k) => k !== s.answerIndex)];
    const bbox = s.boxes.map((b) => [b.x0, b.y0, b.x1 - b.x0, b.y1 - b.y0]);
    await writeFile(join(folder, `sa_${i}.json`), JSON.stringify({ question: s.question, options, bbox }));
  }
  // HR-Bench TSV: every question twice, its options rotated (cycle_category 0 and 1), the second
  // row pointing at the first row's image by index, as VLMEvalKit stores it.
  const rows = ['index\tquestion\tanswer\tA\tB\tC\tD\timage\tcategory\tcycle_category'];
  let index = 0;
  for (const [i, s] of samples.entries()) {
    const image = (await readFile((s.image as { path: string }).path)).toString('base64');
    const first = index;
    for (let c = 0; c < 2; c++) {
      const opts = [...s.options.slice(c), ...s.options.slice(0, c)];
      while (opts.length < 4) opts.push('nan');
      const answer = 'ABCD'[(s.answerIndex - c + s.options.length) % s.options.length];
      rows.push(
        [
          index,
          s.question,
          answer,
          ...opts.slice(0, 4),
          c === 0 ? image : String(first),
          i % 2 ? 'cross' : 'single',
          c,
        ].join('\t'),
      );
      index++;
    }
  }
  tsv = join(f.root, 'hr_bench.tsv');
  await writeFile(tsv, rows.join('\n') + '\n');
  [student, teacher] = await Promise.all([serveProcess(f.models.student), serveProcess(f.models.teacher)]);
}, 180_000);

afterAll(async () => {
  await student?.kill();
  await teacher?.kill();
});

describe('vzero eval through a served model', () => {
  const benches = () => [
    { name: 'world split', bench: f.world, questions: 6 },
    { name: 'V* layout', bench: vstar, questions: 6 },
    { name: 'HR-Bench TSV', bench: tsv, questions: 12 },
  ];

  for (const role of ['student', 'teacher'] as const) {
    it(`answers every question as the local ${role} checkpoint does`, async () => {
      const server = role === 'student' ? student : teacher;
      for (const b of benches()) {
        const localOut = join(f.root, `local-${role}-${b.questions}-${b.name.replace(/\W/g, '')}`);
        const remoteOut = `${localOut}-remote`;
        const before = served(server, '/v1/chat/completions');
        const l = await run(['eval', '--checkpoint', f.models[role], '--data', b.bench, '--out', localOut]);
        expect(l.code, l.err).toBe(0);
        const r = await run(['eval', '--url', `${server.url}/v1`, '--data', b.bench, '--out', remoteOut]);
        expect(r.code, r.err).toBe(0);
        expect(r.err).toMatch(/vzero prompts/);
        if (role === 'teacher') expect(r.err).toMatch(/with the positive crop/);
        const [lr, rr] = [await report(localOut), await report(remoteOut)];
        expect(rr.overall.questions, b.name).toBe(b.questions);
        expect(
          rr.predictions.map((p) => [p.id, p.responses, p.predicted]),
          b.name,
        ).toEqual(lr.predictions.map((p) => [p.id, p.responses, p.predicted]));
        expect(rr.overall).toEqual(lr.overall);
        expect(rr.predictions.some((p) => (p.responses[0] ?? '') !== '')).toBe(true);
        expect(rr.method).toMatch(new RegExp(`^${role} at http://127\\.0\\.0\\.1:\\d+/v1$`));
        // One greedy request per question reached the server.
        expect(served(server, '/v1/chat/completions') - before).toBe(b.questions);
        if (b.name === 'HR-Bench TSV') {
          expect(rr.cyclic?.cycles).toEqual(['0', '1']);
          expect(r.out).toMatch(/average over 2 cyclic option orders \(HR-Bench\): all \d+\.\d%/);
        }
        expect(r.out).toMatch(/^accuracy \d+\.\d% \(\d+\/\d+, unanswered \d+\), 95% CI \d+\.\d-\d+\.\d%$/m);
      }
    });
  }

  it('asks for the mcq prompt format of a general VLM when told (the original image, lettered options)', async () => {
    const out = join(f.root, 'mcq');
    const r = await run([
      'eval',
      '--url',
      student.url,
      '--model',
      'student',
      '--prompt-format',
      'mcq',
      '--data',
      vstar,
      '--out',
      out,
    ]);
    // The toolkit's word vocabulary has no "Question:": the server names the unknown word, the
    // eval stops with that one line (a general VLM takes any text).
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/error: .*\/v1\/chat\/completions .*HTTP 400: .*unknown word/);
  });

  it('fails on a benchmark with no questions, a bad server and a bad choice of model', async () => {
    const empty = join(f.root, 'empty-bench');
    await mkdir(join(empty, 'direct_attributes'), { recursive: true });
    const e = await run(['eval', '--url', student.url, '--data', empty]);
    expect(e.code).toBe(1);
    expect(e.err).toMatch(/--data = ".*empty-bench": no questions: not a world dataset with split "test"/);
    const wrongSplit = await run([
      'eval',
      '--checkpoint',
      f.models.student,
      '--data',
      f.world,
      '--split',
      'val',
    ]);
    expect(wrongSplit.code).toBe(1);
    expect(wrongSplit.err).toMatch(/no questions/);
    expect(wrongSplit.out).toBe('');
    const both = await run([
      'eval',
      '--checkpoint',
      f.models.student,
      '--url',
      student.url,
      '--data',
      f.world,
    ]);
    expect(both.err).toMatch(/--url .* both given: evaluate one model/);
    const neither = await run(['eval', '--data', f.world]);
    expect(neither.code).toBe(1);
    const unknown = await run(['eval', '--url', student.url, '--model', 'nope', '--data', f.world]);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/options\.model = "nope": nope is not served at .*; served: student/);
  });

  it('sends the API key from the named environment variable and never prints it', async () => {
    const secret = 'sk-eval-secret-123';
    const keyed = await serveProcess(f.models.student, { env: { VZERO_API_KEY: secret } });
    process.env['EVAL_TEST_KEY'] = secret;
    try {
      const args = ['eval', '--url', keyed.url, '--data', f.world, '--limit', '2'];
      const r = await run([...args, '--api-key-env', 'EVAL_TEST_KEY']);
      expect(r.code, r.err).toBe(0);
      expect(r.out + r.err).not.toContain(secret);
      const wrong = await run([...args, '--api-key-env', 'EVAL_TEST_NO_KEY']);
      expect(wrong.code).toBe(1);
      expect(wrong.err).toMatch(/HTTP 401/);
      expect(wrong.err).not.toContain(secret);
    } finally {
      delete process.env['EVAL_TEST_KEY'];
      await keyed.kill();
    }
  });
});
