// `vzero inspect RUN_DIR [--step N] [--out DIR]`: the static HTML report of what the gate did
// on the recorded steps of a run (recorded during training, config.inspect), all on one page
// that opens at step N (default: the newest), written as DIR/index.html (default
// RUN_DIR/inspect-report). No model is loaded. Whether each response was right comes from the
// labels of the run's training split (data.dir, data.split of its config.json), read here,
// after training; without them the page says why and leaves that column out.
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { InvalidInputError, ensureWritableDir, toFileSystemError, writeFileAtomic } from '@vzero/core';
import { assertOutputsApart } from '../run/fs-safety.js';
import { readMetrics, runDir } from '../run/run-dir.js';
import { INSPECT_DIR, listInspectSteps, readInspectRecord } from '../tracking/inspect-record.js';
import { inspectHtml } from '../tracking/inspect-html.js';
import { readAnswerKey } from '../tracking/inspect-stats.js';
import { flattenRecord } from '../tracking/metrics.js';
import { z } from 'zod';
import { flag } from './options.js';

/** `vzero inspect <run>`'s options. */
export const INSPECT_OPTIONS = z.strictObject({
  step: flag(
    z.number().int().min(1).optional(),
    'the recorded step the page opens at (default: the newest)',
    {
      value: 'n',
    },
  ),
  out: flag(z.string().optional(), 'folder of index.html (default: <run>/inspect-report)', { value: 'dir' }),
});

export interface InspectCommandOptions {
  readonly run: string;
  /** The recorded step the page opens at (default: the newest). */
  readonly step?: number;
  /** Folder of index.html (default: <run>/inspect-report). */
  readonly out?: string;
  /** Dataset folder whose labels say what is right (default: the run's data.dir). */
  readonly data?: string;
}

export interface InspectResult {
  readonly html: string;
  /** The step the page opens at. */
  readonly step: number;
  /** Every recorded step on the page. */
  readonly steps: readonly number[];
  /** The labels file read for right/wrong, or null (then `labelsMissing` says why). */
  readonly labels: string | null;
  readonly labelsMissing?: string;
  readonly bytes: number;
}

export async function runInspect(
  o: InspectCommandOptions,
  log: (line: string) => void = () => {},
): Promise<InspectResult> {
  const s = await stat(o.run).catch(() => undefined);
  if (!s?.isDirectory()) throw new InvalidInputError('RUN_DIR', o.run, 'is not a folder');
  const recordsDir = join(o.run, INSPECT_DIR);
  const steps = await listInspectSteps(recordsDir);
  if (steps.length === 0) {
    throw new InvalidInputError(
      'RUN_DIR',
      o.run,
      `has no recorded steps in ${INSPECT_DIR}/: V-Zero and OPD runs record them every inspect.every steps (set inspect.every > 0 and train again)`,
    );
  }
  const step = o.step ?? (steps.at(-1) as number);
  if (!steps.includes(step))
    throw new InvalidInputError('--step', step, `was not recorded; recorded steps: ${steps.join(', ')}`);
  const out = o.out ?? join(o.run, 'inspect-report');
  const html = join(out, 'index.html');
  // The report may go inside the run folder, never onto what it reads.
  await assertOutputsApart(
    [
      { field: '--out', path: out, container: true },
      { field: '--out', path: html },
    ],
    [
      { field: 'RUN_DIR', path: recordsDir },
      { field: 'RUN_DIR', path: join(o.run, 'metrics.jsonl') },
      { field: 'RUN_DIR', path: join(o.run, 'config.json') },
    ],
  );
  const records = [];
  for (const s of steps) records.push(await readInspectRecord(recordsDir, s));
  const metrics = await readMetrics(runDir(o.run));
  let config: Map<string, unknown> = new Map();
  const configPath = join(o.run, 'config.json');
  if (existsSync(configPath)) {
    try {
      config = flattenRecord(JSON.parse(await readFile(configPath, 'utf8')) as unknown);
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw toFileSystemError(error, configPath, 'read the run config');
    }
  }
  const facts: Record<string, string> = { method: (records.at(-1) as (typeof records)[number]).method };
  for (const [key, label] of [
    ['gate.preset', 'gate preset'],
    ['gate.alpha', 'alpha'],
    ['gate.span', 'gate span'],
    ['views.negative', 'negative view'],
    ['rollout.n', 'G'],
    ['seed', 'seed'],
  ] as const) {
    const v = config.get(key);
    if (v !== undefined) facts[label] = String(v);
  }
  const dataDir = o.data ?? config.get('data.dir');
  const split = config.get('data.split');
  const answers = await readAnswerKey(
    typeof dataDir === 'string' ? dataDir : undefined,
    typeof split === 'string' ? split : undefined,
  );
  const text = inspectHtml({
    run: basename(resolve(o.run)),
    records,
    openStep: step,
    metrics,
    facts,
    answers,
  });
  await ensureWritableDir(out, '--out');
  await writeFileAtomic(html, text);
  const bytes = Buffer.byteLength(text);
  const labels = 'source' in answers ? answers.source : null;
  if (!labels) log(`inspect: no right/wrong column: ${'reason' in answers ? answers.reason : ''}`);
  log(
    `inspect: ${steps.length} recorded steps (${steps.join(', ')}), opening at step ${step} -> ${html} (${(bytes / 1024).toFixed(0)} kB)`,
  );
  return {
    html,
    step,
    steps,
    labels,
    ...('reason' in answers ? { labelsMissing: answers.reason } : {}),
    bytes,
  };
}
