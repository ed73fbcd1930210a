// HTTP to a Tinker service, with the SDK's retry rules: 408, 409, 429 and 5xx (and no response
// at all) are retried with exponential backoff and jitter, honouring Retry-After; everything else
// fails at once. Bounded by a retry count and an overall deadline, then a TinkerApiError or
// TinkerTimeoutError naming the endpoint and the status. The API key travels in X-API-Key, as
// the SDK sends it (src/tinker/lib/_auth_token_provider.py), and nowhere else: not in errors,
// not in log events.
//
// Sources (github.com/thinking-machines-lab/tinker at d595dc2b, SDK 0.25.0):
// src/tinker/_base_client.py (_should_retry, _calculate_retry_timeout, _parse_retry_after_header),
// src/tinker/_constants.py (10 retries, 0.5 s initial delay, 10 s cap, 60 s timeout),
// src/tinker/lib/internal_client_holder.py (execute_with_retries: 408, 409, 429, 5xx).
import { TinkerApiError, TinkerTimeoutError } from './errors.js';

export interface RetryOptions {
  /** Retries after the first attempt (default 10, the SDK's DEFAULT_MAX_RETRIES). */
  readonly maxRetries?: number;
  /** First backoff in ms (default 500); doubles each retry. */
  readonly initialDelayMs?: number;
  /** Backoff cap in ms (default 10 000). */
  readonly maxDelayMs?: number;
  /** A Retry-After up to this many ms is obeyed as given (default 60 000). */
  readonly maxRetryAfterMs?: number;
}

/** What the transport reports as it goes (for logs and tests); never holds the key. */
export type TransportEvent =
  | {
      readonly type: 'retry';
      readonly endpoint: string;
      readonly status: number;
      readonly attempt: number;
      readonly delayMs: number;
    }
  | { readonly type: 'request'; readonly endpoint: string; readonly method: string };

export interface TransportOptions {
  /** e.g. "http://127.0.0.1:8000" (no trailing /api/v1). */
  readonly baseUrl: string;
  readonly apiKey?: string | undefined;
  /** Per attempt, ms (default 60 000, the SDK's DEFAULT_TIMEOUT). */
  readonly requestTimeoutMs?: number;
  /** All attempts of one call together, ms (default 300 000, execute_with_retries' MAX_WAIT_TIME). */
  readonly callTimeoutMs?: number;
  readonly retry?: RetryOptions;
  readonly onEvent?: (event: TransportEvent) => void;
  /** Jitter source in [0, 1) (default Math.random). */
  readonly random?: () => number;
  /** Extra headers on every request (never logged). */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Uint8Array;
}

export interface RequestOptions {
  readonly method?: 'GET' | 'POST';
  /** A JSON body (stringified here). */
  readonly json?: unknown;
  /** A raw body with its content type. */
  readonly body?: Uint8Array;
  readonly contentType?: string;
  readonly accept?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** For errors: the future this call is about. */
  readonly requestId?: string;
  /** Overrides the transport's per-attempt timeout. */
  readonly requestTimeoutMs?: number;
}

const DEFAULTS = {
  maxRetries: 10,
  initialDelayMs: 500,
  maxDelayMs: 10_000,
  maxRetryAfterMs: 60_000,
  requestTimeoutMs: 60_000,
  callTimeoutMs: 300_000,
};

/** Statuses the SDK retries (_base_client.py _should_retry, internal_client_holder.py). */
export function isRetryableStatus(status: number): boolean {
  return status === 0 || status === 408 || status === 409 || status === 429 || status >= 500;
}

/**
 * The wait a response asks for, in ms: `retry-after-ms`, then `retry-after` as seconds (floats
 * allowed) or an HTTP date; undefined when absent or unparseable.
 */
export function parseRetryAfter(headers: Headers | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '' && Number.isFinite(Number(ms))) return Number(ms);
  const value = headers.get('retry-after');
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : date - now;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** The error text of a failed response: FastAPI's `detail`, or the start of the body. */
export function errorDetail(body: Uint8Array): string | undefined {
  if (body.byteLength === 0) return undefined;
  const text = Buffer.from(body).toString('utf8');
  try {
    const parsed = JSON.parse(text) as { detail?: unknown; error?: unknown };
    const detail = parsed.detail ?? parsed.error;
    if (typeof detail === 'string') return detail;
    if (detail !== undefined) return JSON.stringify(detail).slice(0, 500);
  } catch {
    // not JSON
  }
  return text.slice(0, 500);
}

export class Transport {
  readonly baseUrl: string;
  readonly #apiKey: string | undefined;
  readonly #options: TransportOptions;
  readonly #retry: Required<RetryOptions>;
  readonly #closing = new AbortController();

  constructor(options: TransportOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#apiKey = options.apiKey;
    this.#options = options;
    this.#retry = {
      maxRetries: options.retry?.maxRetries ?? DEFAULTS.maxRetries,
      initialDelayMs: options.retry?.initialDelayMs ?? DEFAULTS.initialDelayMs,
      maxDelayMs: options.retry?.maxDelayMs ?? DEFAULTS.maxDelayMs,
      maxRetryAfterMs: options.retry?.maxRetryAfterMs ?? DEFAULTS.maxRetryAfterMs,
    };
  }

  get retry(): Required<RetryOptions> {
    return this.#retry;
  }

  get callTimeoutMs(): number {
    return this.#options.callTimeoutMs ?? DEFAULTS.callTimeoutMs;
  }

  /** Aborted when the client closes: waits end early. */
  get closing(): AbortSignal {
    return this.#closing.signal;
  }

  close(): void {
    this.#closing.abort();
  }

  emit(event: TransportEvent): void {
    this.#options.onEvent?.(event);
  }

  /**
   * The backoff before retry number `attempt` (0-based): the server's Retry-After when it is
   * positive and at most maxRetryAfterMs, else min(initial * 2^attempt, max) * (1 - 0.25 rand).
   */
  backoffMs(attempt: number, headers?: Headers): number {
    const asked = parseRetryAfter(headers);
    if (asked !== undefined && asked > 0 && asked <= this.#retry.maxRetryAfterMs) return asked;
    const base = Math.min(this.#retry.initialDelayMs * 2 ** Math.min(attempt, 1000), this.#retry.maxDelayMs);
    const jitter = 1 - 0.25 * (this.#options.random ?? Math.random)();
    return Math.max(0, base * jitter);
  }

  /** One attempt. A response of any status resolves; no response at all resolves as status 0. */
  async send(path: string, options: RequestOptions = {}): Promise<HttpResponse & { error?: unknown }> {
    const method =
      options.method ?? (options.json === undefined && options.body === undefined ? 'GET' : 'POST');
    const headers: Record<string, string> = { ...this.#options.headers, ...options.headers };
    if (this.#apiKey) headers['X-API-Key'] = this.#apiKey;
    let body: Uint8Array | string | undefined;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers['Content-Type'] = 'application/json';
    } else if (options.body !== undefined) {
      body = options.body;
      headers['Content-Type'] = options.contentType ?? 'application/octet-stream';
    }
    headers['Accept'] = options.accept ?? 'application/json';
    this.emit({ type: 'request', endpoint: path, method });
    const timeout = AbortSignal.timeout(
      options.requestTimeoutMs ?? this.#options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
    );
    try {
      const response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
        signal: AbortSignal.any([timeout, this.#closing.signal]),
      });
      const bytes = new Uint8Array(await response.arrayBuffer());
      return { status: response.status, headers: response.headers, body: bytes };
    } catch (error) {
      return { status: 0, headers: new Headers(), body: new Uint8Array(), error };
    }
  }

  /**
   * A call with retries: resolves with the first 2xx response; retries retryable statuses
   * (and `x-should-retry: true`, never when it says false) within the retry count and the
   * call's deadline; otherwise throws.
   */
  async request(path: string, options: RequestOptions = {}): Promise<HttpResponse> {
    const deadline = Date.now() + this.callTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      const response = await this.send(path, options);
      if (response.status >= 200 && response.status < 300) return response;
      const should = response.headers.get('x-should-retry');
      const retryable = should === 'true' || (should !== 'false' && isRetryableStatus(response.status));
      if (this.#closing.signal.aborted)
        throw this.failure(path, response, options.requestId, 'the client was closed');
      if (!retryable) throw this.failure(path, response, options.requestId);
      if (attempt >= this.#retry.maxRetries)
        throw this.failure(path, response, options.requestId, `gave up after ${attempt + 1} attempts`);
      const delay = this.backoffMs(attempt, response.headers);
      if (Date.now() + delay > deadline) {
        if (response.status === 0) throw new TinkerTimeoutError(path, this.callTimeoutMs, options.requestId);
        throw this.failure(path, response, options.requestId, `no success within ${this.callTimeoutMs} ms`);
      }
      this.emit({ type: 'retry', endpoint: path, status: response.status, attempt, delayMs: delay });
      await sleep(delay, this.#closing.signal);
    }
  }

  /** JSON in, JSON out (unparsed: callers validate with their schema). */
  async postJson(path: string, json: unknown, options: Omit<RequestOptions, 'json'> = {}): Promise<unknown> {
    const response = await this.request(path, { ...options, json, method: 'POST' });
    return parseJsonBody(path, response);
  }

  async getJson(path: string, options: RequestOptions = {}): Promise<unknown> {
    const response = await this.request(path, { ...options, method: 'GET' });
    return parseJsonBody(path, response);
  }

  failure(
    path: string,
    response: HttpResponse & { error?: unknown },
    requestId?: string,
    extra?: string,
  ): TinkerApiError {
    const detail = errorDetail(response.body);
    const cause = response.error as { message?: string; cause?: { code?: string } } | undefined;
    const reason =
      response.status === 0
        ? (cause?.cause?.code ?? cause?.message ?? 'connection failed')
        : (detail ?? 'request failed');
    return new TinkerApiError(path, response.status, extra ? `${reason} (${extra})` : reason, {
      requestId,
      detail,
      cause: response.error,
    });
  }
}

export function parseJsonBody(path: string, response: HttpResponse): unknown {
  const text = Buffer.from(response.body).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new TinkerApiError(path, response.status, `the response is not JSON: ${text.slice(0, 200)}`, {
      cause: error,
    });
  }
}
