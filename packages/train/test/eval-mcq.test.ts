// `vzero eval --url` against a server shaped like vLLM serving a general VLM (the 'mcq' prompt
// format): a small loopback stand-in for vLLM (not one of the toolkit's components) that lists
// its model with max_model_len, records each chat request and answers with a fixed letter. The
// test checks what such a server receives (the original image bytes, or downscaled ones under
// --max-pixels; VLMEvalKit's multiple-choice text; greedy settings; the API key) and that the
// answers are scored, HR-Bench cyclic orders included.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { mcqText } from '../src/commands/eval.js';
import { run } from './cli-run.js';

interface Seen {
  auth: string | undefined;
  body: {
    model: string;
    temperature: number;
    n: number;
    max_tokens: number;
    messages: {
      content: ({ type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } })[];
    }[];
  };
}

let server: Server;
let url: string;
const seen: Seen[] = [];
let root: string;
let vstar: string;
let tsv: string;
let bigJpeg: Buffer;

/** A vLLM-like reply: the answer text with per-token ids ("token_id:<n>"), as vLLM sends them. */
function reply(text: string) {
  return {
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: text },
        finish_reason: 'stop',
        logprobs: { content: [...text].map((_, k) => ({ token: `token_id:${100 + k}`, logprob: -0.1 })) },
      },
    ],
  };
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.method === 'GET' && req.url === '/v1/models') {
        res.end(JSON.stringify({ data: [{ id: 'Qwen/Qwen2.5-VL-7B-Instruct', max_model_len: 32768 }] }));
        return;
      }
      if (req.method === 'POST' && req.url === '/v1/chat/completions') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Seen['body'];
        seen.push({ auth: req.headers.authorization, body });
        res.end(JSON.stringify(reply('B. it is')));
        return;
      }
      res.statusCode = 404;
      res.end(JSON.stringify({ error: { message: `no route ${req.url}` } }));
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;

  root = await mkdtemp(join(tmpdir(), 'vzero-mcq-'));
  vstar = join(root, 'vstar');
  await mkdir(join(vstar, 'direct_attributes'), { recursive: true });
  bigJpeg = await sharp({
    create: { width: 400, height: 300, channels: 3, background: { r: 200, g: 30, b: 60 } },
  })
    .jpeg()
    .toBuffer();
  for (let i = 0; i < 4; i++) {
    await writeFile(join(vstar, 'direct_attributes', `sa_${i}.jpg`), bigJpeg);
    await writeFile(
      join(vstar, 'direct_attributes', `sa_${i}.json`),
      JSON.stringify({
        question: `What is the colour of the woman's scarf? (${i})`,
        options: ['The colour of the scarf is red.', 'blue', 'green', 'white'],
        bbox: [[10, 20, 30, 40]],
        target_object: ['scarf'],
      }),
    );
  }
  // HR-Bench: two questions, each under two rotations of its options (cycle 0 and 1).
  const rows = ['index\tquestion\tanswer\tA\tB\tC\tD\timage\tcategory\tcycle_category'];
  const image = bigJpeg.toString('base64');
  rows.push(
    ['0', 'Which sign is on the left?', 'B', 'stop', 'yield', 'exit', 'none', image, 'single', '0'].join(
      '\t',
    ),
  );
  rows.push(
    ['1', 'Which sign is on the left?', 'A', 'yield', 'exit', 'none', 'stop', '0', 'single', '1'].join('\t'),
  );
  rows.push(
    ['2', 'How many cars are there?', 'C', 'one', 'two', 'three', 'four', '0', 'cross', '0'].join('\t'),
  );
  rows.push(
    ['3', 'How many cars are there?', 'B', 'two', 'three', 'four', 'one', '0', 'cross', '1'].join('\t'),
  );
  tsv = join(root, 'hr.tsv');
  await writeFile(tsv, rows.join('\n') + '\n');
});

afterAll(async () => {
  await new Promise<void>((ok) => server.close(() => ok()));
});

describe('vzero eval on a vLLM-shaped server (mcq prompts)', () => {
  it('sends the original image and the multiple-choice prompt, greedy, and scores the letters', async () => {
    seen.length = 0;
    process.env['MCQ_TEST_KEY'] = 'sk-mcq-9';
    try {
      const out = join(root, 'vstar-report');
      const r = await run([
        'eval',
        '--url',
        url,
        '--api-key-env',
        'MCQ_TEST_KEY',
        '--data',
        vstar,
        '--out',
        out,
      ]);
      expect(r.code, r.err).toBe(0);
      expect(r.err).toMatch(
        /eval Qwen\/Qwen2\.5-VL-7B-Instruct at .* on V\* Bench: 4 questions, mcq prompts/,
      );
      expect(r.err).not.toContain('sk-mcq-9');
      expect(seen).toHaveLength(4);
      const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as {
        overall: { questions: number; correct: number; unanswered: number };
        predictions: { id: string; predicted: string | null; answer: string }[];
      };
      expect(report.overall.questions).toBe(4);
      expect(report.overall.unanswered).toBe(0);
      // Every answer is "B"; the options were shuffled per question, so "B" is right where the answer is B.
      expect(report.overall.correct).toBe(report.predictions.filter((p) => p.answer === 'B').length);
      for (const s of seen) {
        expect(s.auth).toBe('Bearer sk-mcq-9');
        expect(s.body).toMatchObject({
          model: 'Qwen/Qwen2.5-VL-7B-Instruct',
          temperature: 0,
          n: 1,
          max_tokens: 64,
        });
        const [img, text] = s.body.messages[0]!.content;
        expect(img).toEqual({
          type: 'image_url',
          image_url: { url: `data:image/jpeg;base64,${bigJpeg.toString('base64')}` },
        });
        expect((text as { text: string }).text).toMatch(
          /^Question: What is the colour of the woman's scarf\? \(\d\)\nOptions:\nA\. .+\nB\. .+\nC\. .+\nD\. .+\nPlease select the correct answer from the options above\. \n$/,
        );
      }
    } finally {
      delete process.env['MCQ_TEST_KEY'];
    }
  });

  it('averages HR-Bench over its cyclic orders and downscales images under --max-pixels', async () => {
    seen.length = 0;
    const out = join(root, 'hr-report');
    const r = await run(['eval', '--url', url, '--data', tsv, '--max-pixels', '30000', '--out', out]);
    expect(r.code, r.err).toBe(0);
    // Answers are all "B": right on rows 0 and 3 (one per cycle), so 50% in each cycle.
    expect(r.out).toMatch(/^accuracy 50\.0% \(2\/4, unanswered 0\)/m);
    expect(r.out).toMatch(
      /average over 2 cyclic option orders \(HR-Bench\): all 50\.0%, cross 50\.0%, single 50\.0%/,
    );
    const sent = seen.map(
      (s) => (s.body.messages[0]!.content[0] as { image_url: { url: string } }).image_url.url,
    );
    const bytes = Buffer.from(sent[0]!.replace(/^data:image\/jpeg;base64,/, ''), 'base64');
    const meta = await sharp(bytes).metadata();
    expect((meta.width ?? 0) * (meta.height ?? 0)).toBeLessThanOrEqual(30000);
    expect((meta.width ?? 0) / (meta.height ?? 1)).toBeCloseTo(400 / 300, 1);
  });

  it('builds VLMEvalKit-style text and refuses mcq prompts for a local checkpoint', async () => {
    expect(mcqText({ question: 'Q?', options: ['x', 'y'] })).toBe(
      'Question: Q?\nOptions:\nA. x\nB. y\nPlease select the correct answer from the options above. \n',
    );
    const r = await run(['eval', '--checkpoint', root, '--prompt-format', 'mcq', '--data', vstar]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/--prompt-format = "mcq"/);
    const bad = await run(['eval', '--url', url, '--prompt-format', 'vzero', '--data', vstar]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/does not publish its image slots/);
  });

  it('refuses an HR-Bench TSV too large for one string, saying why, before reading it', async () => {
    const huge = join(root, 'huge.tsv');
    await writeFile(huge, '');
    await truncate(huge, 600 * 2 ** 20); // sparse: no disk used
    try {
      const r = await run(['eval', '--url', url, '--data', huge]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/--data = ".*huge\.tsv": 600 MiB: .*Node caps strings at 512 MiB; split it/);
    } finally {
      await rm(huge);
    }
  });
});
