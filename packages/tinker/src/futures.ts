// Futures: every long call answers with a request id, and its result is fetched by polling
// /api/v1/retrieve_future with the SDK's semantics (src/tinker/lib/api_future_impl.py at
// d595dc2b, SDK 0.25.0):
//   200 {type: "try_again"}     still pending: ask again (the server holds each poll a while)
//   200 {error, category}       the request failed: TinkerRequestFailedError
//   200 protobuf / JSON         the result
//   408                         still pending (SkyRL's long poll ran out): ask again
//   410                         the result expired: resubmit the request when that is safe
//                               (sampling), else TinkerFutureExpiredError
//   429, no response            back off (Retry-After honoured) and ask again
//   5xx                         ask again after a backoff
//   400                         asked again up to 3 times (a proxy may inject it), then an error
//   anything else               TinkerApiError at once
// All of it bounded: consecutive failures by the retry count, the whole wait by timeoutMs.
import {
  TinkerApiError,
  TinkerFutureExpiredError,
  TinkerRequestFailedError,
  TinkerTimeoutError,
} from './errors.js';
import { PROTO_CONTENT_TYPE } from './protobuf.js';
import { parseJsonBody, sleep, type HttpResponse, type Transport } from './transport.js';
import { RequestFailedResponseSchema, TryAgainResponseSchema } from './types.js';

export const RETRIEVE_FUTURE_PATH = '/api/v1/retrieve_future';
const MAX_BAD_REQUEST_RETRIES = 3;

/** A result that will be there: `result()` polls until it is (and caches it). */
export interface TinkerFuture<T> {
  /** The server's id of the request (the latest one, after a resubmission). */
  readonly requestId: string;
  result(): Promise<T>;
}

export interface FutureSpec<T> {
  readonly transport: Transport;
  /** The endpoint that created the future, for errors: "/api/v1/forward_backward". */
  readonly endpoint: string;
  /** Sent as X-Tinker-Request-Type, as the SDK does. */
  readonly requestType: string;
  readonly requestId: string;
  /** Ask for protobuf (the SDK does for ForwardBackwardOutput and SampleResponse). */
  readonly acceptProto: boolean;
  readonly decodeJson: (body: unknown) => T;
  readonly decodeProto?: (bytes: Uint8Array) => T;
  /** Sends the request again and returns the new request id; absent where that is unsafe. */
  readonly resubmit?: () => Promise<string>;
  /** Overall wait for the result in ms (default: the transport's call timeout). */
  readonly timeoutMs?: number;
  /** Pause after a try-again before asking again, ms (default 20). */
  readonly tryAgainDelayMs?: number;
}

export class PolledFuture<T> implements TinkerFuture<T> {
  #requestId: string;
  #result: Promise<T> | undefined;
  readonly #spec: FutureSpec<T>;

  constructor(spec: FutureSpec<T>) {
    this.#spec = spec;
    this.#requestId = spec.requestId;
  }

  get requestId(): string {
    return this.#requestId;
  }

  result(): Promise<T> {
    this.#result ??= this.#poll();
    return this.#result;
  }

  async #poll(): Promise<T> {
    const spec = this.#spec;
    const { transport } = spec;
    const timeoutMs = spec.timeoutMs ?? transport.callTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    let failures = 0;
    let badRequests = 0;
    for (let iteration = 0; ; iteration++) {
      if (Date.now() > deadline) throw new TinkerTimeoutError(spec.endpoint, timeoutMs, this.#requestId);
      if (transport.closing.aborted)
        throw new TinkerApiError(spec.endpoint, 0, 'the client was closed', { requestId: this.#requestId });
      const response = await transport.send(RETRIEVE_FUTURE_PATH, {
        method: 'POST',
        json: { request_id: this.#requestId, allow_metadata_only: false },
        accept: spec.acceptProto ? `${PROTO_CONTENT_TYPE}, application/json` : 'application/json',
        headers: {
          'X-Tinker-Request-Iteration': String(iteration),
          'X-Tinker-Request-Type': spec.requestType,
        },
        requestId: this.#requestId,
        requestTimeoutMs: Math.max(1, Math.min(deadline - Date.now(), 60_000)),
      });
      const status = response.status;
      if (status === 200) {
        const outcome = this.#outcome(response);
        if (outcome.done) return outcome.value;
        failures = 0;
        badRequests = 0;
        await sleep(spec.tryAgainDelayMs ?? 20, transport.closing);
        continue;
      }
      if (status === 408) {
        failures = 0;
        badRequests = 0;
        continue;
      }
      if (status === 410) {
        if (!spec.resubmit) throw new TinkerFutureExpiredError(spec.endpoint, this.#requestId);
        this.#requestId = await spec.resubmit();
        iteration = -1;
        continue;
      }
      if (status === 400 && badRequests < MAX_BAD_REQUEST_RETRIES) {
        badRequests++;
        continue;
      }
      if (status === 0 || status === 429 || status >= 500) {
        if (failures >= transport.retry.maxRetries)
          throw transport.failure(
            spec.endpoint,
            response,
            this.#requestId,
            `retrieve_future gave up after ${failures + 1} failures`,
          );
        const delay = transport.backoffMs(failures, response.headers);
        if (Date.now() + delay > deadline)
          throw new TinkerTimeoutError(spec.endpoint, timeoutMs, this.#requestId);
        transport.emit({
          type: 'retry',
          endpoint: RETRIEVE_FUTURE_PATH,
          status,
          attempt: failures,
          delayMs: delay,
        });
        failures++;
        await sleep(delay, transport.closing);
        continue;
      }
      throw transport.failure(spec.endpoint, response, this.#requestId, 'retrieve_future');
    }
  }

  #outcome(response: HttpResponse): { done: true; value: T } | { done: false } {
    const spec = this.#spec;
    const contentType = response.headers.get('content-type') ?? '';
    if (contentType.includes(PROTO_CONTENT_TYPE)) {
      if (!spec.decodeProto)
        throw new TinkerApiError(spec.endpoint, 200, 'the server answered protobuf for a JSON-only result', {
          requestId: this.#requestId,
        });
      return { done: true, value: spec.decodeProto(response.body) };
    }
    const body = parseJsonBody(RETRIEVE_FUTURE_PATH, response) as Record<string, unknown> | null;
    if (body !== null && typeof body === 'object') {
      if (TryAgainResponseSchema.safeParse(body).success) return { done: false };
      if ('error' in body) {
        const failed = RequestFailedResponseSchema.safeParse(body);
        const error = failed.success ? failed.data.error : String(body.error);
        const category = failed.success ? failed.data.category : 'unknown';
        throw new TinkerRequestFailedError(spec.endpoint, this.#requestId, error, category);
      }
    }
    return { done: true, value: spec.decodeJson(body) };
  }
}

/** A future whose result is already known (a server that answered in the submission). */
export class ResolvedFuture<T> implements TinkerFuture<T> {
  readonly requestId: string;
  readonly #value: T;
  constructor(requestId: string, value: T) {
    this.requestId = requestId;
    this.#value = value;
  }
  result(): Promise<T> {
    return Promise.resolve(this.#value);
  }
}

/** Several futures read as one (the SDK's _CombinedAPIFuture over forward_backward chunks). */
export class CombinedFuture<T> implements TinkerFuture<T> {
  readonly #parts: readonly TinkerFuture<T>[];
  readonly #combine: (parts: T[]) => T;
  #result: Promise<T> | undefined;
  constructor(parts: readonly TinkerFuture<T>[], combine: (parts: T[]) => T) {
    this.#parts = parts;
    this.#combine = combine;
  }
  get requestId(): string {
    return this.#parts.map((p) => p.requestId).join(',');
  }
  result(): Promise<T> {
    this.#result ??= Promise.all(this.#parts.map((p) => p.result())).then(this.#combine);
    return this.#result;
  }
}
