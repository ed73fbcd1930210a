// HTTP transport: a concurrency limit, a timeout per attempt, retries with exponential backoff and
// full jitter on 429, 5xx, dropped connections, timeouts and unreadable responses, and counters
// that account for every call exactly once. Each logical call has one request id, sent as
// x-request-id on every attempt, so server logs can match retries to their call.
import { randomBytes } from 'node:crypto';
import { InvalidInputError } from '@vzero/core';
import { RemoteError, type FailureReason } from './errors.js';

export interface TransportOptions {
  /** Server root, e.g. http://127.0.0.1:8000 (a trailing /v1 is accepted and dropped). */
  readonly baseUrl: string;
  readonly apiKey?: string;
  /** Attempts in flight at once (default 8). */
  readonly concurrency?: number;
  /** Milliseconds per attempt, response body included (default 120000). */
  readonly timeoutMs?: number;
  /** Retries after the first attempt (default 5). */
  readonly maxRetries?: number;
  /** Backoff base: attempt a waits a random time in [0, min(maxBackoffMs, backoffMs * 2^a)] (default 250). */
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Lines about retries and failures (never headers or keys). */
  readonly logger?: (line: string) => void;
}

/** Counters of a transport; `calls = succeeded + failed + inFlight`, `attempts = calls tried + retries`. */
export interface RemoteStats {
  /** Logical calls started (one per request id). */
  readonly calls: number;
  /** HTTP attempts made, retries included. */
  readonly attempts: number;
  readonly retries: number;
  readonly succeeded: number;
  /** Calls that failed for good. */
  readonly failed: number;
  readonly inFlight: number;
  /** Failed attempts by reason (429, 5xx, network, timeout, malformed response, 4xx). */
  readonly failures: Readonly<Record<FailureReason, number>>;
}

const RETRYABLE: ReadonlySet<FailureReason> = new Set([
  'http-429',
  'http-5xx',
  'network',
  'timeout',
  'malformed-response',
]);

class Attempt extends Error {
  constructor(
    readonly reason: FailureReason,
    message: string,
    readonly status?: number,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

function checkInt(field: string, v: number | undefined, min: number): void {
  if (v !== undefined && (!Number.isInteger(v) || v < min)) {
    throw new InvalidInputError(`options.${field}`, v, `expected an integer >= ${min}`);
  }
}

export class Transport {
  readonly baseUrl: string;
  readonly concurrency: number;
  readonly timeoutMs: number;
  readonly maxRetries: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  readonly #apiKey: string | undefined;
  readonly #log: (line: string) => void;
  readonly #prefix = randomBytes(4).toString('hex');
  #next = 0;
  #active = 0;
  readonly #waiting: (() => void)[] = [];
  #stats = { calls: 0, attempts: 0, retries: 0, succeeded: 0, failed: 0 };
  readonly #failures: Record<FailureReason, number> = {
    'http-429': 0,
    'http-5xx': 0,
    'http-4xx': 0,
    network: 0,
    timeout: 0,
    'malformed-response': 0,
  };

  constructor(options: TransportOptions) {
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch {
      throw new InvalidInputError('options.baseUrl', options.baseUrl, 'expected an http(s) URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new InvalidInputError('options.baseUrl', options.baseUrl, 'expected an http(s) URL');
    }
    if (url.username || url.password) {
      throw new InvalidInputError(
        'options.baseUrl',
        `${url.protocol}//***@${url.host}`,
        'put credentials in the API key, not the URL',
      );
    }
    this.baseUrl = `${url.origin}${url.pathname.replace(/\/+$/, '').replace(/\/v1$/, '')}`;
    checkInt('concurrency', options.concurrency, 1);
    checkInt('timeoutMs', options.timeoutMs, 1);
    checkInt('maxRetries', options.maxRetries, 0);
    checkInt('backoffMs', options.backoffMs, 0);
    checkInt('maxBackoffMs', options.maxBackoffMs, 0);
    this.concurrency = options.concurrency ?? 8;
    this.timeoutMs = options.timeoutMs ?? 120_000;
    this.maxRetries = options.maxRetries ?? 5;
    this.backoffMs = options.backoffMs ?? 250;
    this.maxBackoffMs = options.maxBackoffMs ?? 10_000;
    this.#apiKey = options.apiKey;
    this.#log = options.logger ?? (() => {});
  }

  stats(): RemoteStats {
    const s = this.#stats;
    return { ...s, inFlight: s.calls - s.succeeded - s.failed, failures: { ...this.#failures } };
  }

  /** A fresh request id (one per logical call). */
  requestId(): string {
    return `vzero-${this.#prefix}-${++this.#next}`;
  }

  async #acquire(): Promise<void> {
    if (this.#active < this.concurrency) {
      this.#active++;
      return;
    }
    await new Promise<void>((ok) => this.#waiting.push(ok));
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#active--;
  }

  /**
   * Sends one logical call and parses its JSON with `parse` (which throws on a malformed body).
   * Retries what may succeed later; a 4xx other than 408/429 fails at once with the server's message.
   */
  async call<T>(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    parse: (json: unknown) => T,
    requestId = this.requestId(),
  ): Promise<T> {
    this.#stats.calls++;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    for (let attempt = 0; ; attempt++) {
      this.#stats.attempts++;
      let failure: Attempt;
      await this.#acquire();
      try {
        const json = await this.#attempt(method, path, payload, requestId);
        let parsed: T;
        try {
          parsed = parse(json);
        } catch (error) {
          throw new Attempt('malformed-response', `unexpected response: ${(error as Error).message}`);
        }
        this.#stats.succeeded++;
        return parsed;
      } catch (error) {
        failure = error instanceof Attempt ? error : new Attempt('network', (error as Error).message);
      } finally {
        this.#release();
      }
      this.#failures[failure.reason]++;
      const fields = { requestId, path, reason: failure.reason, attempts: attempt + 1 };
      if (!RETRYABLE.has(failure.reason) || attempt >= this.maxRetries) {
        this.#stats.failed++;
        this.#log(
          `failed ${method} ${path} id=${requestId} after ${attempt + 1} attempt(s): ${failure.message}`,
        );
        throw new RemoteError(
          failure.status !== undefined ? { ...fields, status: failure.status } : fields,
          failure.message,
        );
      }
      const cap = Math.min(this.maxBackoffMs, this.backoffMs * 2 ** attempt);
      const wait = Math.min(this.maxBackoffMs, Math.max(Math.random() * cap, failure.retryAfterMs ?? 0));
      this.#stats.retries++;
      this.#log(
        `retry ${attempt + 1}/${this.maxRetries} ${method} ${path} id=${requestId} after ${failure.message} (wait ${Math.round(wait)} ms)`,
      );
      await new Promise((ok) => setTimeout(ok, wait));
    }
  }

  async #attempt(
    method: string,
    path: string,
    payload: string | undefined,
    requestId: string,
  ): Promise<unknown> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    const headers: Record<string, string> = { 'x-request-id': requestId, accept: 'application/json' };
    if (payload !== undefined) headers['content-type'] = 'application/json';
    if (this.#apiKey !== undefined) headers['authorization'] = `Bearer ${this.#apiKey}`;
    try {
      let res: Response;
      let text: string;
      try {
        res = await fetch(`${this.baseUrl}${path}`, {
          method,
          headers,
          signal: controller.signal,
          ...(payload !== undefined ? { body: payload } : {}),
        });
        text = await res.text();
      } catch (error) {
        if (controller.signal.aborted)
          throw new Attempt('timeout', `no complete response within ${this.timeoutMs} ms`);
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        throw new Attempt(
          'network',
          `connection failed (${cause?.code ?? cause?.message ?? (error as Error).message})`,
        );
      }
      if (!res.ok) {
        const message = `HTTP ${res.status}: ${serverMessage(text)}`;
        const reason: FailureReason =
          res.status === 429 || res.status === 408 ? 'http-429' : res.status >= 500 ? 'http-5xx' : 'http-4xx';
        const after = Number(res.headers.get('retry-after'));
        throw new Attempt(
          reason,
          message,
          res.status,
          Number.isFinite(after) && after >= 0 ? after * 1000 : undefined,
        );
      }
      try {
        return JSON.parse(text) as unknown;
      } catch (error) {
        throw new Attempt(
          'malformed-response',
          `response is not JSON (${(error as Error).message})`,
          res.status,
        );
      }
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The error message of an OpenAI- or vLLM-style error body, shortened. */
function serverMessage(text: string): string {
  let message = text;
  try {
    const j = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    if (typeof j.error === 'object' && typeof j.error?.message === 'string') message = j.error.message;
    else if (typeof j.message === 'string') message = j.message;
    else if (typeof j.error === 'string') message = j.error;
  } catch {
    // not JSON: keep the text
  }
  return message.length > 300 ? `${message.slice(0, 297)}...` : message;
}
