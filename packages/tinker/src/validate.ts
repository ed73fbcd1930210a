// Turning zod's verdict into the toolkit's typed error: the first issue's path and the value
// found there, so a caller reads "data[2].loss_fn_inputs.weights.dtype = "float64": ...".
import { InvalidInputError } from '@vzero/core';
import type { z } from 'zod';

/** Parses `value` with `schema`; on failure throws InvalidInputError naming `where` + the path. */
export function parseWire<S extends z.ZodType>(schema: S, value: unknown, where: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data as z.infer<S>;
  const issue = result.error.issues[0]!;
  const field = formatPath(where, issue.path);
  throw new InvalidInputError(field, valueAt(value, issue.path), issue.message);
}

/** `where` followed by the issue path in JS notation: body.data[0].model_input. */
export function formatPath(where: string, path: readonly PropertyKey[]): string {
  let out = where;
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let cur = value;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}
