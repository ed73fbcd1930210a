// JSONL I/O for `vzero gate`: lets a pipeline in another language (e.g. one that dumps teacher
// log-probs from Python) get gate weights without reimplementing the gate. Every bad line is
// reported with its line number and field.
import { constants, createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { InvalidInputError } from '@vzero/core';
import type { GateSequence } from '@vzero/gate';

/** null is accepted in the arrays (JSON has no NaN); it is an error only at a real token. */
const logprobArray = z.array(z.number().nullable());
const lineSchema = z.object({
  group: z.union([z.string(), z.number()]).transform(String),
  teacher_pos: logprobArray,
  teacher_neg: logprobArray,
  mask: z.array(z.union([z.literal(0), z.literal(1), z.boolean()])).optional(),
});

/** Rounding slack for log-probs of near-certain tokens (float32 log-softmax can give +1e-7). */
const LOGPROB_TOLERANCE = 1e-5;

export interface GateOutputLine {
  readonly group: string;
  readonly score: number;
  readonly advantage: number;
  readonly weight: number;
}

/** Parses one input line into a GateSequence; errors name `<file>:<line>` and the field. */
export function parseGateLine(text: string, where: string): GateSequence {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError(where, text, `not valid JSON (${(error as Error).message})`);
  }
  const parsed = lineSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.join('.') || '(line)';
    const value = issue?.path.reduce<unknown>(
      (v, k) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[String(k)] : undefined),
      json,
    );
    throw new InvalidInputError(`${where} ${path}`, value, issue?.message ?? 'invalid line');
  }
  const { group, teacher_pos, teacher_neg, mask } = parsed.data;
  // A log-probability is <= 0; a positive one means probabilities or logits were dumped instead,
  // and the gate would compute weights from them without complaint.
  for (const [field, xs] of [
    ['teacher_pos', teacher_pos],
    ['teacher_neg', teacher_neg],
  ] as const) {
    const i = xs.findIndex(
      (x, t) => x !== null && x > LOGPROB_TOLERANCE && (mask?.[t] ?? 1) !== 0 && mask?.[t] !== false,
    );
    if (i >= 0) {
      throw new InvalidInputError(
        `${where} ${field}[${i}]`,
        xs[i],
        'a log-probability must be <= 0; positive values suggest probabilities or logits rather than log-probs',
      );
    }
  }
  const toNumbers = (xs: readonly (number | null)[]) => xs.map((x) => (x === null ? Number.NaN : x));
  const sequence: GateSequence = {
    group,
    positive: toNumbers(teacher_pos),
    negative: toNumbers(teacher_neg),
    ...(mask ? { mask: mask.map((m) => (m === true || m === 1 ? 1 : 0)) } : {}),
  };
  return sequence;
}

/** Reads every non-empty line of a JSONL file. */
export async function readGateJsonl(path: string): Promise<GateSequence[]> {
  const out: GateSequence[] = [];
  try {
    await access(path, constants.R_OK);
  } catch (error) {
    throw new InvalidInputError(
      '--in',
      path,
      `cannot read the file (${(error as NodeJS.ErrnoException).code})`,
    );
  }
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  let lineNo = 0;
  for await (const line of lines) {
    lineNo++;
    if (line.trim() === '') continue;
    out.push(parseGateLine(line, `${path}:${lineNo}`));
  }
  if (out.length === 0) throw new InvalidInputError('--in', path, 'the file holds no rollouts');
  return out;
}
