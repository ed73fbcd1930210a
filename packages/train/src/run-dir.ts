// The run folder: resolved config, metrics.jsonl, checkpoints. Nothing here silently loses
// work: an existing run is never overwritten without --resume, checkpoints are written to a
// temporary folder and renamed into place, and a resumed run drops metrics past its checkpoint
// so the log reads as one uninterrupted run.
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidInputError } from '@vzero/core';

export interface RunDir {
  readonly root: string;
  readonly metricsPath: string;
  readonly checkpointsDir: string;
}

export function runDir(root: string): RunDir {
  return { root, metricsPath: join(root, 'metrics.jsonl'), checkpointsDir: join(root, 'checkpoints') };
}

/** Creates the run folder, refusing to reuse one that holds a run unless resuming. */
export async function prepareRunDir(root: string, resolvedConfig: unknown, resume: boolean): Promise<RunDir> {
  const dir = runDir(root);
  // A folder holds a run once it has metrics or a checkpoint; a start that failed earlier does not count.
  const hasRun = (await readMetrics(dir)).length > 0 || (await latestCheckpoint(dir)) !== undefined;
  if (hasRun && !resume) {
    throw new InvalidInputError(
      'out',
      root,
      'this folder already holds a run; pass --resume to continue it or choose another --out',
    );
  }
  await mkdir(dir.checkpointsDir, { recursive: true });
  await writeFile(join(root, 'config.json'), JSON.stringify(resolvedConfig, null, 2) + '\n');
  return dir;
}

export async function appendMetrics(dir: RunDir, record: Record<string, unknown>): Promise<void> {
  await appendFile(dir.metricsPath, JSON.stringify(record) + '\n');
}

export async function readMetrics(dir: RunDir): Promise<Record<string, unknown>[]> {
  if (!existsSync(dir.metricsPath)) return [];
  const text = await readFile(dir.metricsPath, 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Keeps only metric records of steps <= step (records without a step are kept). */
export async function truncateMetrics(dir: RunDir, step: number): Promise<void> {
  const kept = (await readMetrics(dir)).filter(
    (r) => typeof r['step'] !== 'number' || (r['step'] as number) <= step,
  );
  await writeFile(dir.metricsPath, kept.map((r) => JSON.stringify(r)).join('\n') + (kept.length ? '\n' : ''));
}

export function checkpointName(step: number): string {
  return `step-${String(step).padStart(6, '0')}`;
}

/**
 * Writes a checkpoint atomically: `write(tmpDir)` fills a temporary folder which is then renamed
 * to checkpoints/step-NNNNNN; latest.json is updated last.
 */
export async function saveCheckpoint(
  dir: RunDir,
  step: number,
  write: (folder: string) => Promise<void>,
): Promise<string> {
  const name = checkpointName(step);
  const tmp = join(dir.checkpointsDir, `.tmp-${name}`);
  const final = join(dir.checkpointsDir, name);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  await write(tmp);
  await rm(final, { recursive: true, force: true });
  await rename(tmp, final);
  const latestTmp = join(dir.checkpointsDir, '.latest.json.tmp');
  await writeFile(latestTmp, JSON.stringify({ step, folder: name }) + '\n');
  await rename(latestTmp, join(dir.checkpointsDir, 'latest.json'));
  return final;
}

/** The newest complete checkpoint, or undefined when the run has none. */
export async function latestCheckpoint(dir: RunDir): Promise<{ step: number; folder: string } | undefined> {
  const latest = join(dir.checkpointsDir, 'latest.json');
  if (existsSync(latest)) {
    const { step, folder } = JSON.parse(await readFile(latest, 'utf8')) as { step: number; folder: string };
    if (existsSync(join(dir.checkpointsDir, folder)))
      return { step, folder: join(dir.checkpointsDir, folder) };
  }
  // latest.json lost: fall back to the highest complete step folder.
  if (!existsSync(dir.checkpointsDir)) return undefined;
  const steps = (await readdir(dir.checkpointsDir))
    .filter((n) => /^step-\d+$/.test(n))
    .sort()
    .reverse();
  const name = steps[0];
  return name ? { step: Number(name.slice(5)), folder: join(dir.checkpointsDir, name) } : undefined;
}
