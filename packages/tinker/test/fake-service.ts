// A scripted Tinker service on loopback for the client's conformance tests: a real node:http
// server that records every request and answers what the test scripted, with the bodies the
// SDK's types and SkyRL's server define (cited where they are written, in the tests).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
  /** The body parsed as JSON when it is JSON. */
  readonly json: unknown;
}

/** One scripted answer. */
export interface Step {
  readonly status?: number;
  readonly json?: unknown;
  readonly bytes?: Uint8Array;
  readonly contentType?: string;
  readonly headers?: Record<string, string>;
  /** Wait this long before answering. */
  readonly delayMs?: number;
  /** Close the connection without an answer. */
  readonly hangUp?: boolean;
}

type Handler = (request: Recorded) => Step | Promise<Step>;

export class FakeService {
  readonly requests: Recorded[] = [];
  /** Answers per "METHOD /path"; a function or a queue (its last step repeats). */
  readonly routes = new Map<string, Handler | Step[]>();
  #server: Server | undefined;
  #port = 0;

  constructor() {
    // The handshake of internal_client_holder.py: client config, then a session.
    this.routes.set('POST /api/v1/client/config', [{ json: { pjwt_auth_enabled: false } }]);
    this.routes.set('POST /api/v1/create_session', [
      { json: { type: 'create_session', session_id: 'session_fake' } },
    ]);
    this.routes.set('POST /api/v1/session_heartbeat', [{ json: { type: 'session_heartbeat' } }]);
    // SkyRL api.py create_model answers the model id with its future.
    this.routes.set('POST /api/v1/create_model', [
      { json: { model_id: 'model_fake', base_model: 'base', status: 'created', request_id: '1' } },
    ]);
    this.retrieve('1', [{ json: { model_id: 'model_fake', type: 'create_model' } }]);
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  get port(): number {
    return this.#port;
  }

  /** Scripts retrieve_future for one request id. */
  retrieve(requestId: string, steps: Step[]): void {
    this.#retrieve.set(requestId, [...steps]);
  }
  readonly #retrieve = new Map<string, Step[]>();

  /** Requests to one path. */
  to(path: string): Recorded[] {
    return this.requests.filter((r) => r.path === path);
  }

  async start(port = 0): Promise<void> {
    this.#server = createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve) => this.#server!.listen(port, '127.0.0.1', resolve));
    this.#port = (this.#server.address() as AddressInfo).port;
  }

  /** Stops at once, dropping open connections (a killed server). */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parts: Buffer[] = [];
    for await (const chunk of req) parts.push(chunk as Buffer);
    const body = Buffer.concat(parts);
    let json: unknown;
    if (String(req.headers['content-type'] ?? '').includes('json')) json = JSON.parse(body.toString('utf8'));
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const recorded: Recorded = { method: req.method ?? 'GET', path, headers: req.headers, body, json };
    this.requests.push(recorded);
    let step: Step;
    if (path === '/api/v1/retrieve_future') {
      const id = (json as { request_id: string }).request_id;
      const queue = this.#retrieve.get(id);
      step = queue
        ? queue.length > 1
          ? queue.shift()!
          : queue[0]!
        : { status: 404, json: { detail: 'Future not found' } };
    } else {
      const route = this.routes.get(`${recorded.method} ${path}`);
      if (route === undefined) step = { status: 404, json: { detail: 'Not Found' } };
      else if (typeof route === 'function') step = await route(recorded);
      else step = route.length > 1 ? route.shift()! : route[0]!;
    }
    if (step.delayMs) await new Promise((r) => setTimeout(r, step.delayMs));
    if (step.hangUp) {
      req.socket.destroy();
      return;
    }
    const headers = { ...step.headers };
    if (step.bytes) {
      res.writeHead(step.status ?? 200, {
        'Content-Type': step.contentType ?? 'application/x-protobuf',
        ...headers,
      });
      res.end(step.bytes);
      return;
    }
    const text = JSON.stringify(step.json ?? {});
    res.writeHead(step.status ?? 200, { 'Content-Type': 'application/json', ...headers });
    res.end(text);
  }
}
