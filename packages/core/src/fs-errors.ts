// File-system failures as one clear line: the path and the cause in words ("no space left on
// the device"), never a stack trace. Also the two write helpers every output goes through:
// folders created one level at a time (Node's recursive mkdir spins forever under /proc) and
// files written to a temporary name and renamed, so a failed write never leaves a half file
// under the real name for a later command to trust.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { VZeroError } from './errors.js';

const CAUSES: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large for the file system or the process limit (ulimit -f)',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'is a folder, not a file',
  ENOENT: 'no such file or folder',
  EEXIST: 'already exists',
  ENAMETOOLONG: 'name too long',
  ELOOP: 'too many symbolic links',
  EMFILE: 'too many open files',
  EIO: 'input/output error',
  EBUSY: 'resource busy',
  EXDEV: 'cannot rename across file systems',
};

/** A file-system operation failed; `path` and `errno` say where and why. */
export class FileSystemError extends VZeroError {
  readonly path: string;
  readonly errno: string | undefined;
  constructor(path: string, cause: string, errno?: string, options?: { cause?: unknown }) {
    super('FILE_SYSTEM', `${path}: ${cause}${errno ? ` (${errno})` : ''}`, options);
    this.path = path;
    this.errno = errno;
  }
}

/**
 * A system error of Node's (what `fs` and `net` throw): the fields the toolkit reads, declared
 * here so that the declarations need no Node typings (Node's ErrnoException with a code and a
 * syscall is one).
 */
export interface SystemError extends Error {
  /** The errno code, e.g. "ENOSPC". */
  readonly code: string;
  /** The system call that failed, e.g. "open". */
  readonly syscall: string;
  readonly errno?: number | undefined;
  readonly path?: string | undefined;
}

/** True for Node's system errors (they carry an errno code such as ENOSPC and a syscall). */
export function isSystemError(error: unknown): error is SystemError {
  const e = error as { code?: unknown; syscall?: unknown };
  return (
    error instanceof Error &&
    typeof e.code === 'string' &&
    /^E[A-Z0-9]+$/.test(e.code) &&
    typeof e.syscall === 'string'
  );
}

/** The cause of a system error in words. */
export function describeErrno(code: string | undefined): string {
  return (code && CAUSES[code]) ?? 'file-system error';
}

/** Converts a Node system error into a FileSystemError (anything else passes through). */
export function toFileSystemError(error: unknown, path?: string, action?: string): unknown {
  if (error instanceof VZeroError || !isSystemError(error)) return error;
  const where = error.path ?? path ?? '(unknown path)';
  const cause = `${action ? `cannot ${action}: ` : ''}${describeErrno(error.code)}`;
  return new FileSystemError(where, cause, error.code, { cause: error });
}

/**
 * Creates `dir` and its missing parents one level at a time and checks that it is a writable
 * folder. Errors name the level that failed: a file in the way, a read-only file system, a
 * pseudo file system such as /proc that refuses new folders.
 */
export async function ensureWritableDir(dir: string, field = 'folder'): Promise<string> {
  const full = resolve(dir);
  const missing: string[] = [];
  let cur = full;
  for (;;) {
    const s = await stat(cur).catch((e: NodeJS.ErrnoException) => e);
    if (!(s instanceof Error)) {
      if (!s.isDirectory()) {
        throw new FileSystemError(cur, `${field} ${dir}: this is a file, not a folder`, 'ENOTDIR');
      }
      break;
    }
    // ENOTDIR: a file further up; walking up finds it and names it.
    if (s.code !== 'ENOENT' && s.code !== 'ENOTDIR') throw toFileSystemError(s, cur, 'look at');
    const parent = dirname(cur);
    if (parent === cur) break;
    missing.unshift(cur);
    cur = parent;
  }
  for (const level of missing) {
    try {
      await mkdir(level);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        const s = await stat(level);
        if (s.isDirectory()) continue;
        throw new FileSystemError(level, `${field} ${dir}: this is a file, not a folder`, 'ENOTDIR');
      }
      throw toFileSystemError(error, level, `create the folder for ${field}`);
    }
  }
  try {
    await access(full, constants.W_OK);
  } catch (error) {
    throw toFileSystemError(error, full, `write into ${field}`);
  }
  return full;
}

/**
 * Writes `data` to `path` through a temporary file in the same folder and a rename, so readers
 * see the old file or the whole new one, never a part. A failure removes the temporary file.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true }).catch(() => {});
    throw toFileSystemError(error, path, 'write');
  }
}
