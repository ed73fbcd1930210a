// The run folder: resolved config, metrics.jsonl, checkpoints. Nothing here silently loses
// work: an existing run is never overwritten without --resume, a resume with a different config
// is refused unless allowed (and the change is recorded), the run never writes into a folder
// it reads from, checkpoints are written to a temporary folder with a manifest of SHA-256
// checksums and renamed into place, old ones are pruned to the newest K and the best, and a
// resumed run drops metrics past its checkpoint so the log reads as one uninterrupted run.
import { existsSync } from 'node:fs';
import { appendFile, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { InvalidInputError, ensureWritableDir, toFileSystemError, writeFileAtomic } from '@vzero/core';
import { sha256 } from '@vzero/model';
import { migrateSavedTrainConfig, withTrainDefaults } from '../config.js';
import { assertOutputsApart, type PathUse } from './fs-safety.js';
import { methodNeedsTeacher } from '../methods/index.js';
import { acquireRunLock, type RunLock } from './run-lock.js';

export { RUN_LOCK_FILE, RunLockedError, acquireRunLock, type LockHolder, type RunLock } from './run-lock.js';

export const CHECKPOINT_MANIFEST = 'manifest.json';
export const CONFIG_CHANGES_FILE = 'config-changes.jsonl';

/** Which checkpoints survive pruning: the newest `keep` (0 = all) and the best by `best`. */
export interface Retention {
  readonly keep: number;
  readonly best: 'loss' | 'accuracy' | 'none';
  /** The eval split whose accuracy `best: 'accuracy'` reads. */
  readonly split?: string;
}

export interface RunDir {
  readonly root: string;
  readonly metricsPath: string;
  readonly checkpointsDir: string;
  readonly retention?: Retention;
  /** This process's hold on the folder (prepareRunDir with `lock`); release it when the run ends. */
  readonly lock?: RunLock;
}

export interface ResumeOptions {
  /** Resume although the config differs from the run's (the difference is recorded). */
  readonly allowConfigChange?: boolean;
  readonly log?: (line: string) => void;
}

export interface PrepareOptions {
  /**
   * Take the folder's run.lock (named after `command`) before looking at it, so that a second
   * process given the same folder stops instead of mixing two runs; released on a failure here,
   * else by the caller through RunDir.lock.
   */
  readonly lock?: { readonly command?: string; readonly log?: (line: string) => void };
}

/**
 * Config keys a resume may change freely: they do not alter what a step computes (`out` differs
 * when a run folder was moved or copied).
 */
const FREE_KEYS = new Set([
  'out',
  'steps',
  'checkpointEvery',
  'checkpointKeep',
  'checkpointBest',
  // What is recorded for `vzero inspect` (and its absence in runs from before it existed).
  'inspect.every',
  'inspect.prompts',
  'inspect.keep',
]);

export function runDir(root: string, retention?: Retention): RunDir {
  return {
    root,
    metricsPath: join(root, 'metrics.jsonl'),
    checkpointsDir: join(root, 'checkpoints'),
    ...(retention ? { retention } : {}),
  };
}

/** The fields of a train config this module reads (kept loose so tests may pass partial configs). */
interface RunConfigView {
  method?: string;
  checkpointKeep?: number;
  checkpointBest?: Retention['best'];
  models?: { student?: string; teacher?: string; teacherUrl?: string };
  data?: { dir?: string };
  eval?: { splits?: string[] };
}

/** What a run reads: the starting student, a local teacher when its method uses one, the data. */
export function runInputs(config: unknown): PathUse[] {
  const c = (config ?? {}) as RunConfigView;
  const inputs: PathUse[] = [];
  if (typeof c.models?.student === 'string') inputs.push({ field: 'models.student', path: c.models.student });
  if (methodNeedsTeacher(c.method) && !c.models?.teacherUrl && typeof c.models?.teacher === 'string')
    inputs.push({ field: 'models.teacher', path: c.models.teacher });
  if (typeof c.data?.dir === 'string') inputs.push({ field: 'data.dir', path: c.data.dir });
  return inputs;
}

/** What a run writes inside its folder. */
export function runOutputs(root: string): PathUse[] {
  return [
    'config.json',
    'metrics.jsonl',
    'metrics.csv',
    'curves.svg',
    'curves.png',
    'checkpoints',
    'student',
    CONFIG_CHANGES_FILE,
  ].map((p) => ({
    field: 'out',
    path: join(root, p),
  }));
}

/**
 * Creates the run folder, refusing: a folder the run reads from, a folder that holds a run
 * unless resuming, and (when resuming) a config that differs from the run's in anything but
 * FREE_KEYS unless `allowConfigChange`.
 */
export async function prepareRunDir(
  root: string,
  resolvedConfig: unknown,
  resume: boolean | ResumeOptions,
  prepare: PrepareOptions = {},
): Promise<RunDir> {
  const options: ResumeOptions = typeof resume === 'object' ? resume : {};
  const resuming = resume !== false;
  const c = (resolvedConfig ?? {}) as RunConfigView;
  const dir = runDir(root, {
    keep: c.checkpointKeep ?? 0,
    best: c.checkpointBest ?? 'none',
    ...(c.eval?.splits?.[0] ? { split: c.eval.splits[0] } : {}),
  });
  // Every check before the first write.
  await assertOutputsApart(
    [{ field: 'out', path: root, container: true }, ...runOutputs(root)],
    runInputs(resolvedConfig),
  );
  await ensureWritableDir(root, 'out');
  const lock = prepare.lock ? await acquireRunLock(root, prepare.lock) : undefined;
  try {
    return await prepareLocked(root, dir, resolvedConfig, resuming, options, lock);
  } catch (error) {
    await lock?.release();
    throw error;
  }
}

async function prepareLocked(
  root: string,
  dir: RunDir,
  resolvedConfig: unknown,
  resuming: boolean,
  options: ResumeOptions,
  lock: RunLock | undefined,
): Promise<RunDir> {
  // A folder holds a run once it has metrics or a checkpoint; a start that failed earlier does not count.
  const hasRun = (await readMetrics(dir)).length > 0 || (await listCheckpoints(dir)).length > 0;
  if (hasRun && !resuming) {
    throw new InvalidInputError(
      'out',
      root,
      'this folder already holds a run; pass --resume to continue it or choose another --out',
    );
  }
  const configPath = join(root, 'config.json');
  if (resuming && existsSync(configPath)) {
    const changes = await configChanges(configPath, resolvedConfig, options.log);
    const guarded = changes.filter((ch) => !FREE_KEYS.has(ch.key));
    if (guarded.length > 0 && !options.allowConfigChange) {
      throw new InvalidInputError(
        '--resume',
        root,
        `the config differs from the run's config.json (${guarded.map(formatChange).join('; ')}); ` +
          'resuming would mix two different runs. Resume with the stored config, start a new --out, ' +
          `or pass --allow-config-change to resume anyway (recorded in ${CONFIG_CHANGES_FILE})`,
      );
    }
    if (changes.length > 0) {
      const latest = await latestCheckpoint(dir);
      await appendFile(
        join(root, CONFIG_CHANGES_FILE),
        JSON.stringify({
          time: new Date().toISOString(),
          atCheckpoint: latest?.step ?? 0,
          allowed: guarded.length > 0 ? '--allow-config-change' : 'free keys',
          changes,
        }) + '\n',
      ).catch((error: unknown) => {
        throw toFileSystemError(error, join(root, CONFIG_CHANGES_FILE), 'record the config change');
      });
      options.log?.(
        `config changed on resume: ${changes.map(formatChange).join('; ')} (recorded in ${CONFIG_CHANGES_FILE})`,
      );
    }
  }
  await ensureWritableDir(dir.checkpointsDir, 'out');
  await writeFileAtomic(configPath, JSON.stringify(resolvedConfig, null, 2) + '\n');
  return lock ? { ...dir, lock } : dir;
}

export interface ConfigChange {
  readonly key: string;
  readonly from: unknown;
  readonly to: unknown;
}

function formatChange(c: ConfigChange): string {
  return `${c.key}: ${JSON.stringify(c.from)} -> ${JSON.stringify(c.to)}`;
}

/**
 * Leaf-by-leaf differences between the stored config.json (an older version's keys migrated,
 * with a one-line notice) and the new config.
 */
async function configChanges(
  path: string,
  next: unknown,
  log: ((line: string) => void) | undefined,
): Promise<ConfigChange[]> {
  let stored: unknown;
  try {
    stored = JSON.parse(await readFile(path, 'utf8')) as unknown;
  } catch (error) {
    return [
      { key: '(config.json)', from: `unreadable: ${(error as Error).message}`, to: 'the given config' },
    ];
  }
  const migrated = migrateSavedTrainConfig(stored);
  if (migrated.notice) log?.(`${path}: ${migrated.notice}`);
  stored = migrated.config;
  // Keys added since the run was saved compare at their defaults (on both sides alike).
  const a = flatten(withTrainDefaults(stored));
  const b = flatten(withTrainDefaults(next));
  const out: ConfigChange[] = [];
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    const from = a.get(key);
    const to = b.get(key);
    if (JSON.stringify(from) !== JSON.stringify(to)) out.push({ key, from, to });
  }
  return out;
}

function flatten(value: unknown, prefix = '', out = new Map<string, unknown>()): Map<string, unknown> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) {
    out.set(prefix, value);
  }
  return out;
}

export async function appendMetrics(dir: RunDir, record: Record<string, unknown>): Promise<void> {
  try {
    await appendFile(dir.metricsPath, JSON.stringify(record) + '\n');
  } catch (error) {
    throw toFileSystemError(error, dir.metricsPath, 'append metrics');
  }
}

interface MetricsText {
  readonly records: Record<string, unknown>[];
  /** Lines that are not JSON objects (a write cut short by a kill or a full disk). */
  readonly broken: number;
}

async function parseMetrics(dir: RunDir): Promise<MetricsText> {
  if (!existsSync(dir.metricsPath)) return { records: [], broken: 0 };
  const text = await readFile(dir.metricsPath, 'utf8');
  const records: Record<string, unknown>[] = [];
  let broken = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const r = JSON.parse(line) as unknown;
      if (r !== null && typeof r === 'object' && !Array.isArray(r))
        records.push(r as Record<string, unknown>);
      else broken++;
    } catch {
      broken++;
    }
  }
  return { records, broken };
}

/** The metric records of the run; lines that are not whole JSON records are skipped. */
export async function readMetrics(dir: RunDir): Promise<Record<string, unknown>[]> {
  return (await parseMetrics(dir)).records;
}

/**
 * Keeps only metric records of steps <= step (records without a step are kept); at step 0 (a
 * run resumed before its first checkpoint starts over) every record with a step goes. Lines
 * that are not whole records are dropped. Returns what was dropped, for the log.
 */
export async function truncateMetrics(
  dir: RunDir,
  step: number,
): Promise<{ readonly broken: number; readonly after: number }> {
  const { records, broken } = await parseMetrics(dir);
  const keep = (r: Record<string, unknown>) =>
    typeof r['step'] !== 'number' || (step > 0 && (r['step'] as number) <= step);
  const kept = records.filter(keep);
  const after = records.length - kept.length;
  if (broken > 0 || after > 0 || existsSync(dir.metricsPath)) {
    await writeFileAtomic(
      dir.metricsPath,
      kept.map((r) => JSON.stringify(r)).join('\n') + (kept.length ? '\n' : ''),
    );
  }
  return { broken, after };
}

export function checkpointName(step: number): string {
  return `step-${String(step).padStart(6, '0')}`;
}

/** Every file under `folder` (relative paths, sorted), for the checksum manifest. */
async function filesUnder(folder: string, base = folder): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(folder, { withFileTypes: true })) {
    const full = join(folder, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(full, base)));
    else if (entry.isFile() && !(full === join(base, CHECKPOINT_MANIFEST))) out.push(relative(base, full));
  }
  return out.sort();
}

/**
 * Writes a checkpoint atomically: `write(tmpDir)` fills a temporary folder, a manifest of the
 * SHA-256 of every file is added, the folder is renamed to checkpoints/step-NNNNNN, and
 * latest.json is updated last. Then older checkpoints are pruned by the run's retention.
 */
export async function saveCheckpoint(
  dir: RunDir,
  step: number,
  write: (folder: string) => Promise<void>,
): Promise<string> {
  const name = checkpointName(step);
  const tmp = join(dir.checkpointsDir, `.tmp-${name}`);
  const final = join(dir.checkpointsDir, name);
  try {
    await rm(tmp, { recursive: true, force: true });
    await ensureWritableDir(tmp, 'checkpoint');
    await write(tmp);
    const files: Record<string, string> = {};
    for (const file of await filesUnder(tmp)) files[file] = sha256(await readFile(join(tmp, file)));
    await writeFileAtomic(
      join(tmp, CHECKPOINT_MANIFEST),
      JSON.stringify({ format: 'vzero-run-checkpoint', step, files }, null, 1) + '\n',
    );
    await rm(final, { recursive: true, force: true });
    await rename(tmp, final);
    await writeFileAtomic(
      join(dir.checkpointsDir, 'latest.json'),
      JSON.stringify({ step, folder: name }) + '\n',
    );
  } catch (error) {
    // A checkpoint that could not be finished is removed, not left for a resume to find.
    await rm(tmp, { recursive: true, force: true }).catch(() => {});
    throw toFileSystemError(error, final, 'write the checkpoint');
  }
  await pruneCheckpoints(dir);
  return final;
}

export interface CheckpointRef {
  readonly step: number;
  readonly folder: string;
}

/** Complete checkpoint folders (step-NNNNNN), newest first. */
export async function listCheckpoints(dir: RunDir): Promise<CheckpointRef[]> {
  if (!existsSync(dir.checkpointsDir)) return [];
  const s = await stat(dir.checkpointsDir);
  if (!s.isDirectory()) return [];
  return (await readdir(dir.checkpointsDir))
    .filter((n) => /^step-\d+$/.test(n))
    .sort()
    .reverse()
    .map((n) => ({ step: Number(n.slice(5)), folder: join(dir.checkpointsDir, n) }));
}

/**
 * The newest checkpoint: the one latest.json names when it is readable and present, else the
 * highest step folder. `note` says when latest.json could not be used.
 */
export async function latestCheckpoint(
  dir: RunDir,
): Promise<(CheckpointRef & { readonly note?: string }) | undefined> {
  const latest = join(dir.checkpointsDir, 'latest.json');
  let note: string | undefined;
  if (existsSync(latest)) {
    try {
      const parsed = JSON.parse(await readFile(latest, 'utf8')) as { step?: unknown; folder?: unknown };
      if (
        typeof parsed.step === 'number' &&
        typeof parsed.folder === 'string' &&
        parsed.folder === checkpointName(parsed.step) &&
        existsSync(join(dir.checkpointsDir, parsed.folder))
      ) {
        return { step: parsed.step, folder: join(dir.checkpointsDir, parsed.folder) };
      }
      note = `latest.json names ${JSON.stringify(parsed.folder)}, which is not a checkpoint folder here`;
    } catch (error) {
      note = `latest.json is unreadable (${(error as Error).message})`;
    }
  }
  const newest = (await listCheckpoints(dir))[0];
  return newest ? { ...newest, ...(note ? { note } : {}) } : undefined;
}

/**
 * Checks a checkpoint folder against its manifest: every listed file present with its SHA-256,
 * no file missing from the list, and state.json a JSON object of the folder's step. Returns
 * undefined when intact, else the reason. `legacy` is set for folders from before manifests.
 */
export async function verifyCheckpoint(
  ref: CheckpointRef,
): Promise<{ readonly problem?: string; readonly legacy?: boolean }> {
  const manifestPath = join(ref.folder, CHECKPOINT_MANIFEST);
  let legacy = false;
  if (!existsSync(manifestPath)) {
    legacy = true;
  } else {
    let manifest: { step?: unknown; files?: Record<string, unknown> };
    try {
      manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as typeof manifest;
    } catch (error) {
      return { problem: `${CHECKPOINT_MANIFEST} is unreadable (${(error as Error).message})` };
    }
    if (manifest.step !== ref.step || manifest.files === null || typeof manifest.files !== 'object') {
      return { problem: `${CHECKPOINT_MANIFEST} does not describe step ${ref.step}` };
    }
    const present = await filesUnder(ref.folder);
    for (const file of present) {
      if (!(file in manifest.files)) return { problem: `${file} is not in ${CHECKPOINT_MANIFEST}` };
    }
    for (const [file, hash] of Object.entries(manifest.files)) {
      const path = join(ref.folder, file);
      if (!existsSync(path)) return { problem: `${file} is missing` };
      if (sha256(await readFile(path)) !== hash)
        return { problem: `${file}: SHA-256 differs from the manifest` };
    }
  }
  try {
    const state = JSON.parse(await readFile(join(ref.folder, 'state.json'), 'utf8')) as { step?: unknown };
    if (state.step !== ref.step) return { problem: `state.json is of step ${String(state.step)}` };
  } catch (error) {
    return { problem: `state.json is unreadable (${(error as Error).message})` };
  }
  return legacy ? { legacy } : {};
}

/** Removes checkpoints beyond the newest `keep`, sparing the best by the retention's metric. */
export async function pruneCheckpoints(dir: RunDir): Promise<string[]> {
  const r = dir.retention;
  if (!r || r.keep <= 0) return [];
  const all = await listCheckpoints(dir);
  if (all.length <= r.keep) return [];
  const keep = new Set(all.slice(0, r.keep).map((c) => c.step));
  const best = await bestStep(
    dir,
    r,
    all.map((c) => c.step),
  );
  if (best !== undefined) keep.add(best);
  const removed: string[] = [];
  for (const c of all) {
    if (keep.has(c.step)) continue;
    await rm(c.folder, { recursive: true, force: true });
    removed.push(c.folder);
  }
  return removed;
}

async function bestStep(dir: RunDir, r: Retention, steps: readonly number[]): Promise<number | undefined> {
  if (r.best === 'none') return undefined;
  const have = new Set(steps);
  let best: { step: number; score: number } | undefined;
  for (const rec of await readMetrics(dir)) {
    const step = rec['step'];
    if (typeof step !== 'number' || !have.has(step)) continue;
    // Lower loss is better; higher accuracy is better (scored as its negative).
    const score =
      r.best === 'loss'
        ? rec['event'] === undefined && typeof rec['loss'] === 'number'
          ? rec['loss']
          : undefined
        : rec['event'] === 'eval' && rec['split'] === r.split && typeof rec['accuracy'] === 'number'
          ? -rec['accuracy']
          : undefined;
    if (score === undefined || !Number.isFinite(score)) continue;
    if (!best || score < best.score) best = { step, score };
  }
  return best?.step;
}
