// `vzero compare RUN_A RUN_B ... [--out DIR]`: runs side by side. A table (markdown and JSON)
// of what each run was (method, steps, key settings) and what it measured (loss and gate over
// its last steps, evaluation accuracy per split with 95% Wilson intervals), the runs' curves
// overlaid (SVG and PNG), per evaluation split a bar chart through @vzero/bench's
// writeComparison, and each run's paired difference from the first run on the questions both
// answered (a bootstrap over those questions). Reads only metrics.jsonl and config.json: no
// model is loaded.
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, join, resolve, sep } from 'node:path';
import {
  pairedBootstrap,
  wilsonInterval,
  writeComparison,
  type AccuracyCell,
  type PairedDifference,
  type Report,
} from '@vzero/bench';
import { InvalidInputError, ensureWritableDir, toFileSystemError, writeFileAtomic } from '@vzero/core';
import { z } from 'zod';
import { migrateSavedTrainConfig } from '../config.js';
import { flag } from './options.js';
import { correctRow } from '../evaluation/accuracy.js';
import { assertOutputsApart } from '../run/fs-safety.js';
import { readMetrics, runDir } from '../run/run-dir.js';
import { comparisonPanels, curvesSvg, writeSvgAndPng, COLOURS } from '../tracking/curves.js';
import { flattenRecord, isEval, isStep, type MetricsRecord } from '../tracking/metrics.js';

export const COMPARE_DEFAULTS = { out: 'runs/compare', last: 5 } as const;

/** `vzero compare <runs...>`'s options. */
export const COMPARE_OPTIONS = z.strictObject({
  out: flag(
    z.string().default(COMPARE_DEFAULTS.out),
    'where comparison.md/.json, curves.svg/.png and accuracy-<split>.* go',
    { value: 'dir' },
  ),
  last: flag(
    z.number().int().min(1).default(COMPARE_DEFAULTS.last),
    "the loss and gate columns average each run's last n steps",
    { value: 'n' },
  ),
});

export interface CompareOptions {
  readonly runs: readonly string[];
  readonly out?: string;
  /** Steps at the end of each run that the loss and gate columns average over. */
  readonly last?: number;
}

export interface EvalAt {
  readonly step: number;
  readonly accuracy: number;
  readonly n: number;
  readonly unanswered?: number;
  readonly ci95: { readonly lo: number; readonly hi: number };
  /** Per question, '1' right and '0' not, in the split's order (evaluations that recorded it). */
  readonly correct?: string;
}

/** A run's last evaluation on a split minus the first run's, paired over the same questions. */
export interface PairedToFirst {
  readonly run: string;
  readonly split: string;
  readonly difference: PairedDifference;
}

export interface RunSummary {
  readonly label: string;
  readonly dir: string;
  readonly method: string | undefined;
  /** The config keys that tell runs apart, flattened (from config.json; absent keys left out). */
  readonly settings: Record<string, unknown>;
  readonly steps: number;
  /** Seconds from the first to the last timestamped metrics line (undefined without timestamps). */
  readonly seconds?: number;
  /** Means over the last `last` steps. */
  readonly last: Record<string, number>;
  /** Per evaluation split: the first and the last evaluation. */
  readonly evals: Record<string, { readonly first: EvalAt; readonly last: EvalAt }>;
}

export interface Comparison {
  readonly runs: readonly RunSummary[];
  /** How many final steps the `last` means cover. */
  readonly lastSteps: number;
  /** Paired differences from the first run (where both evaluated the same questions). */
  readonly paired: readonly PairedToFirst[];
  readonly markdown: string;
  readonly files: Record<string, string>;
}

/** Config keys shown in the table when they differ between runs (plus method and steps always). */
const SETTING_KEYS = [
  'seed',
  'gate.preset',
  'gate.alpha',
  'gate.span',
  'views.negative',
  'rollout.n',
  'loss.estimator',
  'loss.mode',
  'loss.aggregation',
  'optim.lr',
  'optim.promptsPerStep',
  'models.student',
  'models.teacher',
  'data.dir',
];

/** Step metrics summarised per run (means over the last steps). */
const SUMMARY_KEYS: readonly { readonly key: string; readonly label: string; readonly digits: number }[] = [
  { key: 'loss', label: 'loss', digits: 4 },
  { key: 'gradNorm', label: 'grad norm', digits: 3 },
  { key: 'gate.weightStd', label: 'gate w std', digits: 3 },
  { key: 'gate.fractionDeltaPositive', label: 'delta > 0', digits: 3 },
  { key: 'gate.deltaMean', label: 'mean delta', digits: 4 },
  { key: 'reward', label: 'reward', digits: 3 },
];

/** Short distinct labels: folder names, with parents added where two runs share a name. */
export function runLabels(dirs: readonly string[]): string[] {
  const parts = dirs.map((d) => resolve(d).split(sep).filter(Boolean));
  for (let depth = 1; depth <= Math.max(...parts.map((p) => p.length)); depth++) {
    const labels = parts.map((p) => p.slice(-depth).join('/'));
    if (new Set(labels).size === labels.length) return labels;
  }
  return dirs.map((d, i) => `${basename(d)}#${i + 1}`);
}

async function readRun(
  dir: string,
  label: string,
  lastN: number,
): Promise<{ summary: RunSummary; records: MetricsRecord[] }> {
  const s = await stat(dir).catch(() => undefined);
  if (!s?.isDirectory()) throw new InvalidInputError('RUN', dir, 'is not a folder');
  const metricsPath = join(dir, 'metrics.jsonl');
  if (!existsSync(metricsPath))
    throw new InvalidInputError(
      'RUN',
      dir,
      'has no metrics.jsonl: not a run folder (vzero train --set out=...)',
    );
  const records = await readMetrics(runDir(dir));
  let config: unknown = {};
  const configPath = join(dir, 'config.json');
  if (existsSync(configPath)) {
    try {
      config = JSON.parse(await readFile(configPath, 'utf8')) as unknown;
    } catch (error) {
      throw isSyntax(error)
        ? new InvalidInputError('RUN', configPath, `config.json is not JSON (${error.message})`)
        : toFileSystemError(error, configPath, 'read the run config');
    }
  }
  // An older run's views.randomPositive is shown as the negative mode it meant.
  const flat = flattenRecord(migrateSavedTrainConfig(config).config);
  const settings: Record<string, unknown> = {};
  for (const k of SETTING_KEYS) if (flat.has(k)) settings[k] = flat.get(k);

  const steps = records.filter(isStep);
  const tail = steps.slice(-lastN);
  const last: Record<string, number> = {};
  for (const { key } of SUMMARY_KEYS) {
    const values = tail
      .map((r) => flattenRecord(r).get(key))
      .filter((v): v is number => typeof v === 'number');
    if (values.length > 0) last[key] = values.reduce((a, b) => a + b, 0) / values.length;
  }
  const evals: Record<string, { first: EvalAt; last: EvalAt }> = {};
  for (const r of records.filter(isEval)) {
    const split = String(r['split']);
    const at = evalAt(r);
    if (!at) continue;
    const cur = evals[split];
    evals[split] = { first: cur?.first ?? at, last: at };
  }
  const times = records
    .map((r) => r['timestamp'])
    .filter((t): t is string => typeof t === 'string')
    .map(Date.parse)
    .filter(Number.isFinite);
  const method =
    typeof flat.get('method') === 'string'
      ? (flat.get('method') as string)
      : (steps[0]?.['method'] as string | undefined);
  return {
    records,
    summary: {
      label,
      dir,
      method,
      settings,
      steps: steps.length > 0 ? Math.max(...steps.map((r) => r['step'] as number)) : 0,
      ...(times.length > 1 ? { seconds: (Math.max(...times) - Math.min(...times)) / 1000 } : {}),
      last,
      evals,
    },
  };
}

function isSyntax(error: unknown): error is SyntaxError {
  return error instanceof SyntaxError;
}

function evalAt(r: MetricsRecord): EvalAt | undefined {
  const { step, accuracy, n, unanswered, correct } = r as {
    step?: unknown;
    accuracy?: unknown;
    n?: unknown;
    unanswered?: unknown;
    correct?: unknown;
  };
  if (typeof step !== 'number' || typeof accuracy !== 'number' || typeof n !== 'number') return undefined;
  return {
    step,
    accuracy,
    n,
    ...(typeof unanswered === 'number' ? { unanswered } : {}),
    ...(typeof correct === 'string' && correct.length === n ? { correct } : {}),
    ci95: wilsonInterval(Math.round(accuracy * n), n),
  };
}

const pct = (x: number) => (100 * x).toFixed(1);
const cellOf = (v: unknown) => (v === undefined ? '–' : typeof v === 'string' ? v : JSON.stringify(v));
const escapeCell = (s: string) => s.replaceAll('|', '\\|');

/**
 * Each run's last evaluation minus the first run's, per split, paired over questions: only where
 * both recorded per-question results on the same questions (the same data.dir, split and count;
 * evaluation takes a split's questions in file order, so these fix the questions).
 */
export function pairedToFirst(runs: readonly RunSummary[]): PairedToFirst[] {
  const [first, ...rest] = runs;
  if (!first) return [];
  const out: PairedToFirst[] = [];
  for (const run of rest) {
    if (JSON.stringify(run.settings['data.dir']) !== JSON.stringify(first.settings['data.dir'])) continue;
    for (const [split, e] of Object.entries(run.evals)) {
      const a = e.last.correct;
      const b = first.evals[split]?.last.correct;
      if (a === undefined || b === undefined || a.length !== b.length) continue;
      out.push({
        run: run.label,
        split,
        difference: pairedBootstrap([correctRow(a)], [correctRow(b)], { replicates: 2000, seed: 0 }),
      });
    }
  }
  return out;
}

export function comparisonMarkdown(
  runs: readonly RunSummary[],
  lastSteps: number,
  paired: readonly PairedToFirst[] = [],
): string {
  const lines = ['# Run comparison', ''];
  const head = (cols: string[]) => {
    lines.push(
      `| ${cols.map(escapeCell).join(' | ')} |`,
      `|${cols.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    );
  };
  // What the runs were: method, steps, and the settings in which they differ.
  const differing = SETTING_KEYS.filter(
    (k) => new Set(runs.map((r) => JSON.stringify(r.settings[k]))).size > 1,
  );
  head(['run', 'method', 'steps', 'minutes', ...differing]);
  for (const r of runs) {
    lines.push(
      `| ${[
        r.label,
        r.method ?? '–',
        String(r.steps),
        r.seconds === undefined ? '–' : (r.seconds / 60).toFixed(1),
        ...differing.map((k) => cellOf(r.settings[k])),
      ]
        .map(escapeCell)
        .join(' | ')} |`,
    );
  }
  const keys = SUMMARY_KEYS.filter((s) => runs.some((r) => r.last[s.key] !== undefined));
  if (keys.length > 0) {
    lines.push('', `Training, mean over each run's last ${lastSteps} steps:`, '');
    head(['run', ...keys.map((k) => k.label)]);
    for (const r of runs) {
      const v = keys.map((k) =>
        r.last[k.key] === undefined ? '–' : (r.last[k.key] as number).toFixed(k.digits),
      );
      lines.push(`| ${[r.label, ...v].map(escapeCell).join(' | ')} |`);
    }
  }
  const splits = [...new Set(runs.flatMap((r) => Object.keys(r.evals)))];
  if (splits.length > 0) {
    lines.push(
      '',
      'Evaluation accuracy, first -> last evaluation (95% Wilson interval of the last, n questions):',
      '',
    );
    head(['run', ...splits]);
    for (const r of runs) {
      const cells = splits.map((s) => {
        const e = r.evals[s];
        if (!e) return '–';
        return `${pct(e.first.accuracy)}% (step ${e.first.step}) -> **${pct(e.last.accuracy)}%** (step ${e.last.step}; ${pct(e.last.ci95.lo)}–${pct(e.last.ci95.hi)}, n=${e.last.n})`;
      });
      lines.push(`| ${[r.label, ...cells].map(escapeCell).join(' | ')} |`);
    }
  }
  if (paired.length > 0) {
    const pairedSplits = [...new Set(paired.map((p) => p.split))];
    lines.push(
      '',
      `Paired difference from ${runs[0]?.label} at the last evaluations, on the same questions (points; 95% bootstrap interval over the questions; * where it excludes 0):`,
      '',
    );
    head(['run', ...pairedSplits]);
    for (const r of runs.slice(1)) {
      const cells = pairedSplits.map((s) => {
        const d = paired.find((p) => p.run === r.label && p.split === s)?.difference;
        if (!d) return '–';
        const signed = (x: number) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}`;
        return `${signed(d.mean)} [${signed(d.interval.lo)}, ${signed(d.interval.hi)}]${d.measurable ? ' *' : ''}`;
      });
      lines.push(`| ${[r.label, ...cells].map(escapeCell).join(' | ')} |`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** A bench Report of a run's last evaluation on a split (overall only: metrics hold no per-question data). */
function reportOf(run: RunSummary, split: string): Report | undefined {
  const e = run.evals[split]?.last;
  if (!e) return undefined;
  const correct = Math.round(e.accuracy * e.n);
  const unanswered = e.unanswered ?? 0;
  const overall: AccuracyCell = {
    questions: e.n,
    correct,
    wrong: Math.max(0, e.n - correct - unanswered),
    unanswered,
    accuracy: e.accuracy,
    ci95: e.ci95,
  };
  return {
    benchmark: split,
    method: run.label,
    overall,
    categories: {},
    aggregate: 'majority',
    samplesPerQuestion: 1,
    predictions: [],
    settings: { greedy: true, n: 1, temperature: 0, topP: 1, topK: 0, maxTokens: 0, seed: 0 },
    createdAt: new Date().toISOString(),
    seconds: 0,
  };
}

export async function runCompare(
  o: CompareOptions,
  log: (line: string) => void = () => {},
): Promise<Comparison> {
  if (o.runs.length < 2) throw new InvalidInputError('RUN', o.runs, 'compare needs at least two run folders');
  const lastSteps = o.last ?? COMPARE_DEFAULTS.last;
  if (!Number.isInteger(lastSteps) || lastSteps < 1)
    throw new InvalidInputError('--last', lastSteps, 'must be an integer >= 1');
  const out = o.out ?? COMPARE_DEFAULTS.out;
  const labels = runLabels(o.runs);
  const names = ['comparison.md', 'comparison.json', 'curves.svg', 'curves.png'];
  // Every check before the first write: the outputs may not touch a run they read.
  await assertOutputsApart(
    [
      { field: '--out', path: out, container: true },
      ...names.map((n) => ({ field: '--out', path: join(out, n) })),
    ],
    o.runs.map((r) => ({ field: 'RUN', path: r })),
  );
  const read = [];
  for (let i = 0; i < o.runs.length; i++) {
    const r = await readRun(o.runs[i] as string, labels[i] as string, lastSteps);
    log(
      `compare: ${r.summary.label}: ${r.summary.method ?? '?'} ${r.summary.steps} steps, ${r.records.length} metrics lines`,
    );
    read.push(r);
  }
  const runs = read.map((r) => r.summary);
  await ensureWritableDir(out, '--out');
  const paired = pairedToFirst(runs);
  const markdown = comparisonMarkdown(runs, lastSteps, paired);
  const files: Record<string, string> = {
    markdown: join(out, 'comparison.md'),
    json: join(out, 'comparison.json'),
  };
  await writeFileAtomic(files['markdown'] as string, markdown);
  await writeFileAtomic(files['json'] as string, JSON.stringify({ lastSteps, runs, paired }, null, 2) + '\n');
  const curves = await writeSvgAndPng(
    out,
    'curves',
    curvesSvg(
      'training curves compared',
      comparisonPanels(read.map((r) => ({ label: r.summary.label, records: r.records }))),
      runs.map((r, i) => ({ label: r.label, points: [], colour: COLOURS[i % COLOURS.length] as string })),
    ),
  );
  files['curvesSvg'] = curves.svg;
  files['curvesPng'] = curves.png;
  const splits = [...new Set(runs.flatMap((r) => Object.keys(r.evals)))];
  for (const split of splits) {
    const reports = runs.map((r) => reportOf(r, split)).filter((r): r is Report => r !== undefined);
    const base = `accuracy-${split.replace(/[^A-Za-z0-9._-]/g, '_')}`;
    const written = await writeComparison(reports, out, {
      title: `accuracy on ${split} at each run's last evaluation`,
      basename: base,
    });
    files[`accuracy:${split}`] = written.png;
  }
  log(`compare: ${runs.length} runs -> ${out}`);
  return { runs, lastSteps, paired, markdown, files };
}
