// Validating a user's file against a zod schema, failing with the toolkit's typed errors: an
// unknown key names its path and the keys known there, a bad value names its path and value.
import type { z } from 'zod';
import { InvalidInputError, UnknownKeyError } from '@vzero/core';

/** Parses `raw` with `schema`; the first issue becomes an UnknownKeyError or InvalidInputError. */
export function parseWithSchema<S extends z.ZodType>(schema: S, raw: unknown, where: string): z.output<S> {
  const result = schema.safeParse(raw, { reportInput: true });
  if (result.success) return result.data;
  throw issueError(schema, raw, where, result.error.issues);
}

/** The typed error for the first of `issues` (paths relative to `raw`). */
export function issueError(
  schema: z.ZodType,
  raw: unknown,
  where: string,
  issues: readonly z.core.$ZodIssue[],
): Error {
  const issue = issues[0];
  if (!issue) return new InvalidInputError(where, raw, 'invalid');
  const path = issue.path.map(String);
  const at = path.length > 0 ? `${where}: ${path.join('.')}` : where;
  if (issue.code === 'unrecognized_keys')
    return new UnknownKeyError(at, issue.keys[0] ?? '?', keysAt(schema, path));
  // The value as the check saw it (e.g. a default the file did not set), else the file's.
  const value = issue.input !== undefined ? issue.input : valueAt(raw, path);
  return new InvalidInputError(at, value, issue.message);
}

/** The keys an object schema knows at `path` (through optional, default and array wrappers). */
function keysAt(schema: z.ZodType, path: readonly string[]): string[] {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const unwrap = (s: any): any => {
    let inner = s;
    while (inner && !inner.shape) {
      const def = inner.def ?? inner._zod?.def;
      const next = def?.innerType ?? def?.in ?? def?.element;
      if (!next) break;
      inner = next;
    }
    return inner;
  };
  let node = unwrap(schema);
  for (const key of path) node = unwrap(/^\d+$/.test(key) ? node : node?.shape?.[key]);
  return node?.shape ? Object.keys(node.shape) : [];
}

function valueAt(raw: unknown, path: readonly string[]): unknown {
  let v = raw;
  for (const key of path)
    v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
  return v;
}
