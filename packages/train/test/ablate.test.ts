import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { UnknownKeyError, InvalidInputError } from '@vzero/core';
import { runAblate } from '../src/ablate/run.js';
import { runAblateCommand } from '../src/commands/ablate.js';
import { ablatePreset } from '../src/ablate/presets.js';
import { loadAblateSpec } from '../src/ablate/spec.js';
import { parse } from 'yaml';
import { selectOnVal, stat, type AblateReport } from '../src/ablate/report.js';
import { makeFixture, type Fixture } from './fixture.js';

let f: Fixture;
beforeAll(async () => {
  f = await makeFixture({ train: 6, val: 4, test: 4, 'test-counter-prior': 4 });
});

describe('ablation statistics', () => {
  it('stat gives the mean and the sample standard deviation', () => {
    const s = stat([0.5, 0.7, 0.9]);
    expect(s.mean).toBeCloseTo(0.7, 12);
    expect(s.std).toBeCloseTo(0.2, 12); // sqrt((0.04 + 0 + 0.04) / 2)
    expect(stat([0.4])).toEqual({ mean: 0.4, std: 0, n: 1 });
  });

  it('selectOnVal picks the best val step, the earliest on ties, whatever the test numbers', () => {
    const p = (step: number, val: number, test: number) => ({
      step,
      seconds: step,
      val,
      test,
      counterPrior: 0,
    });
    expect(selectOnVal([p(0, 0.5, 0.9), p(10, 0.7, 0.1), p(20, 0.7, 0.8), p(30, 0.6, 1)]).step).toBe(10);
  });

  it('names unknown presets and rejects bad seed counts', async () => {
    expect(() => ablatePreset('paper-tabel')).toThrow(UnknownKeyError);
    expect(() => ablatePreset('paper-tabel')).toThrow(/did you mean "paper-table"/);
    await expect(
      runAblate({ preset: 'smoke', out: join(f.root, 'bad'), docs: join(f.root, 'bad'), seeds: 0 }, () => {}),
    ).rejects.toThrow(InvalidInputError);
  });
});

describe('vzero ablate --preset smoke, end to end on tiny real models', () => {
  it('runs every arm and seed and writes a consistent JSON and RESULTS.md', async () => {
    const out = join(f.root, 'ablate');
    const docs = join(f.root, 'docs');
    const lines: string[] = [];
    const tensors = tf.memory().numTensors;
    const result = await runAblate({ preset: 'smoke', out, docs, models: f.models, world: f.world }, (l) =>
      lines.push(l),
    );
    expect(tf.memory().numTensors).toBe(tensors);
    expect(result.json).toBe(join(docs, 'results', 'smoke.json'));
    const report = JSON.parse(await readFile(result.json, 'utf8')) as AblateReport;
    expect(report.arms.map((a) => a.arm)).toEqual([
      'base',
      'opd',
      'rand',
      'vzero',
      'vzero-g4',
      'vzero-answer',
      'vzero-self',
      'sft',
      'grpo',
    ]);
    expect(report.runs).toHaveLength(8 * 2);
    expect(report.splitSizes).toEqual({ val: 4, test: 4, 'test-counter-prior': 4 });
    for (const run of report.runs) {
      expect(run.curve.map((c) => c.step)).toEqual([0, 1, 2]);
      // Step 0 is the starting student for every arm.
      expect(run.curve[0]?.test).toBe(report.starting.student.test.accuracy);
      for (const c of run.curve)
        for (const x of [c.val, c.test, c.counterPrior]) expect(x).toBeGreaterThanOrEqual(0);
      expect(run.trainSeconds).toBeGreaterThan(0);
      expect(run.gate !== undefined).toBe(
        ['vzero', 'rand', 'vzero-g4', 'vzero-answer', 'vzero-self'].includes(run.arm),
      );
      // Per-question results are kept for the paired comparisons.
      for (const c of run.curve) expect(c.correct?.test).toMatch(/^[01]{4}$/);
    }
    // Every stated comparison is a paired difference whose interval contains its mean.
    expect(report.comparisons.map((c) => `${c.a}-${c.b}`)).toEqual([
      'vzero-base',
      'opd-base',
      'vzero-opd',
      'rand-opd',
      'vzero-rand',
      'vzero-vzero-g4',
      'vzero-answer-vzero',
      'vzero-self-vzero',
      'sft-base',
      'vzero-sft',
      'vzero-grpo',
    ]);
    for (const c of report.comparisons) {
      for (const d of [c.test.bootstrap, c.counterPrior.bootstrap, c.test.seeds, c.counterPrior.seeds]) {
        expect(d.interval.lo).toBeLessThanOrEqual(d.mean + 1e-12);
        expect(d.interval.hi).toBeGreaterThanOrEqual(d.mean - 1e-12);
        expect(d.measurable).toBe(d.interval.lo > 0 || d.interval.hi < 0);
      }
    }
    // Each arm's reported test accuracy is the mean over seeds of the val-selected points.
    for (const arm of report.arms.filter((a) => a.arm !== 'base')) {
      const chosen = report.runs.filter((r) => r.arm === arm.arm).map((r) => selectOnVal(r.curve));
      expect(arm.selected.test.n).toBe(2);
      expect(arm.selected.test.mean).toBeCloseTo(stat(chosen.map((p) => p.test)).mean, 12);
      expect(arm.selected.val.mean).toBeCloseTo(stat(chosen.map((p) => p.val)).mean, 12);
    }
    const md = await readFile(result.markdown, 'utf8');
    expect(result.markdown).toBe(join(docs, 'RESULTS.md'));
    for (const heading of [
      '## Starting models',
      '## Methods',
      '## Gate ablation',
      '## Group size',
      '## Accuracy by training step',
      '## Paired comparisons',
      '## Reading',
    ])
      expect(md).toContain(heading);
    expect(md).toContain('pnpm vzero ablate --preset smoke');
    const base = report.arms[0] as AblateReport['arms'][number];
    expect(md).toContain(`| Base (no training) | ${(base.selected.val.mean * 100).toFixed(1)} |`);
    expect(lines.some((l) => l.startsWith('run 16/16: grpo seed 1'))).toBe(true);

    // A second invocation reuses the finished runs.
    const again: string[] = [];
    await runAblate({ preset: 'smoke', out, docs, models: f.models, world: f.world, seeds: 1 }, (l) =>
      again.push(l),
    );
    expect(again.filter((l) => l.includes('reusing'))).toHaveLength(8);
  }, 180_000);

  it('--world-seed confirms on fresh worlds, and RESULTS.md lists the confirmation', async () => {
    const out = join(f.root, 'confirm');
    const docs = join(f.root, 'confirm-docs');
    const c = await runAblateCommand({ preset: 'smoke', out, docs, seeds: 1, worldSeed: 5 }, () => {});
    expect(c.json).toBe(join(docs, 'results', 'smoke-world5.json'));
    expect(c.markdown).toBe(join(docs, 'results', 'smoke-world5.md'));
    expect(c.report.preset.world.seed).toBe(5);
    expect(c.report.preset.world.pretrainSeed).toBe(6);
    expect(existsSync(join(`${out}-world5`, 'world', 'test', 'world.json'))).toBe(true);
    expect(existsSync(join(docs, 'RESULTS.md'))).toBe(false);
    const main = await runAblateCommand({ preset: 'smoke', out, docs, seeds: 1 }, () => {});
    const md = await readFile(main.markdown, 'utf8');
    expect(md).toContain('## Confirmation on a fresh world seed (5)');
    expect(md).toContain('--world-seed 5');
    await expect(runAblateCommand({ preset: 'smoke', out, docs, worldSeed: -1 }, () => {})).rejects.toThrow(
      /--world-seed/,
    );
  }, 240_000);

  it('the command builds its own world and models and keeps the report out of docs/', async () => {
    const out = join(f.root, 'cmd');
    const lines: string[] = [];
    const r = await runAblateCommand({ preset: 'smoke', out, seeds: 1 }, (l) => lines.push(l));
    expect(r.markdown).toBe(join(out, 'RESULTS.md'));
    // The resolved options and the spec as run: printed first, saved in the work folder.
    expect(lines[0]).toMatch(/^resolved config \(ablate\):\n {2}preset: smoke\n/);
    expect(parse(await readFile(join(out, 'resolved-config.yaml'), 'utf8'))).toEqual({
      preset: 'smoke',
      out,
      seeds: 1,
      docs: out,
    });
    expect(loadAblateSpec(join(out, 'spec.yaml'))).toEqual(ablatePreset('smoke'));
    expect(existsSync(join(out, 'models', 'student', 'config.json'))).toBe(true);
    expect(existsSync(join(out, 'world', 'test-counter-prior', 'manifest.jsonl'))).toBe(true);
    expect(r.report.runs).toHaveLength(8);
    expect(await readFile(r.markdown, 'utf8')).toContain(
      'Generated by `pnpm vzero ablate --preset smoke --seeds 1`',
    );
    // The saved spec runs again with --spec (finished runs reused), and the report quotes that.
    const again = await runAblateCommand({ spec: join(out, 'spec.yaml'), out, seeds: 1 }, () => {});
    expect(again.report.runs.map((x) => x.curve)).toEqual(r.report.runs.map((x) => x.curve));
    expect(await readFile(again.markdown, 'utf8')).toContain(
      `Generated by \`pnpm vzero ablate --spec ${join(out, 'spec.yaml')} --seeds 1\``,
    );
  }, 240_000);
});
