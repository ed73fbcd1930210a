// The errors this package throws on purpose, all VZeroErrors with a stable `code`. None of them
// ever carries the API key: messages name the endpoint, the HTTP status and the request id.
import { VZeroError } from '@vzero/core';

/** An HTTP call to the Tinker service failed for good (after the retries it was allowed). */
export class TinkerApiError extends VZeroError {
  /** The path called, e.g. "/api/v1/forward_backward". */
  readonly endpoint: string;
  /** The last HTTP status, or 0 when no response came (connection refused, reset, timeout). */
  readonly status: number;
  /** The future's request id where one was known. */
  readonly requestId: string | undefined;
  /** The server's error text (FastAPI's `detail`), if any. */
  readonly detail: string | undefined;
  constructor(
    endpoint: string,
    status: number,
    message: string,
    options: { requestId?: string | undefined; detail?: string | undefined; cause?: unknown } = {},
  ) {
    const id = options.requestId === undefined ? '' : ` (request ${options.requestId})`;
    super('TINKER_API', `${endpoint}${id}: ${status === 0 ? 'no response' : `HTTP ${status}`}: ${message}`, {
      cause: options.cause,
    });
    this.endpoint = endpoint;
    this.status = status;
    this.requestId = options.requestId;
    this.detail = options.detail;
  }
}

/** The server ran the request and reports that it failed (RequestFailedResponse). */
export class TinkerRequestFailedError extends VZeroError {
  readonly endpoint: string;
  readonly requestId: string;
  /** "user" (bad input), "server" or "unknown" (request_error_category.py). */
  readonly category: string;
  constructor(endpoint: string, requestId: string, error: string, category: string) {
    super('TINKER_REQUEST_FAILED', `${endpoint} (request ${requestId}) failed [${category}]: ${error}`);
    this.endpoint = endpoint;
    this.requestId = requestId;
    this.category = category;
  }
}

/** Waiting for a call or a future took longer than the overall timeout. */
export class TinkerTimeoutError extends VZeroError {
  readonly endpoint: string;
  readonly requestId: string | undefined;
  readonly timeoutMs: number;
  constructor(endpoint: string, timeoutMs: number, requestId?: string) {
    const id = requestId === undefined ? '' : ` (request ${requestId})`;
    super('TINKER_TIMEOUT', `${endpoint}${id}: no result within ${timeoutMs} ms`);
    this.endpoint = endpoint;
    this.requestId = requestId;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * A future's result expired on the server (HTTP 410) and the request changes state (training),
 * so it is not sent again: doing so would apply it twice. Sampling requests are resubmitted.
 */
export class TinkerFutureExpiredError extends VZeroError {
  readonly endpoint: string;
  readonly requestId: string;
  constructor(endpoint: string, requestId: string) {
    super(
      'TINKER_FUTURE_EXPIRED',
      `${endpoint} (request ${requestId}): the result expired on the server before it was read; training requests are not resubmitted`,
    );
    this.endpoint = endpoint;
    this.requestId = requestId;
  }
}
