// One process per run folder. A run takes <out>/run.lock before it looks at the folder and gives
// it back when it ends (also on an error or a signal); a second process stops with one line that
// names the holder. The lock file is written whole (a temporary file hard-linked into place, so
// it never exists half-written) and names its holder's host, pid and process start time: a lock
// whose holder on this host is gone (killed with -9, a crash, a power cut) is stale and taken
// over, and so is one whose pid now belongs to a process started later (the pid was reused).
// A lock held from another host cannot be checked from here, so it is refused with the way out.
import { readFileSync } from 'node:fs';
import { link, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { VZeroError, toFileSystemError } from '@vzero/core';

export const RUN_LOCK_FILE = 'run.lock';

/** What run.lock records about its holder. */
export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  /** The holder's start time as the kernel counts it (Linux), to tell a reused pid apart. */
  readonly processStart?: string;
  readonly since: string;
  readonly command?: string;
}

/** Another process holds the run folder. */
export class RunLockedError extends VZeroError {
  readonly holder: LockHolder | undefined;
  readonly lockPath: string;
  constructor(lockPath: string, holder: LockHolder | undefined, detail: string) {
    super('RUN_LOCKED', `${lockPath}: ${detail}`);
    this.holder = holder;
    this.lockPath = lockPath;
  }
}

export interface RunLock {
  readonly path: string;
  /** Removes the lock if it is still this process's; safe to call twice. */
  release(): Promise<void>;
}

/** The start time of process `pid` (field 22 of /proc/PID/stat), where the system has one. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

/** Whether process `pid` exists on this host (EPERM: it exists, owned by someone else). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function describe(h: LockHolder): string {
  return `pid ${h.pid} on ${h.host}, since ${h.since}${h.command ? ` (${h.command})` : ''}`;
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockHolder>;
    if (typeof v.pid === 'number' && Number.isInteger(v.pid) && v.pid > 0 && typeof v.host === 'string')
      return {
        pid: v.pid,
        host: v.host,
        since: typeof v.since === 'string' ? v.since : '?',
        ...(typeof v.processStart === 'string' ? { processStart: v.processStart } : {}),
        ...(typeof v.command === 'string' ? { command: v.command } : {}),
      };
  } catch {
    // not a lock this toolkit wrote
  }
  return undefined;
}

/** Why the holder no longer holds the lock, or undefined while it may still run. */
function staleReason(h: LockHolder, self: LockHolder): string | undefined {
  if (h.host !== self.host) return undefined;
  if (h.pid === self.pid && h.processStart === self.processStart) return undefined;
  if (!alive(h.pid)) return `pid ${h.pid} is no longer running`;
  const start = processStartTime(h.pid);
  if (h.processStart !== undefined && start !== undefined && start !== h.processStart)
    return `pid ${h.pid} now belongs to another process`;
  return undefined;
}

/**
 * Takes `<root>/run.lock` for this process, taking over a stale one (its holder gone; logged).
 * Throws RunLockedError naming the holder when a live process, or one on another host, has it.
 */
export async function acquireRunLock(
  root: string,
  options: { readonly command?: string; readonly log?: (line: string) => void } = {},
): Promise<RunLock> {
  const path = join(root, RUN_LOCK_FILE);
  const start = processStartTime(process.pid);
  const self: LockHolder = {
    pid: process.pid,
    host: hostname(),
    ...(start !== undefined ? { processStart: start } : {}),
    since: new Date().toISOString(),
    ...(options.command ? { command: options.command } : {}),
  };
  const text = JSON.stringify(self) + '\n';
  const tmp = join(root, `.${RUN_LOCK_FILE}.${process.pid}.${Math.random().toString(36).slice(2)}`);
  try {
    await writeFile(tmp, text, { flag: 'wx' });
  } catch (error) {
    throw toFileSystemError(error, tmp, 'write the run lock');
  }
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await link(tmp, path);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 5)
          throw toFileSystemError(error, path, 'take the run lock');
      }
      let held: string;
      try {
        held = await readFile(path, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile
        throw toFileSystemError(error, path, 'read the run lock');
      }
      const holder = parseHolder(held);
      if (!holder) {
        throw new RunLockedError(
          path,
          undefined,
          `the run folder is locked by a file this toolkit cannot read; if no run uses ${root}, remove ${path}`,
        );
      }
      const stale = staleReason(holder, self);
      if (!stale) {
        const here = holder.host === self.host;
        throw new RunLockedError(
          path,
          holder,
          `another run is using this folder: ${describe(holder)}` +
            (here
              ? '; wait for it to end or stop it, or choose another --out'
              : `; it cannot be checked from ${self.host}: if that run has ended, remove ${path}`),
        );
      }
      // Take over a stale lock: move it aside first, so that of two processes taking it over at
      // once only one succeeds (the other's rename finds nothing and it tries the link again).
      const aside = `${path}.stale-${process.pid}`;
      try {
        await rename(path, aside);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw toFileSystemError(error, path, 'take over the stale run lock');
      }
      const moved = parseHolder(await readFile(aside, 'utf8').catch(() => ''));
      if (moved && !(moved.pid === holder.pid && moved.since === holder.since)) {
        // Another process took the stale lock over between our read and rename: put its lock back.
        await link(aside, path).catch(() => {});
      } else {
        options.log?.(`run lock: ${describe(holder)} was left behind (${stale}); taking it over`);
      }
      await rm(aside, { force: true });
    }
  } finally {
    await rm(tmp, { force: true });
  }
  let released = false;
  return {
    path,
    async release() {
      if (released) return;
      released = true;
      const now = parseHolder(await readFile(path, 'utf8').catch(() => ''));
      if (now && now.pid === self.pid && now.since === self.since) await rm(path, { force: true });
    },
  };
}
