import { describe, expect, it } from 'vitest';
import { mkdtemp, readdir, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  appendMetrics,
  latestCheckpoint,
  prepareRunDir,
  readMetrics,
  saveCheckpoint,
  truncateMetrics,
} from '../src/run/run-dir.js';

describe('run folder', () => {
  it('refuses to overwrite an existing run unless resuming', async () => {
    const root = join(await mkdtemp(join(tmpdir(), 'vzero-run-')), 'run');
    const dir = await prepareRunDir(root, { a: 1 }, false);
    await appendMetrics(dir, { step: 1, loss: 0.5 });
    await expect(prepareRunDir(root, { a: 1 }, false)).rejects.toThrow(/already holds a run; pass --resume/);
    await expect(prepareRunDir(root, { a: 1 }, true)).resolves.toBeDefined();
  });

  it('resumes a run saved with the retired views.randomPositive, saying how it was read', async () => {
    const root = join(await mkdtemp(join(tmpdir(), 'vzero-run-')), 'run');
    const old = { views: { negative: 'outside-downsampled', randomPositive: true } };
    const dir = await prepareRunDir(root, old, false);
    await appendMetrics(dir, { step: 1, loss: 0.5 });
    const lines: string[] = [];
    const now = { views: { negative: 'random-positive' } };
    await expect(prepareRunDir(root, now, { log: (l) => lines.push(l) })).resolves.toBeDefined();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /views\.randomPositive: true \(an older version's key\) read as views\.negative: 'random-positive'/,
    );
    // A run saved with it false compares equal to the same config without it.
    const root2 = join(await mkdtemp(join(tmpdir(), 'vzero-run-')), 'run');
    const dir2 = await prepareRunDir(root2, { views: { negative: 'blank', randomPositive: false } }, false);
    await appendMetrics(dir2, { step: 1, loss: 0.5 });
    await expect(prepareRunDir(root2, { views: { negative: 'blank' } }, true)).resolves.toBeDefined();
  });

  it('writes checkpoints atomically and finds the latest', async () => {
    const root = await mkdtemp(join(tmpdir(), 'vzero-run-'));
    const dir = await prepareRunDir(root, {}, false);
    expect(await latestCheckpoint(dir)).toBeUndefined();
    await saveCheckpoint(dir, 2, async (f) => writeFile(join(f, 'state.json'), '{"step":2}'));
    await saveCheckpoint(dir, 4, async (f) => writeFile(join(f, 'state.json'), '{"step":4}'));
    expect(await latestCheckpoint(dir)).toEqual({ step: 4, folder: join(dir.checkpointsDir, 'step-000004') });
    // A writer that dies leaves only a temporary folder, never a half checkpoint under its real name.
    await expect(saveCheckpoint(dir, 6, async () => Promise.reject(new Error('killed')))).rejects.toThrow(
      'killed',
    );
    expect((await readdir(dir.checkpointsDir)).filter((n) => n.startsWith('step-'))).toEqual([
      'step-000002',
      'step-000004',
    ]);
    expect((await latestCheckpoint(dir))?.step).toBe(4);
    await rm(join(dir.checkpointsDir, 'latest.json'));
    expect((await latestCheckpoint(dir))?.step).toBe(4);
  });

  it('truncates metrics past a checkpoint step', async () => {
    const root = await mkdtemp(join(tmpdir(), 'vzero-run-'));
    const dir = await prepareRunDir(root, {}, false);
    for (const step of [1, 2, 3, 4]) await appendMetrics(dir, { step });
    await appendMetrics(dir, { event: 'eval' });
    await truncateMetrics(dir, 2);
    expect(await readMetrics(dir)).toEqual([{ step: 1 }, { step: 2 }, { event: 'eval' }]);
  });
});

describe('resuming a run saved by an older version', () => {
  it('reads keys added since with their defaults (what that version did), not as changes', async () => {
    const { parseTrainConfig } = await import('../src/config.js');
    const root = join(await mkdtemp(join(tmpdir(), 'vzero-run-')), 'run');
    const config = parseTrainConfig({
      data: { dir: 'world' },
      models: { student: 's', teacher: 't' },
      out: root,
    });
    // Saved before gate.level existed.
    const { level, ...olderGate } = config.gate;
    expect(level).toBe('sequence');
    const dir = await prepareRunDir(root, { ...config, gate: olderGate }, false);
    await appendMetrics(dir, { step: 1, loss: 0.5 });
    await expect(prepareRunDir(root, config, true)).resolves.toBeDefined();
    // A real change is still one.
    await expect(
      prepareRunDir(root, { ...config, gate: { ...config.gate, level: 'token' } }, true),
    ).rejects.toThrow(/gate\.level/);
  });
});
