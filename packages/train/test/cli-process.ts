// Runs the real `vzero` CLI in a child process (node + tsx, as `pnpm vzero` does), for the tests
// that are about what a user sees: the exit code, stderr, no stack trace, no hang.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

export interface ProcessResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly out: string;
  readonly err: string;
  readonly ms: number;
}

export function vzero(args: readonly string[], timeoutMs = 60_000): Promise<ProcessResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'packages/train/src/bin.ts', ...args],
      { cwd: repoRoot, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const e = error as (Error & { code?: number | string; signal?: NodeJS.Signals }) | null;
        resolve({
          code: e ? (typeof e.code === 'number' ? e.code : null) : 0,
          signal: e?.signal ?? null,
          out: stdout,
          err: stderr,
          ms: Date.now() - started,
        });
      },
    );
  });
}

/** The stderr of a failed command is one `error:` line: no stack frames, no dumped source. */
export function expectOneLineError(r: ProcessResult): string {
  const lines = r.err.split('\n').filter((l) => l.trim() !== '');
  const errors = lines.filter((l) => l.startsWith('error: '));
  // Stack frames, Node's caret under a source line, or a dumped (minified) source line.
  const stackish = lines.filter((l) => /^\s+at /.test(l) || /^\s*\^+\s*$/.test(l) || l.length > 2000);
  if (r.code !== 1 || errors.length !== 1 || stackish.length > 0) {
    throw new Error(
      `expected exit code 1 and one error line, got code ${r.code} (signal ${r.signal}) and stderr:\n${r.err.slice(0, 2000)}`,
    );
  }
  return errors[0] as string;
}
