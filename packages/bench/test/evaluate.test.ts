import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnknownKeyError, selectBackend, type ImagePixels, type Prompt } from '@vzero/core';
import { LocalPolicy, MODEL_PRESETS, Tokenizer, createModel } from '@vzero/model';
import {
  evaluate,
  comparisonMarkdown,
  reportMarkdown,
  writeComparison,
  writeReport,
  type BenchSample,
  type EvaluateProgress,
  type Report,
} from '../src/index.js';
import { question, rotated } from './samples.js';

const COLOURS = ['red', 'green', 'blue', 'yellow'];
const tokenizer = Tokenizer.fromWords([
  'what',
  'colour',
  'is',
  'the',
  'sign',
  '?',
  'A',
  'B',
  'C',
  'D',
  '(',
  ')',
  '.',
  'answer',
  ...COLOURS,
]);

function studentPolicy(initSeed: number): LocalPolicy {
  const preset = { ...MODEL_PRESETS.tiny, images: [{ role: 'full' as const, size: 16 }], initSeed };
  return new LocalPolicy(createModel({ ...preset, vocabSize: tokenizer.size }), tokenizer, {
    name: `tiny-${initSeed}`,
  });
}

function solid(rgb: readonly [number, number, number]): ImagePixels {
  const data = new Float32Array(16 * 16 * 3);
  for (let p = 0; p < 256; p++) data.set(rgb, p * 3);
  return { width: 16, height: 16, channels: 3, data };
}

/** The student view: the full image (a solid colour standing for the sample's image) and the question with options. */
async function promptFor(s: BenchSample): Promise<Prompt> {
  const shade = (s.answerIndex + 1) / 5;
  const options = s.options.map((o, i) => `( ${String.fromCharCode(65 + i)} ) ${o}`).join(' ');
  return {
    id: `ignored-${s.id}`,
    images: [{ id: `img-${s.groupKey ?? s.id}`, role: 'full', pixels: solid([shade, 0.5, 1 - shade]) }],
    text: `${s.question} ${options}`,
  };
}

const samples: BenchSample[] = [
  question('v1', COLOURS, 0, { category: 'attribute' }),
  question('v2', COLOURS, 2, { category: 'attribute' }),
  question('v3', COLOURS, 1, { category: 'spatial' }),
  ...[0, 1].flatMap((shift) => [
    rotated('h1', COLOURS, 3, shift, 'single'),
    rotated('h2', COLOURS, 1, shift, 'cross'),
  ]),
];

function countsAddUp(report: Report): void {
  for (const cell of [report.overall, ...Object.values(report.categories)]) {
    expect(cell.correct + cell.wrong + cell.unanswered).toBeCloseTo(cell.questions, 9);
    expect(cell.accuracy).toBeGreaterThanOrEqual(0);
    expect(cell.accuracy).toBeLessThanOrEqual(1);
    expect(cell.ci95.lo).toBeLessThanOrEqual(cell.accuracy);
    expect(cell.ci95.hi).toBeGreaterThanOrEqual(cell.accuracy);
  }
  const perCategory = Object.values(report.categories).reduce((s, c) => s + c.questions, 0);
  expect(perCategory).toBe(report.overall.questions);
}

describe('evaluate with a real tiny model', () => {
  let dir: string;

  beforeAll(async () => {
    await selectBackend({ prefer: 'cpu' });
    dir = await mkdtemp(join(tmpdir(), 'vzero-bench-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs greedy decoding end to end; counts add up and match a rescoring of the responses', async () => {
    const policy = studentPolicy(1);
    const progress: EvaluateProgress[] = [];
    const report = await evaluate(policy, samples, {
      promptFor,
      maxTokens: 6,
      batchSize: 3,
      benchmark: 'tiny world',
      onProgress: (p) => progress.push(p),
    });
    expect(progress.map((p) => p.done)).toEqual([3, 6, 7]);
    expect(report.method).toBe('tiny-1');
    expect(report.settings).toMatchObject({ greedy: true, n: 1, temperature: 0, maxTokens: 6 });
    expect(report.overall.questions).toBe(samples.length);
    expect(report.predictions.map((p) => p.id)).toEqual(samples.map((s) => s.id));
    countsAddUp(report);
    expect(report.cyclic!.cycles).toEqual(['cycle0', 'cycle1']);
    expect(report.cyclic!.perCycle.cycle0!.overall.questions).toBe(2);
    expect(report.strict!.overall.questions).toBe(5);
    // Greedy is deterministic: the same responses again.
    const again = await evaluate(policy, samples, { promptFor, maxTokens: 6, batchSize: 7 });
    expect(again.predictions.map((p) => p.responses)).toEqual(report.predictions.map((p) => p.responses));
    policy.model.dispose();
  });

  it('samples n responses per question and aggregates them', async () => {
    const policy = studentPolicy(2);
    const report = await evaluate(policy, samples.slice(0, 3), {
      promptFor,
      greedy: false,
      n: 4,
      aggregate: 'mean',
      maxTokens: 5,
      seed: 5,
    });
    expect(report.samplesPerQuestion).toBe(4);
    for (const p of report.predictions) {
      expect(p.responses).toHaveLength(4);
      expect(p.score * 4).toBeCloseTo(p.extracted.filter((e) => e.letter === p.answer).length, 9);
    }
    countsAddUp(report);
    policy.model.dispose();
  });

  it('rejects bad options before calling the policy', async () => {
    const policy = studentPolicy(1);
    await expect(evaluate(policy, samples, { promptFor, n: 4 })).rejects.toThrow(/options\.n/);
    await expect(evaluate(policy, samples, { promptFor, batchsize: 2 } as never)).rejects.toThrow(
      UnknownKeyError,
    );
    await expect(evaluate(policy, [samples[0]!, samples[0]!], { promptFor })).rejects.toThrow(
      /samples\[1\]\.id/,
    );
    policy.model.dispose();
  });

  it('writes report and comparison files; the PNGs decode', async () => {
    const runs: Report[] = [];
    for (const seed of [1, 2, 3]) {
      const policy = studentPolicy(seed);
      runs.push(await evaluate(policy, samples, { promptFor, maxTokens: 4, benchmark: 'tiny world' }));
      policy.model.dispose();
    }
    const files = await writeReport(runs[0]!, join(dir, 'run'));
    for (const f of Object.values(files)) expect((await stat(f)).size).toBeGreaterThan(0);
    const json = JSON.parse(await readFile(files.json, 'utf8')) as Report;
    expect(json.overall).toEqual(runs[0]!.overall);
    const md = await readFile(files.markdown, 'utf8');
    expect(md).toBe(reportMarkdown(runs[0]!));
    expect(md).toContain('| **overall** | 7 |');
    expect(md).toContain('averaged %');
    const meta = await sharp(files.png).metadata();
    expect(meta.format).toBe('png');
    expect(meta.width).toBeGreaterThan(400);

    const cmp = await writeComparison(runs, join(dir, 'cmp'), { title: 'three seeds' });
    expect(await readFile(cmp.markdown, 'utf8')).toBe(comparisonMarkdown(runs, 'three seeds'));
    const svg = await readFile(cmp.svg, 'utf8');
    for (const r of runs) expect(svg).toContain(r.method);
    expect((await sharp(cmp.png).metadata()).format).toBe('png');
  });
});

describe('answers kept as they arrive', () => {
  beforeAll(async () => {
    await selectBackend({ prefer: 'cpu' });
  });

  it('hands each batch to onAnswers before the next, and a resumed run asks only the rest', async () => {
    const full = await evaluate(studentPolicy(3), samples, { promptFor, maxTokens: 6, batchSize: 3 });
    // The first run stops after its second batch (the policy fails on the third).
    const kept: { id: string; responses: readonly string[] }[] = [];
    const failing = studentPolicy(3);
    let calls = 0;
    const original = failing.sample.bind(failing);
    failing.sample = async (prompts, options) => {
      if (++calls === 3) throw new Error('the server went away');
      return original(prompts, options);
    };
    await expect(
      evaluate(failing, samples, {
        promptFor,
        maxTokens: 6,
        batchSize: 3,
        onAnswers: (a) => {
          kept.push(...a);
        },
      }),
    ).rejects.toThrow(/the server went away/);
    expect(kept.map((k) => k.id)).toEqual(samples.slice(0, 6).map((s) => s.id));
    // Resumed: only the unanswered question is asked, and the report equals the full run's.
    const asked: string[] = [];
    const resumed = studentPolicy(3);
    const sampleFn = resumed.sample.bind(resumed);
    resumed.sample = async (prompts, options) => {
      asked.push(...prompts.map((p) => p.id));
      return sampleFn(prompts, options);
    };
    const report = await evaluate(resumed, samples, {
      promptFor,
      maxTokens: 6,
      batchSize: 3,
      answered: new Map(kept.map((k) => [k.id, k.responses])),
    });
    expect(asked).toEqual([samples[6]?.id]);
    expect(report.overall).toEqual(full.overall);
    expect(report.predictions).toEqual(full.predictions);
    failing.model.dispose();
    resumed.model.dispose();
  });
});
