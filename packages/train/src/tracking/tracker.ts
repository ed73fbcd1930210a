// What a run writes next to metrics.jsonl so that people can follow it: a TensorBoard event
// file (appended as the run goes), and curves.svg/.png and metrics.csv (rewritten at every
// checkpoint and at the end). All three are derived from metrics.jsonl: a resumed run, whose
// metrics were cut back to its checkpoint, rebuilds its event file from the kept records, so
// TensorBoard shows one uninterrupted run and never a step twice.
import { readdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { toFileSystemError, writeFileAtomic } from '@vzero/core';
import { readMetrics, runDir, type RunDir } from '../run/run-dir.js';
import { curvesSvg, runPanels, writeSvgAndPng } from './curves.js';
import { isEval, isStep, metricsCsv, scalarsOf, wallTimeOf, type MetricsRecord } from './metrics.js';
import { EVENT_FILE_MARKER, EventFileWriter } from './tfevents.js';

export const CURVES_BASENAME = 'curves';
export const METRICS_CSV = 'metrics.csv';

/** The files a run's tracking writes inside its folder (event files have dated names). */
export const TRACKING_OUTPUTS = [`${CURVES_BASENAME}.svg`, `${CURVES_BASENAME}.png`, METRICS_CSV] as const;

/** TensorBoard event files directly in `root`. */
export async function eventFiles(root: string): Promise<string[]> {
  const names = await readdir(root).catch(() => [] as string[]);
  return names.filter((n) => n.startsWith(`events.out.${EVENT_FILE_MARKER}.`)).map((n) => join(root, n));
}

export class RunTracker {
  private constructor(
    private readonly run: RunDir,
    readonly events: EventFileWriter,
  ) {}

  /**
   * Starts tracking a run whose folder exists: earlier event files are replaced by one rebuilt
   * from metrics.jsonl as it is now (empty for a new run).
   */
  static async open(run: RunDir): Promise<RunTracker> {
    for (const old of await eventFiles(run.root)) {
      await rm(old, { force: true }).catch((error: unknown) => {
        throw toFileSystemError(error, old, 'replace the old TensorBoard event file');
      });
    }
    const tracker = new RunTracker(run, EventFileWriter.create(run.root));
    for (const r of await readMetrics(run)) tracker.record(r);
    return tracker;
  }

  get eventFile(): string {
    return this.events.path;
  }

  /** Adds one metrics record's numbers to the event file. */
  record(record: MetricsRecord): void {
    if (!isStep(record) && !isEval(record)) return;
    const step = record['step'];
    if (typeof step !== 'number') return;
    this.events.scalars(step, scalarsOf(record), wallTimeOf(record) ?? Date.now() / 1000);
  }

  /** Rewrites curves.svg/.png and metrics.csv from metrics.jsonl. */
  writeArtifacts(): Promise<RunArtifacts> {
    return writeRunArtifacts(this.run.root);
  }
}

export interface RunArtifacts {
  readonly svg: string;
  readonly png: string;
  readonly csv: string;
}

/** curves.svg/.png and metrics.csv of the run in `root`, from its metrics.jsonl. */
export async function writeRunArtifacts(root: string): Promise<RunArtifacts> {
  const records = await readMetrics(runDir(root));
  const label = basename(root);
  const files = await writeSvgAndPng(
    root,
    CURVES_BASENAME,
    curvesSvg(`training curves: ${label}`, runPanels(records, label)),
  );
  const csv = join(root, METRICS_CSV);
  await writeFileAtomic(csv, metricsCsv(records));
  return { ...files, csv };
}
