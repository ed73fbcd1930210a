// `vzero ablate --jobs N`: an in-process run in a process of its own (./worker.ts), so that N runs
// use N cores. The child gets the run by a job file beside the run's folder, takes this process's
// tensor backend (the same numbers as a run made here), prints its log lines on stdout (passed to
// `log`) and its progress on stderr (passed through), and leaves result.json in the run's folder.
// It loads the plug-ins this process loaded (--plugin, a spec's plugins:) before its run, so an
// arm may name a method a plug-in registers.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { VZeroError } from '@vzero/core';
import type { AblateArm, AblatePreset } from './presets.js';
import type { RunResult } from './report.js';
import type { RunContext } from './run.js';
import { loadedPlugins } from '../methods/plugins.js';

/** What a run's process needs (the splits it reads from the world itself). */
export interface RunJob {
  readonly preset: AblatePreset;
  readonly armId: string;
  readonly seed: number;
  readonly ctx: Omit<RunContext, 'splits' | 'parallel'>;
  /** Plug-ins to load before the run (this process's: absolute paths or package names). */
  readonly plugins: readonly string[];
}

/** The run's script: worker.ts beside this file, or its build. */
const WORKER = fileURLToPath(
  new URL(`./worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url),
);

/** Run processes alive now, with their exits (stopped when the ablation fails). */
const children = new Map<ChildProcess, Promise<unknown>>();

/**
 * Stops every run process still going and waits for them to exit, so that nothing writes into
 * the work folder once the ablation has returned (their runs are made again next time).
 */
export async function stopRunProcesses(): Promise<void> {
  for (const child of children.keys()) child.kill('SIGTERM');
  await Promise.all(children.values());
}

export class RunProcessError extends VZeroError {
  constructor(run: string, code: number | null, signal: string | null, tail: string) {
    super(
      'RUN_PROCESS_FAILED',
      `${run}: its process ${code !== null ? `exited with ${code}` : `was stopped (${signal})`}${tail ? `:\n${tail}` : ''}`,
    );
  }
}

export async function runArmInProcess(
  arm: AblateArm,
  seed: number,
  preset: AblatePreset,
  ctx: RunContext,
  log: (line: string) => void,
): Promise<RunResult> {
  const run = `${arm.id}-seed${seed}`;
  // Beside the run's folder, which the run clears before it starts.
  const jobFile = join(ctx.out, 'runs', `${run}.job.json`);
  await mkdir(join(ctx.out, 'runs'), { recursive: true });
  const job: RunJob = {
    preset,
    armId: arm.id,
    seed,
    ctx: { out: ctx.out, world: ctx.world, models: ctx.models, baseEval: ctx.baseEval },
    plugins: loadedPlugins(),
  };
  await writeFile(jobFile, JSON.stringify(job));
  // From the sources (tests, `pnpm vzero`) the script is TypeScript, run through tsx; so are
  // TypeScript plug-ins.
  const typescript = [WORKER, ...job.plugins].some((f) => /\.[cm]?ts$/.test(f));
  const script = typescript ? ['--import', 'tsx', WORKER] : [WORKER];
  const child = spawn(process.execPath, [...script, jobFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, VZERO_BACKEND: tf.getBackend() },
  });
  const exited = new Promise<[number | null, string | null]>((ok, fail) => {
    child.on('error', fail);
    child.on('close', (c, s) => ok([c, s]));
  });
  children.set(
    child,
    exited.catch(() => undefined),
  );
  let tail = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    process.stderr.write(chunk);
    tail = (tail + chunk.toString('utf8')).slice(-2000);
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  lines.on('line', (line) => log(line));
  const [code, signal] = await exited.finally(() => children.delete(child));
  await rm(jobFile, { force: true });
  if (code !== 0) {
    const last = tail.trim().split('\n').slice(-8).join('\n');
    throw new RunProcessError(run, code, signal, last);
  }
  return JSON.parse(await readFile(join(ctx.out, 'runs', run, 'result.json'), 'utf8')) as RunResult;
}
