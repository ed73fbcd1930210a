// A run killed mid-way and resumed with --resume logs exactly what an uninterrupted run logs
// (timings aside): same data order, same rollout seeds, same weights and optimizer state.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseTrainConfig } from '../src/config.js';
import { train } from '../src/trainer.js';
import { makeFixture, tinyConfig } from './fixture.js';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const STEPS = 6;

async function stepLines(path: string): Promise<Record<string, unknown>[]> {
  if (!existsSync(path)) return [];
  const text = await readFile(path, 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => typeof r['step'] === 'number' && r['event'] === undefined);
}

/** What must match between runs: everything but wall-clock figures. */
function comparable(r: Record<string, unknown>) {
  const { time: _t, tokensPerSecond: _s, timestamp: _w, ...rest } = r;
  return rest;
}

describe('--resume after a kill', () => {
  it('reproduces the uninterrupted run step for step', async () => {
    const f = await makeFixture();
    const settings = { steps: STEPS, checkpointEvery: 2 };

    const straight = await train(parseTrainConfig(tinyConfig(f, join(f.root, 'straight'), settings)));
    straight.student.model.dispose();
    const expected = straight.records.map((r) => comparable(r as unknown as Record<string, unknown>));

    // The same run in a child process running the real CLI, killed once it is past a checkpoint.
    const out = join(f.root, 'killed');
    const configFile = join(f.root, 'killed.json');
    await writeFile(configFile, JSON.stringify(tinyConfig(f, out, settings)));
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'packages/train/src/bin.ts', 'train', '--config', configFile],
      {
        cwd: repoRoot,
        stdio: 'ignore',
      },
    );
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    const deadline = Date.now() + 120_000;
    let seen = 0;
    while (Date.now() < deadline && child.exitCode === null) {
      seen = (await stepLines(join(out, 'metrics.jsonl'))).length;
      if (seen >= 3) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGKILL');
    await exited;
    expect(child.signalCode).toBe('SIGKILL');
    expect(seen).toBeGreaterThanOrEqual(3);
    expect(seen).toBeLessThan(STEPS);

    const resumed = await train(parseTrainConfig(tinyConfig(f, out, settings)), { resume: true });
    resumed.student.model.dispose();
    expect(resumed.resumedFrom).toBeGreaterThanOrEqual(2);
    const logged = (await stepLines(join(out, 'metrics.jsonl'))).map(comparable);
    expect(logged.map((r) => r['step'])).toEqual([1, 2, 3, 4, 5, 6]);
    expect(logged).toEqual(expected);
  });
});
