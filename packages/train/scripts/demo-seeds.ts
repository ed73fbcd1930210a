// The demo on many seeds: runs `vzero demo --seed k` for each seed, one after another, each in a
// work folder of its own (reused when it is there), then writes one table of all of them from each
// demo's demo.json and its teacher's recorded val accuracy against the prior (the bar the demo
// holds it to). Seeds must be ones no development run used.
//   node --import tsx packages/train/scripts/demo-seeds.ts --seeds 100,102,104 --out runs/demo-seeds \
//     --md docs/results/demo-seeds.md
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatDifference } from '../src/ablate/markdown.js';
import type { EvalSummary } from '../src/evaluation/accuracy.js';

interface Difference {
  readonly mean: number;
  readonly interval: { readonly lo: number; readonly hi: number };
  readonly measurable: boolean;
}

/** What one seed's demo left: its demo.json, and the teacher's val accuracy against the prior. */
export interface DemoSeed {
  readonly seed: number;
  readonly teacher: readonly EvalSummary[];
  readonly before: readonly EvalSummary[];
  readonly after: readonly EvalSummary[];
  /** After minus before, per split (test, test-counter-prior). */
  readonly change: readonly Difference[];
  readonly negativeModes: Readonly<Record<string, number>>;
  readonly minutes: number;
  readonly teacherValCounterPrior?: number;
}

/** A seed whose demo stopped (e.g. its starting teacher stayed below the bar): its last error line. */
export interface StoppedSeed {
  readonly seed: number;
  readonly stopped: string;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** The markdown table of the seeds, and a one-line summary of them. */
export function demoSeedsMarkdown(all: readonly (DemoSeed | StoppedSeed)[]): {
  table: string;
  summary: string;
} {
  const seeds = all.filter((d): d is DemoSeed => !('stopped' in d));
  const stopped = all.filter((d): d is StoppedSeed => 'stopped' in d);
  const rows = all.map((d) => {
    if ('stopped' in d)
      return [String(d.seed), `stopped: ${d.stopped.replace(/\|/g, '/')}`, '', '', '', '', '', ''];
    const total = Object.values(d.negativeModes).reduce((a, b) => a + b, 0);
    const paper = d.negativeModes['outside-downsampled'] ?? 0;
    return [
      String(d.seed),
      d.teacherValCounterPrior === undefined ? 'not recorded' : pct(d.teacherValCounterPrior),
      `${pct(d.before[0]!.accuracy)} -> ${pct(d.after[0]!.accuracy)}`,
      formatDifference(d.change[0] as never),
      `${pct(d.before[1]!.accuracy)} -> ${pct(d.after[1]!.accuracy)}`,
      formatDifference(d.change[1] as never),
      total > 0 ? `${paper}/${total}` : '-',
      d.minutes.toFixed(1),
    ];
  });
  const table = [
    '| seed | teacher, val against the prior | student test | test change | student counter-prior | counter-prior change | paper negatives | min |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
  const better = (i: number) => seeds.filter((d) => d.change[i]!.measurable && d.change[i]!.mean > 0).length;
  const worse = (i: number) => seeds.filter((d) => d.change[i]!.measurable && d.change[i]!.mean < 0).length;
  const mean = (i: number) =>
    (100 * seeds.reduce((a, d) => a + d.change[i]!.mean, 0)) / Math.max(1, seeds.length);
  const summary =
    `Over ${seeds.length} seeds: counter-prior measurably better on ${better(1)}, measurably worse on ${worse(1)} ` +
    `(mean change ${mean(1) >= 0 ? '+' : ''}${mean(1).toFixed(1)} points); test measurably better on ${better(0)}, ` +
    `measurably worse on ${worse(0)} (mean ${mean(0) >= 0 ? '+' : ''}${mean(0).toFixed(1)})` +
    (stopped.length > 0
      ? `; ${stopped.length} stopped before training (seed ${stopped.map((d) => d.seed).join(', ')}).`
      : '.');
  return { table, summary };
}

/** Reads one seed's demo folder. */
export function readDemoSeed(seed: number, dir: string): DemoSeed {
  const demo = JSON.parse(readFileSync(join(dir, 'demo.json'), 'utf8')) as Omit<DemoSeed, 'seed'>;
  const accuracyFile = join(dir, 'models', 'teacher', 'accuracy.json');
  const recorded = existsSync(accuracyFile)
    ? (JSON.parse(readFileSync(accuracyFile, 'utf8')) as { counterPrior?: { accuracy: number } })
    : {};
  return {
    ...demo,
    seed,
    ...(recorded.counterPrior ? { teacherValCounterPrior: recorded.counterPrior.accuracy } : {}),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { seeds: { type: 'string' }, out: { type: 'string' }, md: { type: 'string' } },
  });
  const seeds = (values.seeds ?? '')
    .split(',')
    .filter((s) => s !== '')
    .map(Number);
  if (seeds.length === 0 || seeds.some((s) => !Number.isInteger(s) || s < 0)) {
    process.stderr.write(`--seeds: expected a comma-separated list of seeds, got "${values.seeds ?? ''}"\n`);
    process.exit(2);
  }
  const out = values.out ?? 'runs/demo-seeds';
  const bin = fileURLToPath(new URL('../src/bin.ts', import.meta.url));
  const results: (DemoSeed | StoppedSeed)[] = [];
  for (const seed of seeds) {
    const dir = join(out, `seed-${seed}`);
    if (!existsSync(join(dir, 'demo.json'))) {
      mkdirSync(dir, { recursive: true });
      const logFile = join(dir, 'demo.log');
      process.stderr.write(`demo seed ${seed} -> ${dir} (log ${logFile})\n`);
      const log = openSync(logFile, 'w');
      const r = spawnSync(
        process.execPath,
        ['--import', 'tsx', bin, 'demo', '--seed', String(seed), '--out', dir],
        {
          stdio: ['ignore', log, log],
        },
      );
      closeSync(log);
      if (r.status !== 0) {
        const lines = readFileSync(logFile, 'utf8').trim().split('\n');
        const reason = lines.reverse().find((l) => /error|below|stopp/i.test(l)) ?? `exit ${r.status}`;
        process.stderr.write(`demo seed ${seed} stopped: ${reason}\n`);
        results.push({ seed, stopped: reason.trim() });
        continue;
      }
    }
    results.push(readDemoSeed(seed, dir));
  }
  const { table, summary } = demoSeedsMarkdown(results);
  const text = `${table}\n\n${summary}\n`;
  if (values.md) writeFileSync(values.md, text);
  process.stdout.write(text);
}
