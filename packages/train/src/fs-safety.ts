// No command writes into a file or folder it reads from: every command lists what it will write
// and what it reads, and this check runs before its first write. Paths are compared after
// resolving symbolic links (of the part that exists), so `out -> models/student` is caught too.
import { realpath, stat } from 'node:fs/promises';
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
