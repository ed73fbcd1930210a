// Typed errors of the remote path. Messages name the endpoint path and the request id, never
// the base URL's credentials or any header (the API key stays out of every message and log).
import { VZeroError } from '@vzero/core';

/** Why an attempt failed; the retryable ones are retried with backoff. */
export type FailureReason =
  'http-429' | 'http-5xx' | 'http-4xx' | 'network' | 'timeout' | 'malformed-response';

/** A request to the server failed for good (after its retries, or at once for a 4xx). */
export class RemoteError extends VZeroError {
  readonly requestId: string;
  readonly path: string;
  readonly status: number | undefined;
  readonly reason: FailureReason;
  readonly attempts: number;
  constructor(
    fields: {
      readonly requestId: string;
      readonly path: string;
      readonly status?: number;
      readonly reason: FailureReason;
      readonly attempts: number;
    },
    message: string,
  ) {
    super(
      'REMOTE',
      `${fields.path} (request ${fields.requestId}) failed after ${fields.attempts} attempt(s): ${message}`,
    );
    this.requestId = fields.requestId;
    this.path = fields.path;
    this.status = fields.status;
    this.reason = fields.reason;
    this.attempts = fields.attempts;
  }
}

/**
 * The server's tokens or log-probs do not line up with the tokens asked about. `field` names
 * the score request (and position when known), `requestId` the HTTP request.
 */
export class RemoteAlignmentError extends VZeroError {
  readonly field: string;
  readonly requestId: string;
  readonly position: number | undefined;
  constructor(field: string, requestId: string, position: number | undefined, message: string) {
    super(
      'ALIGNMENT',
      `${field}${position !== undefined ? `, position ${position}` : ''} (request ${requestId}): ${message}`,
    );
    this.field = field;
    this.requestId = requestId;
    this.position = position;
  }
}
