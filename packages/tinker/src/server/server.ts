// createTinkerServer: the Tinker API on node:http, with the endpoints, status codes and error
// bodies of SkyRL's server (github.com/NovaSky-AI/SkyRL skyrl/tinker/api.py at a9564572) and the
// SDK's expectations (github.com/thinking-machines-lab/tinker src/tinker at d595dc2b, SDK
// 0.25.0): sessions with heartbeats (expiring), client config (which tells a client to send
// forward_backward as protobuf), server capabilities, an async futures table (each model's
// requests run in seq_id order; retrieve_future holds a poll up to retrieveWaitMs, then answers
// try_again; results expire after futureTtlMs), checkpoints under tinker:// paths, API-key auth
// when an apiKey is set, a body size limit, and a clean close. The work itself goes to a
// TinkerBackend. PROTOCOL.md lists every route and where each rule comes from.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import type { TinkerBackend } from './backend.js';
import { HttpError, readBody, sendJson } from './http.js';
import { API, Router } from './router.js';
import { checkpointRoutes } from './routes/checkpoints.js';
import { retrieveRoutes } from './routes/retrieve.js';
import { samplingRoutes } from './routes/sampling.js';
import { serviceRoutes } from './routes/service.js';
import { trainingRoutes } from './routes/training.js';
import { ServerState, categoryOf } from './state.js';

export interface TinkerServerOptions {
  readonly backend: TinkerBackend;
  /** Default 127.0.0.1 (loopback only). */
  readonly host?: string;
  /** Default 0: any free port (read it from the returned server). */
  readonly port?: number;
  /** When set, every route but /api/v1/healthz needs it in X-API-Key or Authorization: Bearer. */
  readonly apiKey?: string;
  /** Request bodies larger than this are refused with 413 (default 256 MiB). */
  readonly maxBodyBytes?: number;
  /** Settled results are kept this long, then retrieve_future answers 410 (default 1 hour). */
  readonly futureTtlMs?: number;
  /** How long retrieve_future holds a poll for a pending result before try_again (default 10 s). */
  readonly retrieveWaitMs?: number;
  /** A session without a heartbeat for this long expires (default 10 minutes). */
  readonly sessionTtlMs?: number;
  /** Tell clients (client config proto_write_fwdbwd, fwd_via_fwdbwd) to send protobuf (default true). */
  readonly protobuf?: boolean;
  /** Client config fwdbwd_max_chunk_len: datums per forward_backward request (default 1024). */
  readonly fwdbwdMaxChunkLen?: number;
  /** How long a model's queue waits for a missing seq_id before going on (default 30 s). */
  readonly seqGapTimeoutMs?: number;
  /** Failures of backend calls and of the server itself, for logs. */
  readonly onError?: (error: unknown, context: string) => void;
}

export interface TinkerServer {
  /** "http://127.0.0.1:PORT" */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Stops accepting, ends held polls, waits for running jobs, closes the backend. */
  close(): Promise<void>;
}

export interface TinkerServer {
  /** "http://127.0.0.1:PORT" */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Stops accepting, ends held polls, waits for running jobs, closes the backend. */
  close(): Promise<void>;
}

function keyMatches(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function createTinkerServer(options: TinkerServerOptions): Promise<TinkerServer> {
  const state = new ServerState(options);
  const maxBody = options.maxBodyBytes ?? 256 * 1024 * 1024;
  const router = new Router();
  for (const register of [serviceRoutes, trainingRoutes, checkpointRoutes, samplingRoutes, retrieveRoutes])
    register(router, state);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    try {
      if (state.closing) throw new HttpError(503, 'Server is shutting down');
      if (options.apiKey !== undefined && url.pathname !== `${API}/healthz`) {
        const header = req.headers['x-api-key'];
        const bearer = /^Bearer\s+(.+)$/i.exec(String(req.headers.authorization ?? ''))?.[1];
        const given = (Array.isArray(header) ? header[0] : header) ?? bearer;
        if (!keyMatches(options.apiKey, given)) throw new HttpError(401, 'Invalid or missing API key');
      }
      const found = router.match(method, url.pathname);
      if (!found) {
        const other = router.hasPath(url.pathname);
        throw new HttpError(other ? 405 : 404, other ? 'Method Not Allowed' : 'Not Found');
      }
      const body = method === 'POST' ? await readBody(req, maxBody) : Buffer.alloc(0);
      await found.handler({ req, res, body, params: found.params });
    } catch (error) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof HttpError) {
        sendJson(
          res,
          error.status,
          { detail: error.detail },
          error.status === 413 ? { Connection: 'close' } : {},
        );
        return;
      }
      if (categoryOf(error) === 'user') {
        // Bad input found by a helper or the backend while handling the request itself.
        sendJson(res, 400, { detail: (error as Error).message });
        return;
      }
      state.onError(error, `${method} ${url.pathname}`);
      sendJson(res, 500, { detail: 'Internal Server Error' });
    }
  }

  const server: Server = createServer((req, res) => void handle(req, res));
  server.keepAliveTimeout = 5_000;
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const sweeper = setInterval(() => state.sweep(), Math.min(60_000, Math.max(1_000, state.sessionTtlMs / 4)));
  sweeper.unref();
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  let closed: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    host,
    port,
    close() {
      closed ??= (async () => {
        state.closing = true;
        clearInterval(sweeper);
        state.futures.wakeAll();
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await Promise.allSettled([...state.running]);
        await Promise.allSettled([...state.models.values()].map((m) => m.queue.idle()));
        for (const m of state.models.values()) m.queue.dispose();
        server.closeAllConnections();
        await stopped;
        await state.backend.close?.();
      })();
      return closed;
    },
  };
}
