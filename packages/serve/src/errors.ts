// Errors the server turns into HTTP answers. Every client error names the request field it is
// about (`param`), so a caller sees "messages[0].content[1].image_url.url: invalid base64"
// instead of a bare 400.
import { InvalidInputError, ShapeMismatchError, VZeroError } from '@vzero/core';
import type { ZodError } from 'zod';

/** An error with the HTTP status and the request field it concerns. */
export class HttpError extends VZeroError {
  readonly status: number;
  readonly param: string | null;
  readonly type: string;
  constructor(status: number, param: string | null, message: string, type = 'invalid_request_error') {
    super('HTTP_ERROR', param ? `${param}: ${message}` : message);
    this.status = status;
    this.param = param;
    this.type = type;
  }
}

/** `messages[0].content[1]` from a zod issue path. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? 'body' : out;
}

/** The first issue of a failed zod parse as a 400 naming its field. */
export function fromZod(error: ZodError): HttpError {
  const issue = error.issues[0];
  if (!issue) return new HttpError(400, 'body', 'invalid request');
  if (issue.code === 'unrecognized_keys') {
    const base = fieldPath(issue.path);
    const key = issue.keys[0] ?? '?';
    const field = base === 'body' ? key : `${base}.${key}`;
    return new HttpError(400, field, 'unknown field (not supported by this server)');
  }
  return new HttpError(400, fieldPath(issue.path), issue.message);
}

/**
 * Input errors thrown by the model while serving a request: a 400 naming the request field
 * `param` (the toolkit's own field name stays in the message).
 */
export function fromModelError(error: unknown, param: string): HttpError | undefined {
  if (error instanceof HttpError) return error;
  if (error instanceof InvalidInputError || error instanceof ShapeMismatchError) {
    return new HttpError(400, param, error.message);
  }
  return undefined;
}
