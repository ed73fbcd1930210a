// The demo-on-many-seeds table, from demo folders as the demo writes them.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoSeedsMarkdown, readDemoSeed } from '../scripts/demo-seeds.js';

const summary = (accuracy: number) => ({ accuracy, n: 400, unanswered: 0, categories: {} });
const diff = (mean: number, lo: number, hi: number) => ({
  mean,
  interval: { lo, hi },
  measurable: lo > 0 || hi < 0,
});
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'vzero-demo-seeds-'));
  const demos = [
    {
      seed: 100,
      before: [0.8, 0.2],
      after: [0.83, 0.27],
      change: [diff(0.03, 0.005, 0.055), diff(0.07, 0.025, 0.115)],
      cp: 0.95,
    },
    {
      seed: 102,
      before: [0.8, 0.2],
      after: [0.79, 0.18],
      change: [diff(-0.01, -0.03, 0.01), diff(-0.02, -0.06, 0.02)],
    },
  ];
  for (const d of demos) {
    const dir = join(root, `seed-${d.seed}`);
    await mkdir(join(dir, 'models', 'teacher'), { recursive: true });
    await writeFile(
      join(dir, 'demo.json'),
      JSON.stringify({
        splits: ['test', 'test-counter-prior'],
        teacher: [summary(1), summary(0.99)],
        before: d.before.map(summary),
        after: d.after.map(summary),
        change: d.change,
        negativeModes: { 'outside-downsampled': 1423, 'outside-crop': 17 },
        minutes: 12.34,
      }),
    );
    if (d.cp !== undefined)
      await writeFile(
        join(dir, 'models', 'teacher', 'accuracy.json'),
        JSON.stringify({ counterPrior: { accuracy: d.cp, n: 94 } }),
      );
  }
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('demo seeds', () => {
  it('tabulates each seed and counts the measurable changes', () => {
    const seeds = [readDemoSeed(100, join(root, 'seed-100')), readDemoSeed(102, join(root, 'seed-102'))];
    expect(seeds[0]!.teacherValCounterPrior).toBe(0.95);
    expect(seeds[1]!.teacherValCounterPrior).toBeUndefined();
    const { table, summary: line } = demoSeedsMarkdown([
      ...seeds,
      { seed: 104, stopped: 'teacher 82.5% below the bar 90.0%' },
    ]);
    expect(table).toContain(
      '| 100 | 95.0% | 80.0% -> 83.0% | +3.0 [+0.5, +5.5] | 20.0% -> 27.0% | +7.0 [+2.5, +11.5] | 1423/1440 | 12.3 |',
    );
    expect(table).toContain('| 102 | not recorded | 80.0% -> 79.0% | -1.0 [-3.0, +1.0] |');
    expect(table).toContain('| 104 | stopped: teacher 82.5% below the bar 90.0% |');
    // counter-prior: one measurably better, none worse, mean (7 - 2) / 2 = 2.5; test: mean (3 - 1) / 2 = 1.0
    expect(line).toBe(
      'Over 2 seeds: counter-prior measurably better on 1, measurably worse on 0 (mean change +2.5 points); ' +
        'test measurably better on 1, measurably worse on 0 (mean +1.0); 1 stopped before training (seed 104).',
    );
  });
});
