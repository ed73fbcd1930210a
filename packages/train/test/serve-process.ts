// `vzero serve` as a real child process on loopback (node + tsx, as `pnpm vzero serve` runs it),
// for the tests of remote evaluation and of several teacher replicas: its URL once it listens,
// the requests it logged, and a way to kill it.
import { spawn, type ChildProcess } from 'node:child_process';
import { repoRoot } from './cli-process.js';

export interface ServeProcess {
  readonly url: string;
  readonly port: number;
  readonly child: ChildProcess;
  /** POST lines it logged so far, by path ("/v1/completions", ...), status 200 only. */
  readonly posts: Map<string, number>;
  /** All stderr lines. */
  readonly lines: string[];
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
  /** Calls `fn` with every later stderr line. */
  watch(fn: (line: string) => void): void;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function serveProcess(
  checkpoint: string,
  options: {
    readonly port?: number;
    readonly env?: NodeJS.ProcessEnv;
    readonly startMs?: number;
    /** More `vzero serve` arguments (e.g. ['--model', 'NAME']). */
    readonly args?: readonly string[];
  } = {},
): Promise<ServeProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'packages/train/src/bin.ts',
      'serve',
      '--checkpoint',
      checkpoint,
      '--host',
      '127.0.0.1',
      '--port',
      String(options.port ?? 0),
      ...(options.args ?? []),
    ],
    { cwd: repoRoot, env: { ...process.env, ...options.env }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const lines: string[] = [];
  const watchers: ((line: string) => void)[] = [];
  const posts = new Map<string, number>();
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
  let buffer = '';
  const listening = new Promise<number>((ok, fail) => {
    const timer = setTimeout(
      () =>
        fail(
          new Error(`vzero serve did not start within ${options.startMs ?? 60_000} ms:\n${lines.join('\n')}`),
        ),
      options.startMs ?? 60_000,
    );
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        lines.push(line);
        const m = /^serving \S+ at http:\/\/127\.0\.0\.1:(\d+)\/v1/.exec(line);
        if (m) {
          clearTimeout(timer);
          ok(Number(m[1]));
        }
        const post = /^POST (\S+) 200 /.exec(line);
        if (post) posts.set(post[1] as string, (posts.get(post[1] as string) ?? 0) + 1);
        for (const fn of watchers) fn(line);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      fail(new Error(`vzero serve exited before listening:\n${lines.join('\n')}`));
    });
  });
  const port = await listening;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    child,
    posts,
    lines,
    exited,
    watch: (fn) => void watchers.push(fn),
    kill: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** Requests of one kind a server answered. */
export function served(p: ServeProcess, path: string): number {
  return p.posts.get(path) ?? 0;
}
