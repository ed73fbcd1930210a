// startServer: node:http in front of the Engine. node:http rather than a framework: five routes,
// and the parts that matter here (body limits counted while streaming, keep-alive handling at
// shutdown, one log line per request) are a few lines each with full control.
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, resolve } from 'node:path';
import { InvalidInputError, selectBackend } from '@vzero/core';
import type { BackendName } from '@vzero/core';
import { LocalPolicy, loadCheckpoint } from '@vzero/model';
import type { ZodType } from 'zod';
import { Engine, RequestCancelledError } from './engine.js';
import { HttpError, fromZod } from './errors.js';
import { stopRenderers } from './images.js';
import {
  chatSchema,
  completionSchema,
  detokenizeSchema,
  tokenizeChatSchema,
  tokenizePromptSchema,
} from './schemas.js';

export interface ServeOptions {
  /** Checkpoint folder (saveCheckpoint's layout). One of `checkpoint` and `policy` is required. */
  readonly checkpoint?: string;
  /** An already loaded policy to serve instead of a checkpoint folder. */
  readonly policy?: LocalPolicy;
  /** The model name clients must send (default: the checkpoint folder's name, or policy.name). */
  readonly modelName?: string;
  /** Interface to bind (default 127.0.0.1: loopback only). */
  readonly host?: string;
  /** Port (default 8000; 0 picks a free port, see `port` on the result). */
  readonly port?: number;
  /** Largest request body in bytes (default 32 MiB); larger is a 413. */
  readonly maxBodyBytes?: number;
  /** Largest decoded image, width x height (default 2^24 = 4096 x 4096); larger is a 413. */
  readonly maxImagePixels?: number;
  /**
   * Decoded image pixels all requests together may hold at once (default 4 x maxImagePixels);
   * a request whose images would pass it gets a 503 (retry) instead of the server's memory.
   */
  readonly maxPendingPixels?: number;
  /** Milliseconds one image may take to decode (default 10000); longer is a 503. */
  readonly imageTimeoutMs?: number;
  /**
   * Accept SVG images (default false: a tiny SVG can ask for a render that never ends). When
   * true they are rendered in a child process killed at imageTimeoutMs.
   */
  readonly allowSvg?: boolean;
  /** Model calls queued at once before new ones get 503 (default 256). */
  readonly maxQueue?: number;
  /** When set, requests must carry `Authorization: Bearer <apiKey>` (else 401). Never logged. */
  readonly apiKey?: string;
  /** One line per request ("POST /v1/completions 200 12.3ms id=..."), plus start/stop lines. */
  readonly logger?: (line: string) => void;
  /** Close cleanly on SIGTERM and SIGINT (default false: the caller owns signals). */
  readonly handleSignals?: boolean;
  /** Select this tfjs backend before loading (default: whatever is active). */
  readonly backend?: BackendName;
  /** Milliseconds close() waits for in-flight requests before dropping connections (default 30000). */
  readonly shutdownTimeoutMs?: number;
}

export interface RunningServer {
  /** Base URL, e.g. http://127.0.0.1:8000 (clients append /v1). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly modelName: string;
  readonly policy: LocalPolicy;
  /** Requests being served now. */
  inFlight(): number;
  /** Decoded image pixels reserved by requests now, against maxPendingPixels. */
  pendingImagePixels(): number;
  /** Stops accepting, lets in-flight requests finish, then closes every connection. Idempotent. */
  close(): Promise<void>;
  /** Resolves once the server has closed (by close() or a signal). */
  readonly closed: Promise<void>;
}

/** The defaults of startServer's options (the `vzero serve` command shows these). */
export const SERVE_DEFAULTS = {
  host: '127.0.0.1',
  port: 8000,
  maxBodyBytes: 32 * 1024 * 1024,
  maxImagePixels: 2 ** 24,
  imageTimeoutMs: 10_000,
  maxQueue: 256,
  shutdownTimeoutMs: 30_000,
} as const;
const DEFAULTS = SERVE_DEFAULTS;

function positiveInt(field: string, value: number | undefined, min = 1): void {
  if (value !== undefined && (!Number.isInteger(value) || value < min)) {
    throw new InvalidInputError(`options.${field}`, value, `expected an integer >= ${min}`);
  }
}

/** Loads the checkpoint (or takes the policy) and listens; resolves once the port is bound. */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  if ((options.checkpoint === undefined) === (options.policy === undefined)) {
    throw new InvalidInputError(
      'options.checkpoint',
      options.checkpoint,
      'give exactly one of checkpoint and policy',
    );
  }
  positiveInt('maxBodyBytes', options.maxBodyBytes);
  positiveInt('maxImagePixels', options.maxImagePixels);
  positiveInt('maxPendingPixels', options.maxPendingPixels);
  positiveInt('imageTimeoutMs', options.imageTimeoutMs);
  positiveInt('maxQueue', options.maxQueue);
  positiveInt('shutdownTimeoutMs', options.shutdownTimeoutMs, 0);
  const port = options.port ?? DEFAULTS.port;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidInputError('options.port', port, 'expected an integer in [0, 65535]');
  }
  if (options.apiKey !== undefined && options.apiKey === '') {
    throw new InvalidInputError('options.apiKey', '<empty>', 'expected a non-empty key or no key');
  }
  if (options.backend) await selectBackend({ prefer: options.backend });
  let policy = options.policy;
  let modelName = options.modelName;
  if (!policy) {
    const dir = resolve(options.checkpoint as string);
    const loaded = await loadCheckpoint(dir);
    modelName ??= basename(dir);
    policy = new LocalPolicy(loaded.model, loaded.tokenizer, { name: modelName });
  }
  modelName ??= policy.name;
  const host = options.host ?? DEFAULTS.host;
  const maxBody = options.maxBodyBytes ?? DEFAULTS.maxBodyBytes;
  const maxQueue = options.maxQueue ?? DEFAULTS.maxQueue;
  const log = options.logger ?? (() => {});
  const maxImagePixels = options.maxImagePixels ?? DEFAULTS.maxImagePixels;
  const engine = new Engine(policy, modelName, {
    maxPixels: maxImagePixels,
    maxPendingPixels: Math.max(options.maxPendingPixels ?? 4 * maxImagePixels, 1),
    timeoutMs: options.imageTimeoutMs ?? DEFAULTS.imageTimeoutMs,
    allowSvg: options.allowSvg ?? false,
  });
  const key = options.apiKey !== undefined ? Buffer.from(`Bearer ${options.apiKey}`) : undefined;

  let active = 0;
  let closing = false;
  let onIdle: (() => void) | undefined;

  const route = async (
    req: IncomingMessage,
    requestId: string,
    signal: AbortSignal,
  ): Promise<[number, object]> => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (key) {
      const got = Buffer.from(req.headers.authorization ?? '');
      if (got.length !== key.length || !timingSafeEqual(got, key)) {
        throw new HttpError(401, 'authorization', 'missing or wrong API key', 'authentication_error');
      }
    }
    const routes: Record<string, 'GET' | 'POST'> = {
      '/v1/models': 'GET',
      '/health': 'GET',
      '/v1/chat/completions': 'POST',
      '/v1/completions': 'POST',
      '/tokenize': 'POST',
      '/detokenize': 'POST',
    };
    const method = routes[path];
    if (!method) throw new HttpError(404, null, `no route ${path}`, 'not_found_error');
    if (req.method !== method) throw new HttpError(405, null, `${path} takes ${method}`);
    if (path === '/v1/models') return [200, engine.models()];
    if (path === '/health') return [200, { status: 'ok' }];
    // A body in another media type (text/plain from a careless client, a form) is refused
    // rather than parsed as JSON by guesswork.
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    if (type !== 'application/json' && !/^application\/[\w.+-]+\+json$/.test(type)) {
      req.resume();
      throw new HttpError(
        415,
        'content-type',
        `expected application/json, got ${type === '' ? 'no content-type' : JSON.stringify(type)}`,
        'unsupported_media_type',
      );
    }
    const body = await readJson(req, maxBody);
    // An unknown model is a 404 before any other field is looked at.
    if (isObject(body) && typeof body['model'] === 'string') engine.checkModel(body['model']);
    if (path === '/tokenize') {
      if (isObject(body) && 'messages' in body) {
        const r = parse(tokenizeChatSchema, body);
        engine.checkModel(r.model);
        return [200, await engine.tokenizeMessages(r.messages, r.add_special_tokens ?? true, signal)];
      }
      const r = parse(tokenizePromptSchema, body);
      engine.checkModel(r.model);
      return [200, await engine.tokenize(r.prompt, r.add_special_tokens ?? true, 'prompt', signal)];
    }
    if (path === '/detokenize') {
      const r = parse(detokenizeSchema, body);
      engine.checkModel(r.model);
      return [200, engine.detokenize(r.tokens, r.skip_special_tokens === false)];
    }
    if (engine.pending >= maxQueue) {
      throw new HttpError(503, null, `server busy: ${engine.pending} model calls queued`, 'server_busy');
    }
    if (path === '/v1/chat/completions')
      return [200, await engine.chat(parse(chatSchema, body), requestId, signal)];
    return [200, await engine.completion(parse(completionSchema, body), requestId, signal)];
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const start = performance.now();
    const header = req.headers['x-request-id'];
    const requestId =
      (typeof header === 'string' && /^[\w.:-]{1,128}$/.test(header) ? header : '') || randomUUID();
    active++;
    if (closing) res.setHeader('connection', 'close');
    res.setHeader('x-request-id', requestId);
    let status = 500;
    // A client that closes its connection before the answer cancels its work: queued model
    // calls are skipped, and the request is logged as cancelled (status 499), not as an error.
    const cancel = new AbortController();
    let settled = false;
    const done = (): void => {
      if (!res.writableFinished) {
        cancel.abort();
        if (!settled) status = 499;
      }
      active--;
      log(
        `${req.method ?? '?'} ${(req.url ?? '').split('?')[0]} ${status} ${(performance.now() - start).toFixed(1)}ms id=${requestId}${status === 499 ? ' (cancelled: the client closed the connection)' : ''}`,
      );
      if (active === 0 && onIdle) onIdle();
    };
    res.once('close', done);
    route(req, requestId, cancel.signal).then(
      ([code, payload]) => {
        settled = true;
        status = code;
        send(res, code, payload);
      },
      (error: unknown) => {
        settled = true;
        if (error instanceof RequestCancelledError || cancel.signal.aborted) {
          status = 499;
          return;
        }
        const e =
          error instanceof HttpError
            ? error
            : new HttpError(500, null, 'internal error', 'internal_server_error');
        if (!(error instanceof HttpError))
          log(`error id=${requestId}: ${(error as Error)?.stack ?? String(error)}`);
        status = e.status;
        if (e.status === 413) res.setHeader('connection', 'close');
        send(res, e.status, { error: { message: e.message, type: e.type, param: e.param, code: e.status } });
      },
    );
  };

  const server = createServer({ keepAliveTimeout: 5000 }, handle);
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      ok();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  log(`serving ${modelName} at http://${urlHost}:${bound}/v1 (tokenizer ${policy.tokenizerId})`);

  let resolveClosed: () => void = () => {};
  const closed = new Promise<void>((ok) => {
    resolveClosed = ok;
  });
  let closePromise: Promise<void> | undefined;
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];
  const onSignal = (signal: NodeJS.Signals): void => {
    log(`${signal}: shutting down (send it again to stop at once)`);
    void close();
  };
  // A second signal during shutdown ends the process now (128 + the signal's number).
  const onSecondSignal = (signal: NodeJS.Signals): void => {
    log(`${signal} again: stopping now`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  const close = (): Promise<void> =>
    (closePromise ??= new Promise<void>((ok) => {
      closing = true;
      // Image work that could outlast the shutdown stops now (its requests get a 503).
      stopRenderers();
      if (options.handleSignals)
        for (const s of signals) {
          process.off(s, onSignal);
          process.once(s, onSecondSignal);
        }
      const timer = setTimeout(
        () => server.closeAllConnections(),
        options.shutdownTimeoutMs ?? DEFAULTS.shutdownTimeoutMs,
      );
      timer.unref();
      server.close(() => {
        clearTimeout(timer);
        if (options.handleSignals) for (const s of signals) process.off(s, onSecondSignal);
        log(`closed ${modelName}`);
        resolveClosed();
        ok();
      });
      // Idle keep-alive sockets close now; busy ones after their response (connection: close).
      server.closeIdleConnections();
      onIdle = () => server.closeIdleConnections();
      if (active === 0) server.closeIdleConnections();
    }));
  if (options.handleSignals) for (const s of signals) process.once(s, onSignal);

  return {
    url: `http://${urlHost}:${bound}`,
    host,
    port: bound,
    modelName,
    policy,
    inFlight: () => active,
    pendingImagePixels: () => engine.pendingPixels,
    close,
    closed,
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function parse<T>(schema: ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body);
  if (!r.success) throw fromZod(r.error);
  return r.data;
}

function send(res: ServerResponse, status: number, payload: object): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(payload);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Reads a JSON body, counting bytes as they arrive; over `limit` is a 413, bad JSON a 400. */
function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  return new Promise((ok, fail) => {
    const declared = Number(req.headers['content-length'] ?? Number.NaN);
    const tooLarge = (n: number) =>
      new HttpError(413, 'body', `${n} bytes exceed the limit of ${limit} bytes`);
    if (declared > limit * 8) {
      // Far too large to drain: answer now and drop the connection.
      fail(tooLarge(declared));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on('error', fail);
    req.on('end', () => {
      if (size > limit) return fail(tooLarge(size));
      try {
        ok(JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown);
      } catch (error) {
        fail(new HttpError(400, 'body', `invalid JSON: ${(error as Error).message}`));
      }
    });
  });
}
