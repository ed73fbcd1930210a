// No command writes into a file or folder it reads from: every command lists what it will write
// and what it reads, and this check runs before its first write. Paths are compared after
// resolving symbolic links (of the part that exists), so `out -> models/student` is caught too.
import { lstat, readdir, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, isAbsolute } from 'node:path';
import { InvalidInputError } from '@vzero/core';

export interface PathUse {
  /** The option or config key that named the path, e.g. `--out` or `models.student`. */
  readonly field: string;
  readonly path: string;
  /**
   * An output folder the command writes only named entries into (listed as outputs of their
   * own): it may contain an input, but may not be or lie inside one.
   */
  readonly container?: boolean;
}

/** The path with symbolic links resolved in its longest existing prefix. */
export async function canonicalPath(path: string): Promise<string> {
  let cur = resolve(path);
  const rest: string[] = [];
  for (;;) {
    try {
      return join(await realpath(cur), ...rest);
    } catch {
      const parent = dirname(cur);
      if (parent === cur) return join(cur, ...rest);
      rest.unshift(basename(cur));
      cur = parent;
    }
  }
}

function within(inner: string, outer: string): boolean {
  const r = relative(outer, inner);
  return r === '' || (!r.startsWith('..') && !isAbsolute(r));
}

/**
 * Throws when an output equals, lies inside or contains an input. `outputs` are the paths the
 * command writes (files or folders); `inputs` are what it reads.
 */
export async function assertOutputsApart(
  outputs: readonly PathUse[],
  inputs: readonly PathUse[],
): Promise<void> {
  const ins = await Promise.all(inputs.map(async (i) => ({ ...i, real: await canonicalPath(i.path) })));
  for (const o of outputs) {
    const real = await canonicalPath(o.path);
    for (const i of ins) {
      const how =
        real === i.real || (await sameFile(o.path, i.path))
          ? 'is'
          : within(real, i.real)
            ? 'lies inside'
            : within(i.real, real) && !o.container
              ? 'contains'
              : undefined;
      if (how) {
        throw new InvalidInputError(
          o.field,
          o.path,
          `it ${how} ${i.field} (${i.path}), which this command reads; writing there would destroy the input, so choose another ${o.field}`,
        );
      }
    }
  }
}

/** Whether two paths name the same existing file (also through hard links). */
export async function sameFile(a: string, b: string): Promise<boolean> {
  const [sa, sb] = await Promise.all([stat(a).catch(() => undefined), stat(b).catch(() => undefined)]);
  if (sa && sb) return sa.dev === sb.dev && sa.ino === sb.ino;
  return (await canonicalPath(a)) === (await canonicalPath(b));
}

/** Whether `path` exists and is a folder with something in it, or any other file. */
export async function holdsSomething(path: string): Promise<boolean> {
  const s = await lstat(path).catch(() => undefined);
  if (!s) return false;
  if (!s.isDirectory()) return true;
  return (await readdir(path)).length > 0;
}

/**
 * Refuses to write over `path` when it already holds something and `force` is not set (the
 * rule every command follows for the outputs it would replace).
 */
export async function assertReplaceable(
  field: string,
  path: string,
  force: boolean | undefined,
  what: string,
): Promise<void> {
  if (!force && (await holdsSomething(path))) {
    throw new InvalidInputError(
      field,
      path,
      `already holds ${what}; pass --force to replace it (the new one is written aside and swapped in once complete), or choose another ${field}`,
    );
  }
}

/**
 * Moves the finished folder `staged` to `target`, replacing what is there: the old folder is
 * moved aside, the new one renamed in, then the old one removed, so `target` is never a mix of
 * the two nor half-written (a crash in between leaves the old one beside it, named `.replaced-`).
 */
export async function swapInFolder(staged: string, target: string): Promise<void> {
  const aside = `${target}.replaced-${process.pid}`;
  const had = await lstat(target).catch(() => undefined);
  if (had) {
    await rm(aside, { recursive: true, force: true });
    await rename(target, aside);
  }
  try {
    await rename(staged, target);
  } catch (error) {
    if (had) await rename(aside, target).catch(() => {});
    throw error;
  }
  if (had) await rm(aside, { recursive: true, force: true });
}
