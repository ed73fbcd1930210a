// run.lock: one process per run folder, stale locks (holder gone, pid reused) taken over,
// another host's lock refused with the way out. Holders are real processes.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { RUN_LOCK_FILE, RunLockedError, acquireRunLock, processStartTime } from '../src/run/run-lock.js';
import { prepareRunDir } from '../src/run/run-dir.js';

async function folder(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'vzero-lock-'));
}

/** A real process that ended: its pid is free (until the system reuses it). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((r) => child.on('exit', r));
  return child.pid as number;
}

describe('run lock', () => {
  it('refuses a second holder while the first holds it, naming it, and frees on release', async () => {
    const root = await folder();
    const first = await acquireRunLock(root, { command: 'train' });
    const e = await acquireRunLock(root).catch((error: unknown) => error);
    expect(e).toBeInstanceOf(RunLockedError);
    expect((e as Error).message).toMatch(
      new RegExp(`another run is using this folder: pid ${process.pid} on ${hostname()}.*\\(train\\)`),
    );
    await first.release();
    expect(existsSync(join(root, RUN_LOCK_FILE))).toBe(false);
    const second = await acquireRunLock(root);
    await second.release();
  });

  it('is refused while another live process holds it', async () => {
    const root = await folder();
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    try {
      const pid = child.pid as number;
      const start = processStartTime(pid);
      await writeFile(
        join(root, RUN_LOCK_FILE),
        JSON.stringify({ pid, host: hostname(), since: 'then', ...(start ? { processStart: start } : {}) }),
      );
      await expect(acquireRunLock(root)).rejects.toThrow(new RegExp(`pid ${pid} on ${hostname()}`));
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('takes over a lock whose holder was killed, and says so', async () => {
    const root = await folder();
    const pid = await deadPid();
    await writeFile(join(root, RUN_LOCK_FILE), JSON.stringify({ pid, host: hostname(), since: 'then' }));
    const lines: string[] = [];
    const lock = await acquireRunLock(root, { log: (l) => lines.push(l) });
    expect(lines.join('\n')).toMatch(new RegExp(`pid ${pid} .*no longer running.*taking it over`));
    const held = JSON.parse(await readFile(join(root, RUN_LOCK_FILE), 'utf8')) as { pid: number };
    expect(held.pid).toBe(process.pid);
    await lock.release();
  });

  it('takes over a lock whose pid now belongs to a later process', async () => {
    const root = await folder();
    // This process is alive, but the lock says its holder started at another time.
    await writeFile(
      join(root, RUN_LOCK_FILE),
      JSON.stringify({ pid: process.ppid, host: hostname(), since: 'then', processStart: '1' }),
    );
    const lines: string[] = [];
    if (processStartTime(process.ppid) === undefined) return; // no /proc: nothing to compare
    const lock = await acquireRunLock(root, { log: (l) => lines.push(l) });
    expect(lines.join('\n')).toMatch(/now belongs to another process/);
    await lock.release();
  });

  it("refuses another host's lock, saying how to clear it", async () => {
    const root = await folder();
    await writeFile(join(root, RUN_LOCK_FILE), JSON.stringify({ pid: 1, host: 'elsewhere', since: 'then' }));
    await expect(acquireRunLock(root)).rejects.toThrow(/pid 1 on elsewhere.*if that run has ended, remove/);
  });

  it('refuses a lock file it cannot read, rather than guess', async () => {
    const root = await folder();
    await writeFile(join(root, RUN_LOCK_FILE), '');
    await expect(acquireRunLock(root)).rejects.toThrow(RunLockedError);
  });

  it('prepareRunDir with a lock gives it back when it refuses the folder', async () => {
    const root = await folder();
    const dir = await prepareRunDir(root, { a: 1 }, false, { lock: {} });
    expect(dir.lock).toBeDefined();
    await expect(prepareRunDir(root, { a: 1 }, true, { lock: {} })).rejects.toThrow(RunLockedError);
    await dir.lock?.release();
    await writeFile(join(root, 'metrics.jsonl'), '{"step":1,"loss":1}\n');
    await expect(prepareRunDir(root, { a: 1 }, false, { lock: {} })).rejects.toThrow(/already holds a run/);
    expect(existsSync(join(root, RUN_LOCK_FILE))).toBe(false);
  });
});
