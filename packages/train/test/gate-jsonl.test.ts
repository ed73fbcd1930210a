// `vzero gate` streamed: the same outputs as computeGate on the whole batch, a clear error for
// non-finite intermediate values, a BOM accepted, only regular files opened, and memory that
// does not grow with the file's text.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { execFile, execFileSync } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeGate, gateConfig, type GateSequence } from '@vzero/gate';
import { readGateJsonl, streamGate } from '../src/gate-jsonl.js';
import { run } from './cli-run.js';
import { repoRoot } from './cli-process.js';

async function dir() {
  return mkdtemp(join(tmpdir(), 'vzero-gate-stream-'));
}

const toLine = (s: GateSequence) =>
  JSON.stringify({
    group: s.group,
    teacher_pos: Array.from(s.positive),
    teacher_neg: Array.from(s.negative),
  });

const sequenceArb = fc.record({
  group: fc.constantFrom('p0', 'p1', 'p2', 'p3'),
  length: fc.integer({ min: 1, max: 6 }),
  values: fc.array(fc.double({ min: -20, max: 0, noNaN: true }), { minLength: 12, maxLength: 12 }),
});

describe('streamGate', () => {
  it('gives computeGate outputs exactly, on interleaved groups (property)', async () => {
    const root = await dir();
    const config = gateConfig('reference');
    await fc.assert(
      fc.asyncProperty(fc.array(sequenceArb, { minLength: 1, maxLength: 30 }), async (raw) => {
        const seqs: GateSequence[] = raw.map((r) => ({
          group: r.group,
          positive: r.values.slice(0, r.length),
          negative: r.values.slice(6, 6 + r.length),
        }));
        const input = join(root, 'in.jsonl');
        const output = join(root, 'out.jsonl');
        await writeFile(input, seqs.map(toLine).join('\n') + '\n');
        const { lines, diagnostics } = await streamGate(input, output, config);
        const expected = computeGate(seqs, config);
        const got = (await readFile(output, 'utf8'))
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { group: string; score: number; advantage: number; weight: number });
        expect(lines).toBe(seqs.length);
        expect(got.map((g) => g.group)).toEqual(seqs.map((s) => s.group));
        expect(got.map((g) => g.score)).toEqual(Array.from(expected.scores));
        expect(got.map((g) => g.advantage)).toEqual(Array.from(expected.advantages));
        expect(got.map((g) => g.weight)).toEqual(Array.from(expected.weights));
        for (const [k, v] of Object.entries(expected.diagnostics))
          expect(diagnostics[k as keyof typeof diagnostics]).toBeCloseTo(v, 9);
      }),
      { numRuns: 60 },
    );
  });

  it.each([
    ['a sum past the float range', [-1e308, -1e308], [0, 0]],
    // Already refused before this change (a positive log-prob), kept as a guard.
    ['+-1e308 in one token', [-1e308], [1e308]],
  ])('%s is an error naming the line, and no output is written', async (_name, pos, neg) => {
    const root = await dir();
    const input = join(root, 'in.jsonl');
    const out = join(root, 'out.jsonl');
    await writeFile(
      input,
      [
        JSON.stringify({ group: 'a', teacher_pos: [-1], teacher_neg: [-2] }),
        JSON.stringify({ group: 'a', teacher_pos: pos, teacher_neg: neg }),
      ].join('\n') + '\n',
    );
    const r = await run(['gate', '--in', input, '--out-file', out]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(new RegExp(`in\\.jsonl:2 (score|teacher_neg\\[0\\]|advantage)`));
    expect(existsSync(out)).toBe(false);
  });

  it('scores far apart in one group (finite each) are named too, not written as null', async () => {
    const root = await dir();
    const input = join(root, 'in.jsonl');
    const out = join(root, 'out.jsonl');
    await writeFile(
      input,
      [
        JSON.stringify({ group: 'g', teacher_pos: [-1.7e308], teacher_neg: [0] }),
        JSON.stringify({ group: 'g', teacher_pos: [0], teacher_neg: [-1.7e308] }),
      ].join('\n') + '\n',
    );
    const r = await run(['gate', '--in', input, '--out-file', out]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/in\.jsonl:\d advantage = .*not finite/);
    expect(existsSync(out)).toBe(false);
  });

  it('accepts a UTF-8 byte-order mark at the start of the file', async () => {
    const root = await dir();
    const input = join(root, 'bom.jsonl');
    await writeFile(
      input,
      '\uFEFF' + JSON.stringify({ group: 'a', teacher_pos: [-1], teacher_neg: [-2] }) + '\n',
    );
    const seqs = await readGateJsonl(input);
    expect(seqs[0]?.group).toBe('a');
    const r = await run(['gate', '--in', input, '--out-file', join(root, 'o.jsonl')]);
    expect(r.code, r.err).toBe(0);
  });

  it('refuses a FIFO named *.jsonl at once instead of hanging', async () => {
    const root = await dir();
    const fifo = join(root, 'pipe.jsonl');
    execFileSync('mkfifo', [fifo]);
    const r = await run(['gate', '--in', fifo, '--out-file', join(root, 'o.jsonl')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/pipe\.jsonl.*is not a regular file/);
  });

  it('streams a file larger than its heap allows (the whole-file reader ran out of memory)', async () => {
    const root = await dir();
    const input = join(root, 'big.jsonl');
    // 1500 rollouts of 3000 tokens: about 110 MB of text, against a 96 MB heap.
    const out = createWriteStream(input);
    const tokens = Array.from({ length: 3000 }, (_, k) => -((k % 97) + 0.123456789) / 7);
    const body = JSON.stringify(tokens);
    for (let i = 0; i < 1500; i++) {
      const line = `{"group":"g${i % 200}","teacher_pos":${body},"teacher_neg":${body}}\n`;
      if (!out.write(line)) await new Promise<void>((r) => out.once('drain', () => r()));
    }
    await new Promise<void>((r) => out.end(() => r()));
    const output = join(root, 'w.jsonl');
    const result = await new Promise<{ code: number | null; err: string }>((resolve) => {
      execFile(
        process.execPath,
        [
          '--max-old-space-size=96',
          '--import',
          'tsx',
          'packages/train/src/bin.ts',
          'gate',
          '--in',
          input,
          '--out-file',
          output,
        ],
        { cwd: repoRoot, timeout: 240_000 },
        (error, _stdout, stderr) =>
          resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, err: stderr }),
      );
    });
    expect(result.code, result.err.slice(-2000)).toBe(0);
    expect((await readFile(output, 'utf8')).trim().split('\n')).toHaveLength(1500);
  }, 300_000);
});
