// Where an experiment's time goes: reads the runs of an ablation work folder (or any folder of
// run folders) and splits each run's wall clock into its training stages (the per-step `time`
// record: views, rollout, teacher, gate, update), its evaluations (from the evaluation events'
// timestamps) and the rest (checkpoints, metrics, model loading between records). Nothing is run:
// the figures are those the runs recorded, under whatever load they ran.
//   pnpm exec tsx tools/bench/src/experiment-profile.ts runs/ablate/paper-table [--json FILE]
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Seconds spent per part of one run. */
export interface RunProfile {
  readonly run: string;
  readonly steps: number;
  readonly wall: number;
  /** Training stages, summed over steps (`total` excluded; `step-other` is total minus stages). */
  readonly stages: Readonly<Record<string, number>>;
  readonly evaluation: number;
  readonly evaluations: number;
  /** Wall clock not inside a recorded step or evaluation. */
  readonly other: number;
}

interface MetricsLine {
  readonly event?: string;
  readonly step?: number;
  readonly timestamp?: string;
  readonly time?: Readonly<Record<string, number>>;
}

/**
 * Profiles one run from its metrics.jsonl lines. A step's record is written when the step ends, so
 * the gap from the previous record to an evaluation event is that evaluation's time. Evaluations
 * written at the same instant as the line before them (a reused step-0 evaluation) count as zero.
 */
export function profileRun(run: string, lines: readonly MetricsLine[]): RunProfile {
  const stamped = lines.filter((l) => typeof l.timestamp === 'string');
  const times = stamped.map((l) => Date.parse(l.timestamp as string));
  const stages: Record<string, number> = {};
  let steps = 0;
  let stepTotal = 0;
  let evaluation = 0;
  let evaluations = 0;
  for (const [i, line] of stamped.entries()) {
    if (line.event === 'eval') {
      evaluations++;
      if (i > 0) evaluation += Math.max(0, (times[i]! - times[i - 1]!) / 1000);
    } else if (line.time) {
      steps++;
      for (const [k, ms] of Object.entries(line.time)) {
        if (k === 'total') stepTotal += ms / 1000;
        else stages[k] = (stages[k] ?? 0) + ms / 1000;
      }
    }
  }
  const staged = Object.values(stages).reduce((a, b) => a + b, 0);
  if (stepTotal > staged) stages['step-other'] = stepTotal - staged;
  const wall = times.length > 1 ? (Math.max(...times) - Math.min(...times)) / 1000 : 0;
  // The first record ends the first step (or is an evaluation): count that step's own time too.
  const firstStep = stamped[0]?.time?.['total'] ?? 0;
  const total = wall + firstStep / 1000;
  const inStep = Math.max(stepTotal, staged);
  return {
    run,
    steps,
    wall: total,
    stages,
    evaluation,
    evaluations,
    other: Math.max(0, total - inStep - evaluation),
  };
}

/** Sums run profiles by arm (the run folder's name without its `-seed<k>`). */
export function profileByArm(
  runs: readonly RunProfile[],
): Map<string, { runs: number; parts: Record<string, number> }> {
  const out = new Map<string, { runs: number; parts: Record<string, number> }>();
  for (const r of runs) {
    const arm = r.run.replace(/-seed\d+$/, '');
    const entry = out.get(arm) ?? { runs: 0, parts: {} };
    entry.runs++;
    for (const [k, v] of Object.entries({ ...r.stages, evaluation: r.evaluation, other: r.other })) {
      entry.parts[k] = (entry.parts[k] ?? 0) + v;
    }
    out.set(arm, entry);
  }
  return out;
}

/** A plain-text table: per arm, seconds per run and each part's share. */
export function formatProfile(runs: readonly RunProfile[]): string {
  const byArm = profileByArm(runs);
  const parts = ['views', 'rollout', 'teacher', 'gate', 'update', 'step-other', 'evaluation', 'other'];
  const rows = [['arm', 'runs', 's/run', ...parts].join(' | ')];
  const all: Record<string, number> = {};
  let allRuns = 0;
  for (const [arm, { runs: n, parts: p }] of byArm) {
    const sum = Object.values(p).reduce((a, b) => a + b, 0);
    rows.push([arm, n, (sum / n).toFixed(0), ...parts.map((k) => pct((p[k] ?? 0) / sum))].join(' | '));
    for (const [k, v] of Object.entries(p)) all[k] = (all[k] ?? 0) + v;
    allRuns += n;
  }
  const sum = Object.values(all).reduce((a, b) => a + b, 0);
  rows.push(
    [
      'all',
      allRuns,
      (sum / Math.max(1, allRuns)).toFixed(0),
      ...parts.map((k) => pct((all[k] ?? 0) / sum)),
    ].join(' | '),
  );
  rows.push(`total over runs: ${(sum / 60).toFixed(1)} min of run time`);
  return rows.join('\n');
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** Every run folder (one holding metrics.jsonl) directly under `dir` or under `dir`/runs. */
export function readRuns(dir: string): RunProfile[] {
  const root = existsSync(join(dir, 'runs')) ? join(dir, 'runs') : dir;
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, d.name, 'metrics.jsonl')))
    .map((d) => {
      const text = readFileSync(join(root, d.name, 'metrics.jsonl'), 'utf8');
      const lines = text
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as MetricsLine);
      return profileRun(d.name, lines);
    })
    .sort((a, b) => a.run.localeCompare(b.run));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2];
  if (!dir) {
    process.stderr.write('usage: tsx tools/bench/src/experiment-profile.ts WORK-FOLDER [--json FILE]\n');
    process.exit(2);
  }
  const runs = readRuns(dir);
  process.stdout.write(formatProfile(runs) + '\n');
  const json = process.argv.indexOf('--json');
  if (json > 0 && process.argv[json + 1])
    writeFileSync(process.argv[json + 1]!, JSON.stringify(runs, null, 2) + '\n');
}
