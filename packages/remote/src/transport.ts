// HTTP transport: a concurrency limit, a timeout per attempt, retries with exponential backoff and
// full jitter on 429, 5xx, dropped connections, timeouts and unreadable responses, and counters
// that account for every call exactly once. Each logical call has one request id, sent as
// x-request-id on every attempt, so server logs can match retries to their call.
//
// Several replicas of one model (one base URL each): every attempt goes to the healthy replica
// with the fewest requests in flight. A replica whose attempt fails by the connection, a timeout
// or a 5xx other than 503 is marked unhealthy; the call is retried at once on another healthy
// replica (no backoff), and the replica is probed (GET probePath) until it answers, then takes
// requests again. When no replica is healthy, attempts go to the unhealthy ones with backoff, as
// with a single server.
import { randomBytes } from 'node:crypto';
import { InvalidInputError } from '@vzero/core';
import { RemoteError, type FailureReason } from './errors.js';

export interface TransportOptions {
  /**
   * Server root, e.g. http://127.0.0.1:8000 (a trailing /v1 is accepted and dropped), or the
   * roots of several replicas serving the same model.
   */
  readonly baseUrl: string | readonly string[];
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
  /** Milliseconds between probes of an unhealthy replica (default 1000). */
  readonly probeIntervalMs?: number;
  /** Path an unhealthy replica is probed with, by GET (default /v1/models). */
  readonly probePath?: string;
  /**
   * Largest response body in bytes (default 64 MiB). A replica that sends more (or declares
   * more) is cut off and treated as broken: the call fails over, the replica is probed.
   */
  readonly maxResponseBytes?: number;
  /**
   * Milliseconds of outage a call rides out (default 0: only maxRetries). While every replica
   * is down (connection refused, timeouts, 5xx), a call keeps retrying with backoff beyond
   * maxRetries until it has failed for this long, then fails.
   */
  readonly maxOutageMs?: number;
}

/** Counters of one replica (base URL). */
export interface ReplicaStats {
  readonly url: string;
  readonly healthy: boolean;
  /** Attempts in flight on this replica now. */
  readonly inFlight: number;
  /** Attempts sent to this replica (probes not included). */
  readonly attempts: number;
  /** Attempts that succeeded here. */
  readonly succeeded: number;
  /** Attempts that failed here, any reason. */
  readonly failed: number;
  /** Times it was marked unhealthy, and taken back after a probe answered. */
  readonly markedUnhealthy: number;
  readonly recovered: number;
  readonly probes: number;
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
  /** Per replica, in baseUrl order; the attempts sum to `attempts`. */
  readonly replicas: readonly ReplicaStats[];
}

interface Replica {
  readonly url: string;
  healthy: boolean;
  active: number;
  attempts: number;
  succeeded: number;
  failed: number;
  markedUnhealthy: number;
  recovered: number;
  probes: number;
  probeTimer: NodeJS.Timeout | undefined;
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
    /** The replica misbehaved (e.g. an oversize body): take it out like one that is down. */
    readonly broken = false,
  ) {
    super(message);
  }
}

/** A failure that says the replica itself is down or broken (not overloaded, not the request's fault). */
function replicaDown(failure: Attempt): boolean {
  return (
    failure.broken ||
    failure.reason === 'network' ||
    failure.reason === 'timeout' ||
    (failure.reason === 'http-5xx' && failure.status !== 503)
  );
}

function rootUrl(value: unknown, field: string): string {
  let url: URL;
  try {
    url = new URL(value as string);
  } catch {
    throw new InvalidInputError(field, value, 'expected an http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidInputError(field, value, 'expected an http(s) URL');
  }
  if (url.username || url.password) {
    throw new InvalidInputError(
      field,
      `${url.protocol}//***@${url.host}`,
      'put credentials in the API key, not the URL',
    );
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '').replace(/\/v1$/, '')}`;
}

function checkInt(field: string, v: number | undefined, min: number): void {
  if (v !== undefined && (!Number.isInteger(v) || v < min)) {
    throw new InvalidInputError(`options.${field}`, v, `expected an integer >= ${min}`);
  }
}

export class Transport {
  /** The first replica's root (the only one with a single server). */
  readonly baseUrl: string;
  readonly baseUrls: readonly string[];
  readonly probeIntervalMs: number;
  readonly probePath: string;
  /** Whether a probe's JSON shows a working replica (default: any JSON body with a 2xx status). */
  probeCheck: (json: unknown) => boolean = () => true;
  readonly concurrency: number;
  readonly timeoutMs: number;
  readonly maxRetries: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  readonly maxResponseBytes: number;
  readonly maxOutageMs: number;
  readonly #apiKey: string | undefined;
  readonly #log: (line: string) => void;
  readonly #prefix = randomBytes(4).toString('hex');
  #next = 0;
  #turn = 0;
  readonly #replicas: Replica[];
  readonly #waiting: (() => void)[] = [];
  #closed = false;
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
    const urls = options.baseUrl;
    if (Array.isArray(urls)) {
      if (urls.length === 0)
        throw new InvalidInputError('options.baseUrl', urls, 'expected at least one URL');
      this.baseUrls = urls.map((u, i) => rootUrl(u, `options.baseUrl[${i}]`));
      const seen = new Set<string>();
      this.baseUrls.forEach((u, i) => {
        if (seen.has(u))
          throw new InvalidInputError(`options.baseUrl[${i}]`, urls[i], 'listed twice (same server)');
        seen.add(u);
      });
    } else {
      this.baseUrls = [rootUrl(urls, 'options.baseUrl')];
    }
    this.baseUrl = this.baseUrls[0] as string;
    this.#replicas = this.baseUrls.map((url) => ({
      url,
      healthy: true,
      active: 0,
      attempts: 0,
      succeeded: 0,
      failed: 0,
      markedUnhealthy: 0,
      recovered: 0,
      probes: 0,
      probeTimer: undefined,
    }));
    checkInt('probeIntervalMs', options.probeIntervalMs, 1);
    this.probeIntervalMs = options.probeIntervalMs ?? 1000;
    this.probePath = options.probePath ?? '/v1/models';
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
    checkInt('maxResponseBytes', options.maxResponseBytes, 1);
    checkInt('maxOutageMs', options.maxOutageMs, 0);
    this.maxResponseBytes = options.maxResponseBytes ?? 64 * 1024 * 1024;
    this.maxOutageMs = options.maxOutageMs ?? 0;
    this.#apiKey = options.apiKey;
    this.#log = options.logger ?? (() => {});
  }

  stats(): RemoteStats {
    const s = this.#stats;
    return {
      ...s,
      inFlight: s.calls - s.succeeded - s.failed,
      failures: { ...this.#failures },
      replicas: this.#replicas.map((r) => ({
        url: r.url,
        healthy: r.healthy,
        inFlight: r.active,
        attempts: r.attempts,
        succeeded: r.succeeded,
        failed: r.failed,
        markedUnhealthy: r.markedUnhealthy,
        recovered: r.recovered,
        probes: r.probes,
      })),
    };
  }

  /** Stops the probes of unhealthy replicas (they are unref'd and never hold the process open). */
  close(): void {
    this.#closed = true;
    for (const r of this.#replicas) {
      clearTimeout(r.probeTimer);
      r.probeTimer = undefined;
    }
  }

  /** Marks replica `index` unhealthy (e.g. it did not answer at connect time) and starts probing it. */
  markUnhealthy(index: number, why: string): void {
    const r = this.#replicas[index];
    if (r) this.#markDown(r, why);
  }

  /** A fresh request id (one per logical call). */
  requestId(): string {
    return `vzero-${this.#prefix}-${++this.#next}`;
  }

  /**
   * The replica for the next attempt: among the healthy ones with room (fewer than `concurrency`
   * in flight) the one with the fewest in flight, ties taken in turn; when none is healthy, any
   * with room. `avoid` (the replica that just failed) is passed over when another qualifies.
   */
  #pick(avoid: Replica | undefined, pinned: Replica | undefined): Replica | undefined {
    if (pinned) return pinned.active < this.concurrency ? pinned : undefined;
    const anyHealthy = this.#replicas.some((r) => r.healthy);
    let pool = this.#replicas.filter((r) => r.active < this.concurrency && (r.healthy || !anyHealthy));
    if (pool.length > 1 && avoid) pool = pool.filter((r) => r !== avoid);
    let best: Replica | undefined;
    const n = this.#replicas.length;
    for (let k = 0; k < n; k++) {
      const r = this.#replicas[(this.#turn + k) % n] as Replica;
      if (pool.includes(r) && (best === undefined || r.active < best.active)) best = r;
    }
    if (best) this.#turn = (this.#replicas.indexOf(best) + 1) % n;
    return best;
  }

  async #acquire(avoid?: Replica, pinned?: Replica): Promise<Replica> {
    for (;;) {
      const r = this.#pick(avoid, pinned);
      if (r) {
        r.active++;
        return r;
      }
      await new Promise<void>((ok) => this.#waiting.push(ok));
    }
  }

  /** Wakes every waiter: each picks again (a slot freed, or a replica's health changed). */
  #wake(): void {
    const waiting = this.#waiting.splice(0);
    for (const ok of waiting) ok();
  }

  #release(r: Replica): void {
    r.active--;
    this.#wake();
  }

  #markDown(r: Replica, why: string): void {
    if (r.healthy) {
      r.healthy = false;
      r.markedUnhealthy++;
      this.#log(`replica ${r.url} unhealthy (${why}); its requests go to the others while it is probed`);
      // With no healthy replica left, waiters may now use the unhealthy ones.
      this.#wake();
    }
    if (r.probeTimer === undefined && !this.#closed) this.#scheduleProbe(r);
  }

  #scheduleProbe(r: Replica): void {
    r.probeTimer = setTimeout(() => void this.#probe(r), this.probeIntervalMs);
    r.probeTimer.unref();
  }

  async #probe(r: Replica): Promise<void> {
    r.probeTimer = undefined;
    if (r.healthy || this.#closed) return;
    r.probes++;
    let ok: boolean;
    try {
      const json = await this.#attempt(r, 'GET', this.probePath, undefined, this.requestId());
      ok = this.probeCheck(json);
    } catch {
      ok = false;
    }
    if (r.healthy || this.#closed) return;
    if (ok) {
      r.healthy = true;
      r.recovered++;
      this.#log(`replica ${r.url} answers again; taking requests`);
      this.#wake();
    } else {
      this.#scheduleProbe(r);
    }
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
    options: { readonly replica?: number } = {},
  ): Promise<T> {
    const pinned = options.replica === undefined ? undefined : this.#replicas[options.replica];
    if (options.replica !== undefined && !pinned) {
      throw new InvalidInputError(
        'options.replica',
        options.replica,
        `expected an index below ${this.#replicas.length}`,
      );
    }
    this.#stats.calls++;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    let avoid: Replica | undefined;
    // Failovers to another healthy replica do not wait and do not use up the retries (at most
    // one per other replica).
    let failovers = 0;
    // When this call's failures began (for maxOutageMs).
    let failingSince: number | undefined;
    for (let attempt = 0; ; attempt++) {
      this.#stats.attempts++;
      let failure: Attempt;
      const replica = await this.#acquire(avoid, pinned);
      replica.attempts++;
      try {
        const json = await this.#attempt(replica, method, path, payload, requestId);
        let parsed: T;
        try {
          parsed = parse(json);
        } catch (error) {
          throw new Attempt('malformed-response', `unexpected response: ${(error as Error).message}`);
        }
        this.#stats.succeeded++;
        replica.succeeded++;
        return parsed;
      } catch (error) {
        failure = error instanceof Attempt ? error : new Attempt('network', (error as Error).message);
        replica.failed++;
      } finally {
        this.#release(replica);
      }
      this.#failures[failure.reason]++;
      if (replicaDown(failure) && this.#replicas.length > 1) this.#markDown(replica, failure.message);
      avoid = replica;
      const fields = { requestId, path, reason: failure.reason, attempts: attempt + 1 };
      const failover =
        RETRYABLE.has(failure.reason) &&
        pinned === undefined &&
        failovers < this.#replicas.length - 1 &&
        this.#replicas.some((r) => r !== replica && r.healthy);
      if (failover) {
        failovers++;
        this.#stats.retries++;
        this.#log(`retry on another replica ${method} ${path} id=${requestId} after ${failure.message}`);
        continue;
      }
      failingSince ??= Date.now();
      const ridingOut =
        replicaDown(failure) && this.maxOutageMs > 0 && Date.now() - failingSince < this.maxOutageMs;
      if (!RETRYABLE.has(failure.reason) || (attempt - failovers >= this.maxRetries && !ridingOut)) {
        this.#stats.failed++;
        this.#log(
          `failed ${method} ${path} id=${requestId} after ${attempt + 1} attempt(s): ${failure.message}`,
        );
        throw new RemoteError(
          failure.status !== undefined ? { ...fields, status: failure.status } : fields,
          failure.message,
        );
      }
      const retry = attempt - failovers;
      const cap = Math.min(this.maxBackoffMs, this.backoffMs * 2 ** Math.min(retry, 30));
      const wait = Math.min(this.maxBackoffMs, Math.max(Math.random() * cap, failure.retryAfterMs ?? 0));
      this.#stats.retries++;
      this.#log(
        retry < this.maxRetries
          ? `retry ${retry + 1}/${this.maxRetries} ${method} ${path} id=${requestId} after ${failure.message} (wait ${Math.round(wait)} ms)`
          : `retry ${retry + 1} ${method} ${path} id=${requestId} after ${failure.message}: riding out an outage of ${Math.round((Date.now() - (failingSince ?? Date.now())) / 1000)} s of at most ${Math.round(this.maxOutageMs / 1000)} s (wait ${Math.round(wait)} ms)`,
      );
      await new Promise((ok) => setTimeout(ok, wait));
    }
  }

  #readBody(res: Response, controller: AbortController): Promise<string> {
    return readLimited(res, controller, this.maxResponseBytes);
  }

  async #attempt(
    replica: Replica,
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
        res = await fetch(`${replica.url}${path}`, {
          method,
          headers,
          signal: controller.signal,
          ...(payload !== undefined ? { body: payload } : {}),
        });
        text = await this.#readBody(res, controller);
      } catch (error) {
        if (error instanceof Attempt) throw error;
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

/** Reads a response body as text, at most `limit` bytes (an Attempt that marks the replica broken beyond). */
async function readLimited(res: Response, controller: AbortController, limit: number): Promise<string> {
  const tooLarge = (n: number | string) => {
    controller.abort();
    return new Attempt(
      'malformed-response',
      `response body of ${n} bytes exceeds the limit of ${limit} bytes (maxResponseBytes)`,
      res.status,
      undefined,
      true,
    );
  };
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(declared);
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(`more than ${limit}`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
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
