// A run folder in use by one process, signals that end a run cleanly, and the evaluation a
// stop skipped: the real CLI in child processes, on the tiny real set-up.
import { describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseTrainConfig } from '../src/config.js';
import { splitEvaluator } from '../src/commands/train.js';
import { readMetrics, runDir, RUN_LOCK_FILE } from '../src/run/run-dir.js';
import { train, type EvalRecord } from '../src/trainer.js';
import { expectOneLineError, repoRoot, vzero } from './cli-process.js';
import { makeFixture, tinyConfig, type Fixture } from './fixture.js';

interface Running {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly err: () => string;
}

function startTrain(configFile: string, extra: readonly string[] = []): Running {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'packages/train/src/bin.ts', 'train', '--config', configFile, ...extra],
    { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, exited, err: () => err };
}

async function stepsLogged(out: string): Promise<number> {
  return (await readMetrics(runDir(out))).filter(
    (r) => r['event'] === undefined && typeof r['step'] === 'number',
  ).length;
}

async function waitFor(what: () => Promise<boolean> | boolean, run: Running, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (run.child.exitCode !== null) throw new Error(`the run ended early:\n${run.err()}`);
    if (await what()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('timed out');
}

async function config(f: Fixture, name: string, settings: Record<string, unknown>): Promise<string> {
  const file = join(f.root, `${name}.json`);
  await writeFile(file, JSON.stringify(tinyConfig(f, join(f.root, name), settings)));
  return file;
}

describe('a run folder under one process, and signals', () => {
  it('a second trainer on the same folder stops naming the holder; SIGTERM checkpoints and exits 143', async () => {
    const f = await makeFixture();
    const file = await config(f, 'shared', { steps: 200, checkpointEvery: 50 });
    const out = join(f.root, 'shared');
    const first = startTrain(file);
    await waitFor(async () => (await stepsLogged(out)) >= 2, first);
    expect(existsSync(join(out, RUN_LOCK_FILE))).toBe(true);

    const second = await vzero(['train', '--config', file, '--resume']);
    const line = expectOneLineError(second);
    expect(line).toContain(`another run is using this folder: pid ${first.child.pid}`);
    const metricsBefore = await readFile(join(out, 'metrics.jsonl'), 'utf8');
    const configBefore = await readFile(join(out, 'config.json'), 'utf8');

    first.child.kill('SIGTERM');
    const ended = await first.exited;
    expect(ended.code).toBe(143);
    expect(first.err()).toMatch(/SIGTERM: stopping after this step/);
    expect(first.err()).toMatch(/stopped \(SIGTERM\) after step (\d+), checkpointed; continue with --resume/);
    const stoppedAt = Number(/after step (\d+), checkpointed/.exec(first.err())?.[1]);
    // A checkpoint of the step it stopped at, no final student, no lock left behind.
    const latest = JSON.parse(await readFile(join(out, 'checkpoints', 'latest.json'), 'utf8')) as {
      step: number;
    };
    expect(latest.step).toBe(stoppedAt);
    expect(existsSync(join(out, 'student'))).toBe(false);
    expect(existsSync(join(out, RUN_LOCK_FILE))).toBe(false);
    // The refused trainer wrote nothing: the first run's records all came before it was asked.
    expect((await readFile(join(out, 'metrics.jsonl'), 'utf8')).startsWith(metricsBefore)).toBe(true);
    expect(await readFile(join(out, 'config.json'), 'utf8')).toBe(configBefore);
    const steps = (await readMetrics(runDir(out))).map((r) => r['step']);
    expect(new Set(steps).size).toBe(steps.length);
  });

  it('SIGINT checkpoints and exits 130 without a student/; --resume finishes and writes it', async () => {
    const f = await makeFixture();
    const file = await config(f, 'int', { steps: 6, checkpointEvery: 0 });
    const out = join(f.root, 'int');
    const run = startTrain(file);
    await waitFor(async () => (await stepsLogged(out)) >= 1, run);
    run.child.kill('SIGINT');
    const ended = await run.exited;
    expect(ended.code).toBe(130);
    expect(existsSync(join(out, 'student'))).toBe(false);
    const latest = JSON.parse(await readFile(join(out, 'checkpoints', 'latest.json'), 'utf8')) as {
      step: number;
    };
    expect(latest.step).toBeGreaterThanOrEqual(1);
    const resumed = await vzero(['train', '--config', file, '--resume'], 180_000);
    expect(resumed.code, resumed.err).toBe(0);
    expect(existsSync(join(out, 'student'))).toBe(true);
    expect(await stepsLogged(out)).toBe(6);
  });

  it('a run stopped between a checkpoint and its evaluation runs that evaluation on --resume', async () => {
    const f = await makeFixture();
    const settings = {
      steps: 4,
      checkpointEvery: 2,
      checkpointBest: 'accuracy',
      eval: { splits: ['val'], every: 2 },
    };
    const config = parseTrainConfig(tinyConfig(f, join(f.root, 'evalcut'), settings));
    const real = splitEvaluator(config);
    // The process dies in the middle of step 2's evaluation (after step 2's checkpoint).
    await expect(
      train(config, {
        hooks: {
          evaluate: (student, split, step): Promise<EvalRecord> => {
            if (step === 2) throw new Error('killed during the evaluation');
            return real(student, split, step);
          },
        },
      }),
    ).rejects.toThrow(/killed during the evaluation/);
    const before = (await readMetrics(runDir(config.out))).filter((r) => r['event'] === 'eval');
    expect(before.map((r) => r['step'])).toEqual([0]);

    const resumed = await train(config, { resume: true, hooks: { evaluate: real } });
    resumed.student.model.dispose();
    const evals = (await readMetrics(runDir(config.out))).filter((r) => r['event'] === 'eval');
    expect(evals.map((r) => r['step'])).toEqual([0, 2, 4]);
    expect(resumed.evals.map((e) => e.step)).toEqual([2, 4]);
  });
});
