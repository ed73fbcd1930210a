// The numbers of metrics.jsonl in the shapes the trackers need: TensorBoard scalars (tag per
// number), CSV rows (one column per flattened key) and series for the curves.
import type { ScalarValue } from './tfevents.js';

export type MetricsRecord = Record<string, unknown>;

/** Whether a record is an evaluation (event "eval") rather than a training step. */
export const isEval = (r: MetricsRecord): boolean => r['event'] === 'eval';
/** A training step's record: a numeric step and no event. */
export const isStep = (r: MetricsRecord): boolean =>
  r['event'] === undefined && typeof r['step'] === 'number';

/** Dotted keys to leaf values (arrays and strings kept as leaves). */
export function flattenRecord(
  value: unknown,
  prefix = '',
  out = new Map<string, unknown>(),
): Map<string, unknown> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flattenRecord(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) {
    out.set(prefix, value);
  }
  return out;
}

/** Keys of a step record that are not metrics. */
const STEP_SKIP = new Set(['step', 'method', 'timestamp']);

/**
 * TensorBoard scalars of one record: a step's numbers under train/ (loss, gradNorm, lr, ...),
 * gate/, opd/, rollout/ and time/ (milliseconds); an evaluation's under eval/<split>/.
 */
export function scalarsOf(record: MetricsRecord): ScalarValue[] {
  const out: ScalarValue[] = [];
  if (isEval(record)) {
    const split = String(record['split'] ?? 'unknown');
    for (const [k, v] of flattenRecord(record)) {
      if (typeof v !== 'number' || k === 'step' || k === 'n') continue;
      // categories.<name>.accuracy -> eval/<split>/category/<name>
      const cat = /^categories\.(.+)\.accuracy$/.exec(k);
      if (cat) out.push({ tag: `eval/${split}/category/${cat[1]}`, value: v });
      else if (!k.startsWith('categories.')) out.push({ tag: `eval/${split}/${k}`, value: v });
    }
    return out;
  }
  for (const [k, v] of flattenRecord(record)) {
    if (typeof v !== 'number' || STEP_SKIP.has(k)) continue;
    const dot = k.indexOf('.');
    if (dot < 0) out.push({ tag: `train/${k}`, value: v });
    else out.push({ tag: `${k.slice(0, dot)}/${k.slice(dot + 1).replaceAll('.', '/')}`, value: v });
  }
  return out;
}

/** Seconds since the epoch of a record's timestamp, or undefined. */
export function wallTimeOf(record: MetricsRecord): number | undefined {
  const t = record['timestamp'];
  if (typeof t !== 'string') return undefined;
  const ms = Date.parse(t);
  return Number.isFinite(ms) ? ms / 1000 : undefined;
}

function csvCell(v: unknown): string {
  if (v === undefined || v === null) return '';
  const s =
    typeof v === 'string'
      ? v
      : typeof v === 'number' || typeof v === 'boolean'
        ? String(v)
        : JSON.stringify(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/**
 * The metrics as CSV for spreadsheets: one row per record in file order, one column per
 * flattened key (first seen first; `event`, `step`, `timestamp` lead), empty where a record
 * has no value. Steps have an empty `event`; evaluations have "eval".
 */
export function metricsCsv(records: readonly MetricsRecord[]): string {
  const flat = records.map((r) => flattenRecord(r));
  const columns = ['event', 'step', 'timestamp', 'split'];
  const seen = new Set(columns);
  // Per-question results (an evaluation's `correct`, one character per question) stay in
  // metrics.jsonl: a spreadsheet would read "0110" as a number.
  seen.add('correct');
  for (const f of flat)
    for (const k of f.keys())
      if (!seen.has(k)) {
        seen.add(k);
        columns.push(k);
      }
  const lines = [columns.map(csvCell).join(',')];
  for (const f of flat) lines.push(columns.map((c) => csvCell(f.get(c))).join(','));
  return lines.join('\n') + '\n';
}

export interface Point {
  readonly x: number;
  readonly y: number;
}

/** The points of `key` (dotted) over the training steps. */
export function stepSeries(records: readonly MetricsRecord[], key: string): Point[] {
  const out: Point[] = [];
  for (const r of records) {
    if (!isStep(r)) continue;
    const v = flattenRecord(r).get(key);
    if (typeof v === 'number' && Number.isFinite(v)) out.push({ x: r['step'] as number, y: v });
  }
  return out;
}

/** Evaluation accuracy over steps, per split (in order of first appearance). */
export function evalSeries(records: readonly MetricsRecord[]): Map<string, Point[]> {
  const out = new Map<string, Point[]>();
  for (const r of records) {
    if (!isEval(r) || typeof r['step'] !== 'number' || typeof r['accuracy'] !== 'number') continue;
    const split = String(r['split']);
    const list = out.get(split) ?? [];
    list.push({ x: r['step'], y: r['accuracy'] });
    out.set(split, list);
  }
  return out;
}
