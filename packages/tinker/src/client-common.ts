// What the client classes share: the path prefix and the parse of an answer's body.
import type { z } from 'zod';
import { parseWire } from './validate.js';

export const API = '/api/v1';

/** An answer's body, checked with its schema; errors name "response of <endpoint>". */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown, endpoint: string): z.infer<S> {
  return parseWire(schema, body, `response of ${endpoint}`);
}
