import { beforeAll, describe, expect, it } from 'vitest';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { parseTrainConfig } from '../src/config.js';
import { splitEvaluator } from '../src/commands/train.js';
import { runLabels, type RunSummary } from '../src/commands/compare.js';
import { train } from '../src/trainer.js';
import { makeFixture, tinyConfig, type Fixture } from './fixture.js';
import { run } from './cli-run.js';
import { formatNumber } from '../src/tracking/curves.js';

let f: Fixture;
let a: string;
let b: string;

beforeAll(async () => {
  f = await makeFixture({ train: 6, val: 4 });
  a = join(f.root, 'runs', 'vzero-a');
  b = join(f.root, 'runs', 'opd-b');
  for (const [out, overrides] of [
    [a, { method: 'vzero', gate: { preset: 'paper' } }],
    [b, { method: 'opd', steps: 2 }],
  ] as const) {
    const config = parseTrainConfig(
      tinyConfig(f, out, { ...overrides, eval: { splits: ['val'], limit: 3 } }),
    );
    const result = await train(config, { hooks: { evaluate: splitEvaluator(config) } });
    result.student.model.dispose();
  }
});

describe('vzero compare on two tiny real runs', () => {
  it('writes a markdown and JSON table, overlaid curves and an accuracy chart per split', async () => {
    const out = join(f.root, 'cmp');
    const r = await run(['compare', a, b, '--out', out, '--last', '2']);
    expect(r.err).not.toMatch(/error/);
    expect(r.code).toBe(0);
    const md = await readFile(join(out, 'comparison.md'), 'utf8');
    expect(r.out).toBe(md);
    expect(md).toContain('| run | method | steps | minutes | gate.preset |');
    expect(md).toMatch(/\| vzero-a \| vzero \| 3 \| [\d.]+ \| paper \|/);
    expect(md).toMatch(/\| opd-b \| opd \| 2 \| [\d.]+ \| reference \|/);
    expect(md).toContain("mean over each run's last 2 steps");

    const json = JSON.parse(await readFile(join(out, 'comparison.json'), 'utf8')) as {
      lastSteps: number;
      runs: RunSummary[];
    };
    expect(json.lastSteps).toBe(2);
    const [ra, rb] = json.runs;
    expect(ra?.steps).toBe(3);
    expect(rb?.steps).toBe(2);
    // The loss column is the mean of the run's last two step losses in its metrics.jsonl.
    const lines = (await readFile(join(a, 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const losses = lines.filter((l) => l['event'] === undefined).map((l) => l['loss'] as number);
    expect(ra?.last['loss']).toBeCloseTo(((losses[1] as number) + (losses[2] as number)) / 2, 10);
    expect(ra?.last['gate.weightStd']).toBeGreaterThanOrEqual(0);
    expect(rb?.last['gate.weightStd']).toBeUndefined(); // OPD has no gate
    expect(ra?.evals['val']?.first.step).toBe(0);
    expect(ra?.evals['val']?.last.step).toBe(3);
    expect(rb?.evals['val']?.last.step).toBe(2);
    expect(ra?.evals['val']?.last.n).toBe(3);
    expect(md).toContain(
      `-> **${((ra?.evals['val']?.last.accuracy as number) * 100).toFixed(1)}%** (step 3;`,
    );
    // Both evaluated the same 3 val questions: opd-b minus vzero-a, paired over them. The
    // bootstrap's mean is the observed difference; by hand from the per-question results.
    const { paired } = JSON.parse(await readFile(join(out, 'comparison.json'), 'utf8')) as {
      paired: {
        run: string;
        split: string;
        difference: { mean: number; interval: { lo: number; hi: number } };
      }[];
    };
    const ca = ra?.evals['val']?.last.correct as string;
    const cb = rb?.evals['val']?.last.correct as string;
    expect(ca).toMatch(/^[01]{3}$/);
    const ones = (c: string) => [...c].filter((x) => x === '1').length;
    expect(paired).toHaveLength(1);
    expect(paired[0]).toMatchObject({ run: 'opd-b', split: 'val' });
    expect(paired[0]?.difference.mean).toBeCloseTo((ones(cb) - ones(ca)) / 3, 12);
    expect(paired[0]?.difference.interval.lo).toBeLessThanOrEqual(paired[0]?.difference.mean as number);
    expect(md).toContain('Paired difference from vzero-a at the last evaluations, on the same questions');
    expect(md).toMatch(/\| opd-b \| [+-]\d+\.\d \[[+-]\d+\.\d, [+-]\d+\.\d\]/);
    // The CSV leaves the per-question string out.
    expect(await readFile(join(a, 'metrics.csv'), 'utf8')).not.toMatch(/\bcorrect\b/);

    const svg = await readFile(join(out, 'curves.svg'), 'utf8');
    expect(svg).toContain('vzero-a');
    expect(svg).toContain('opd-b');
    expect(svg).toContain('data-title="gate: weight std"');
    // Each run evaluated at its first and last step: a panel of their own, unless every one of
    // those accuracies is the same, which a line under the figure then names.
    const points = [ra, rb].flatMap((x) => [x?.evals['val']?.first.accuracy, x?.evals['val']?.last.accuracy]);
    if (points.every((p) => p === points[0]))
      expect(svg).toContain(`evaluation accuracy: val ${formatNumber((points[0] as number) * 100)}%`);
    else expect(svg).toContain('data-title="evaluation accuracy: val"');
    // Two runs overlaid: the loss panel has a line of each colour, raw (faint) and smoothed.
    const lossPanel = svg.slice(
      svg.indexOf('data-title="loss"'),
      svg.indexOf('</g>', svg.indexOf('data-title="loss"')),
    );
    expect(lossPanel.match(/<polyline class="raw"/g)).toHaveLength(2);
    expect(lossPanel.match(/<polyline class="smoothed"/g)).toHaveLength(2);
    expect((await sharp(join(out, 'curves.png')).metadata()).format).toBe('png');
    const bars = JSON.parse(await readFile(join(out, 'accuracy-val.json'), 'utf8')) as {
      runs: { method: string; overall: { questions: number } }[];
    };
    expect(bars.runs.map((x) => x.method)).toEqual(['vzero-a', 'opd-b']);
    expect(bars.runs[0]?.overall.questions).toBe(3);
    expect((await sharp(join(out, 'accuracy-val.png')).metadata()).width).toBeGreaterThan(300);
  });

  it('names the folder that is not a run, refuses one run, and will not write into a run', async () => {
    const empty = join(f.root, 'not-a-run');
    await mkdir(empty, { recursive: true });
    let r = await run(['compare', a, empty, '--out', join(f.root, 'cmp2')]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`RUN = "${empty}": has no metrics.jsonl`);
    r = await run(['compare', a, '--out', join(f.root, 'cmp3')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/at least two run folders/);
    r = await run(['compare', a, b, '--out', a]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/--out = .*it is RUN/);
    r = await run(['compare', a, b, '--last', '0']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/--last must be >= 1/);
  });

  it('labels runs by folder name, adding parents only where names clash', () => {
    expect(runLabels(['/x/a', '/y/b'])).toEqual(['a', 'b']);
    expect(runLabels(['/x/seed0/run', '/x/seed1/run'])).toEqual(['seed0/run', 'seed1/run']);
  });
});

describe('vzero --version', () => {
  it('prints the version of @vzero/train', async () => {
    const pkg = JSON.parse(await readFile(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as {
      version: string;
    };
    const r = await run(['--version']);
    expect(r.code).toBe(0);
    expect(r.out.trim()).toBe(pkg.version);
  });
});
