import { describe, expect, it } from 'vitest';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './cli-run.js';

// Hand computation (gamma 1, eps 1e-6):
//   line 1, group a: delta over the real tokens = [1, 0]          -> p = 0.5
//   line 2, group a: delta = [-2, 0], score = [-2, 0]             -> p = -1
//   line 3, group b: delta = [0]                                  -> p = 0, singleton -> a = 0, w = 1
//   group a: mu = -0.25, population sd = 0.75 -> a = +-0.75 / 0.750001
//   reference (alpha 0.5): w = 1 +- 0.5 a;  paper (alpha 1): w = 1 +- a
const lines = [
  { group: 'a', teacher_pos: [-1, -2, 5], teacher_neg: [-2, -2, null], mask: [1, 1, 0] },
  { group: 'a', teacher_pos: [-3, -1], teacher_neg: [-1, -1] },
  { group: 'b', teacher_pos: [0], teacher_neg: [0], mask: [1] },
];
const a = 0.75 / (0.75 + 1e-6);

async function fixture(content: string) {
  const dir = await mkdtemp(join(tmpdir(), 'vzero-gate-'));
  const input = join(dir, 'rollouts.jsonl');
  await writeFile(input, content);
  return { dir, input, out: join(dir, 'weights.jsonl'), metrics: join(dir, 'metrics.json') };
}

async function readJsonl(path: string) {
  return (await readFile(path, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

describe('vzero gate', () => {
  it('round-trips a JSONL file with the reference preset', async () => {
    const f = await fixture(lines.map((l) => JSON.stringify(l)).join('\n') + '\n\n');
    const r = await run(['gate', '--in', f.input, '--out-file', f.out, '--metrics', f.metrics]);
    expect(r.code).toBe(0);
    const got = await readJsonl(f.out);
    expect(got.map((g) => g.group)).toEqual(['a', 'a', 'b']);
    expect(got[0].score).toBeCloseTo(0.5, 12);
    expect(got[1].score).toBeCloseTo(-1, 12);
    expect(got[0].advantage).toBeCloseTo(a, 9);
    expect(got[1].advantage).toBeCloseTo(-a, 9);
    expect(got[0].weight).toBeCloseTo(1 + 0.5 * a, 9);
    expect(got[1].weight).toBeCloseTo(1 - 0.5 * a, 9);
    expect(got[2]).toEqual({ group: 'b', score: 0, advantage: 0, weight: 1 });
    const metrics = JSON.parse(await readFile(f.metrics, 'utf8'));
    expect(metrics.config.alpha).toBe(0.5);
    expect(metrics.diagnostics.weightMax).toBeCloseTo(1 + 0.5 * a, 9);
  });

  it('honours the paper preset and explicit overrides', async () => {
    const f = await fixture(lines.map((l) => JSON.stringify(l)).join('\n'));
    expect((await run(['gate', '--in', f.input, '--out-file', f.out, '--preset', 'paper'])).code).toBe(0);
    const paper = await readJsonl(f.out);
    expect(paper[0].weight).toBeCloseTo(1 + a, 9);
    expect(paper[1].weight).toBeCloseTo(1 - a, 9);
    // gamma 2: line 2 scores [-4, 0] -> p = -2; group a: mu = -0.75, sd = 1.25; w-max 1.2 clips line 1.
    expect(
      (
        await run([
          'gate',
          '--in',
          f.input,
          '--out-file',
          f.out,
          '--gamma',
          '2',
          '--alpha',
          '1',
          '--w-max',
          '1.2',
        ])
      ).code,
    ).toBe(0);
    const g2 = await readJsonl(f.out);
    expect(g2[1].score).toBeCloseTo(-2, 12);
    expect(g2[0].weight).toBeCloseTo(1.2, 12);
    expect(g2[1].weight).toBeCloseTo(1 - 1.25 / (1.25 + 1e-6), 9);
  });

  it.each([
    ['not json', '{"group": "a", ', /rollouts\.jsonl:1 = .*not valid JSON/],
    ['a missing field', '{"group": "a", "teacher_pos": [1]}', /rollouts\.jsonl:1 teacher_neg/],
    [
      'a string log-prob',
      '{"group": "a", "teacher_pos": ["x"], "teacher_neg": [1]}',
      /rollouts\.jsonl:1 teacher_pos\.0 = "x"/,
    ],
    [
      'a bad mask value',
      '{"group": "a", "teacher_pos": [1], "teacher_neg": [1], "mask": [2]}',
      /rollouts\.jsonl:1 mask\.0 = 2/,
    ],
    [
      'unequal lengths',
      '{"group": "a", "teacher_pos": [-1, -2], "teacher_neg": [-1]}',
      /sequences\[0\]\.negative/,
    ],
    [
      'a null at a real token',
      '{"group": "a", "teacher_pos": [null], "teacher_neg": [-1]}',
      /sequences\[0\]\.positive\[0\] = NaN/,
    ],
    ['an empty file', '\n', /--in = ".*": the file holds no rollouts/],
  ])('rejects %s with a message naming the field', async (_name, content, message) => {
    const f = await fixture(content);
    const r = await run(['gate', '--in', f.input, '--out-file', f.out]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(message);
  });

  it('rejects bad options', async () => {
    const f = await fixture(JSON.stringify(lines[0]));
    const preset = await run(['gate', '--in', f.input, '--out-file', f.out, '--preset', 'fancy']);
    expect(preset.code).toBe(1);
    expect(preset.err).toMatch(/--preset = "fancy"/);
    const alpha = await run(['gate', '--in', f.input, '--out-file', f.out, '--alpha', 'abc']);
    expect(alpha.code).not.toBe(0);
    expect(alpha.err).toMatch(/--alpha must be a finite number, got "abc"/);
    const gamma = await run(['gate', '--in', f.input, '--out-file', f.out, '--gamma', '-1']);
    expect(gamma.code).toBe(1);
    expect(gamma.err).toMatch(/gamma = -1/);
    const missing = await run(['gate', '--in', join(f.dir, 'nope.jsonl'), '--out-file', f.out]);
    expect(missing.code).toBe(1);
  });
});
