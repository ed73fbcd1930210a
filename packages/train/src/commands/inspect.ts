// `vzero inspect RUN_DIR [--step N] [--out DIR]`: the static HTML report of what the gate did
// on a recorded step of a run (recorded during training, config.inspect), written as
// DIR/index.html (default RUN_DIR/inspect-report). No model is loaded.
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { InvalidInputError, ensureWritableDir, toFileSystemError, writeFileAtomic } from '@vzero/core';
import { assertOutputsApart } from '../fs-safety.js';
import { readMetrics, runDir } from '../run-dir.js';
import { INSPECT_DIR, listInspectSteps, readInspectRecord } from '../tracking/inspect-record.js';
import { inspectHtml } from '../tracking/inspect-html.js';
import { flattenRecord } from '../tracking/metrics.js';

export interface InspectCommandOptions {
  readonly run: string;
  /** A recorded step (default: the newest). */
  readonly step?: number;
  /** Folder of index.html (default: <run>/inspect-report). */
  readonly out?: string;
}

export interface InspectResult {
  readonly html: string;
  readonly step: number;
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
  const record = await readInspectRecord(recordsDir, step);
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
  const facts: Record<string, string> = { method: record.method };
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
  const text = inspectHtml({ run: basename(resolve(o.run)), record, steps, metrics, facts });
  await ensureWritableDir(out, '--out');
  await writeFileAtomic(html, text);
  const bytes = Buffer.byteLength(text);
  log(
    `inspect: step ${step} (${record.prompts.length} prompts) -> ${html} (${(bytes / 1024).toFixed(0)} kB)`,
  );
  return { html, step, bytes };
}
