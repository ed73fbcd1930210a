// `vzero serve --api tinker`: the toolkit's models behind the Tinker training API on loopback
// by default, with the OpenAI server's conventions (API key, logs, SIGINT/SIGTERM close it
// cleanly: running jobs finish, held polls end, checkpoints stay on disk for a restart).
import { mkdir } from 'node:fs/promises';
import { createTinkerServer } from '@vzero/tinker';
import { ToolkitTinkerBackend } from './backend.js';
import { SERVE_DEFAULTS } from '../server.js';

export interface TinkerServiceOptions {
  /** Base models by served name: a toolkit checkpoint folder each. */
  readonly baseModels: Readonly<Record<string, string>>;
  /** Where trained models' checkpoints are written. */
  readonly root: string;
  readonly host?: string;
  readonly port?: number;
  readonly apiKey?: string;
  readonly maxImagePixels?: number;
  /** Close on SIGINT / SIGTERM (default true). */
  readonly handleSignals?: boolean;
  readonly log?: (line: string) => void;
}

export interface RunningTinkerService {
  readonly url: string;
  close(): Promise<void>;
  /** Settles once the service has closed (after close() or a signal). */
  readonly closed: Promise<void>;
}

export async function startTinkerService(options: TinkerServiceOptions): Promise<RunningTinkerService> {
  const log = options.log ?? (() => {});
  await mkdir(options.root, { recursive: true });
  const backend = new ToolkitTinkerBackend({
    baseModels: options.baseModels,
    root: options.root,
    ...(options.maxImagePixels !== undefined ? { maxImagePixels: options.maxImagePixels } : {}),
  });
  const server = await createTinkerServer({
    backend,
    host: options.host ?? SERVE_DEFAULTS.host,
    port: options.port ?? SERVE_DEFAULTS.port,
    ...(options.apiKey !== undefined ? { apiKey: options.apiKey } : {}),
    onError: (error, context) => log(`${context}: ${error instanceof Error ? error.message : String(error)}`),
  });
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  let closing: Promise<void> | undefined;
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
  const close = (): Promise<void> => {
    closing ??= (async () => {
      for (const s of signals) process.off(s, onSignal);
      await server.close();
      log('tinker service closed');
      resolveClosed();
    })();
    return closing;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: closing (running jobs finish; checkpoints stay in ${options.root})`);
    void close();
  };
  if (options.handleSignals ?? true) for (const s of signals) process.on(s, onSignal);
  log(
    `tinker service on ${server.url} (base models: ${Object.keys(options.baseModels).join(', ')}; checkpoints in ${options.root}${options.apiKey ? '; API key required' : ''})`,
  );
  return { url: server.url, close, closed };
}
