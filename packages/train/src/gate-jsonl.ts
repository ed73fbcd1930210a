// JSONL I/O for `vzero gate`: lets a pipeline in another language (e.g. one that dumps teacher
// log-probs from Python) get gate weights without reimplementing the gate. Every bad line is
// reported with its line number and field.
import { constants, createReadStream, createWriteStream } from 'node:fs';
import { access, rename, rm, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { z } from 'zod';
import { InvalidInputError, toFileSystemError } from '@vzero/core';
import { computeGate, type GateConfig, type GateDiagnostics, type GateSequence } from '@vzero/gate';

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

/** Reads every non-empty line of a JSONL file (a UTF-8 byte-order mark at its start is skipped). */
export async function readGateJsonl(path: string): Promise<GateSequence[]> {
  const out: GateSequence[] = [];
  for await (const { text, where } of gateLines(path)) out.push(parseGateLine(text, where));
  if (out.length === 0) throw new InvalidInputError('--in', path, 'the file holds no rollouts');
  return out;
}

/**
 * The non-empty lines of a regular, readable file (a FIFO or device would block or never end),
 * each with its `<file>:<line>`, a leading UTF-8 BOM removed.
 */
async function* gateLines(path: string): AsyncGenerator<{ text: string; where: string }> {
  try {
    await access(path, constants.R_OK);
  } catch (error) {
    throw new InvalidInputError(
      '--in',
      path,
      `cannot read the file (${(error as NodeJS.ErrnoException).code})`,
    );
  }
  const s = await stat(path);
  if (!s.isFile()) throw new InvalidInputError('--in', path, 'is not a regular file');
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  let lineNo = 0;
  for await (const raw of lines) {
    lineNo++;
    const line = lineNo === 1 && raw.startsWith('\uFEFF') ? raw.slice(1) : raw;
    if (line.trim() === '') continue;
    yield { text: line, where: `${path}:${lineNo}` };
  }
}

/** A growable Float64Array / Int32Array pair of per-line values. */
class Column<T extends Float64Array | Int32Array> {
  data: T;
  length = 0;
  constructor(private readonly make: (n: number) => T) {
    this.data = make(1024);
  }
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = this.make(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
}

/**
 * `vzero gate` on a file of any size: the gate of computeGate (same numbers, same order) with
 * the input streamed twice and the output streamed to a temporary file renamed into place.
 * Memory is 12 bytes per rollout (its score and group) plus the groups' names, never the text.
 * A non-finite score, advantage or weight (log-probs so large that a sum overflows) is an error
 * naming the line, never a `null` in the output.
 */
export async function streamGate(
  input: string,
  output: string,
  config: GateConfig,
): Promise<{ lines: number; diagnostics: GateDiagnostics }> {
  // Pass 1: each rollout's score (the library's own scoring of one sequence), its group, and the
  // token-level sums the diagnostics need.
  const scores = new Column((n) => new Float64Array(n));
  const groupOf = new Column((n) => new Int32Array(n));
  const lineOf = new Column((n) => new Int32Array(n));
  const groupIndex = new Map<string, number>();
  const groups: string[] = [];
  let tokens = 0;
  let deltaSum = 0;
  let deltaPositive = 0;
  for await (const { text, where } of gateLines(input)) {
    const seq = parseGateLine(text, where);
    const one = computeGate([seq], config);
    const score = one.scores[0] as number;
    if (!Number.isFinite(score))
      throw new InvalidInputError(`${where} score`, score, 'not finite: the log-probs are too large to sum');
    const d = one.diagnostics;
    tokens += d.tokens;
    deltaSum += d.deltaMean * d.tokens;
    deltaPositive += Math.round(d.fractionDeltaPositive * d.tokens);
    let g = groupIndex.get(seq.group);
    if (g === undefined) {
      g = groups.length;
      groupIndex.set(seq.group, g);
      groups.push(seq.group);
    }
    scores.push(score);
    groupOf.push(g);
    lineOf.push(Number(where.slice(where.lastIndexOf(':') + 1)));
  }
  const n = scores.length;
  if (n === 0) throw new InvalidInputError('--in', input, 'the file holds no rollouts');

  // Group statistics in computeGate's order: shifted by the first member, mean, then spread.
  const G = groups.length;
  const shift = new Float64Array(G);
  const sum = new Float64Array(G);
  const count = new Int32Array(G);
  const sq = new Float64Array(G);
  const s = scores.data;
  const gi = groupOf.data;
  for (let i = 0; i < n; i++) {
    const g = gi[i] as number;
    if (count[g] === 0) shift[g] = s[i] as number;
    sum[g] = (sum[g] as number) + ((s[i] as number) - (shift[g] as number));
    count[g] = (count[g] as number) + 1;
  }
  const meanShifted = (g: number) => (sum[g] as number) / (count[g] as number);
  for (let i = 0; i < n; i++) {
    const g = gi[i] as number;
    const d = (s[i] as number) - (shift[g] as number) - meanShifted(g);
    sq[g] = (sq[g] as number) + d * d;
  }
  const { eps, alpha, wMin, wMax } = config;
  const advantage = (i: number): number => {
    const g = gi[i] as number;
    if ((count[g] as number) <= 1) return 0;
    const sd = Math.sqrt((sq[g] as number) / (count[g] as number));
    return ((s[i] as number) - (shift[g] as number) - meanShifted(g)) / (sd + eps);
  };
  const weight = (a: number) => Math.min(wMax, Math.max(wMin, 1 + alpha * a));

  // Pass 2: the output, line by line, with backpressure; then the batch diagnostics.
  const tmp = `${output}.tmp-${process.pid}`;
  const out = createWriteStream(tmp);
  const failed = once(out, 'error').then(([e]) => {
    throw toFileSystemError(e, output, 'write');
  });
  failed.catch(() => {});
  let sumA = 0;
  let sumW = 0;
  let atMin = 0;
  let weightMin = Infinity;
  let weightMax = -Infinity;
  try {
    for (let i = 0; i < n; i++) {
      const a = advantage(i);
      const w = weight(a);
      if (!Number.isFinite(a) || !Number.isFinite(w)) {
        throw new InvalidInputError(
          `${input}:${lineOf.data[i] as number} advantage`,
          a,
          `not finite: the scores of group ${JSON.stringify(groups[gi[i] as number])} are too far apart to compare`,
        );
      }
      sumA += a;
      sumW += w;
      if (w <= wMin) atMin++;
      weightMin = Math.min(weightMin, w);
      weightMax = Math.max(weightMax, w);
      const line: GateOutputLine = {
        group: groups[gi[i] as number] as string,
        score: s[i] as number,
        advantage: a,
        weight: w,
      };
      if (!out.write(JSON.stringify(line) + '\n')) await Promise.race([once(out, 'drain'), failed]);
    }
    out.end();
    await Promise.race([once(out, 'finish'), failed]);
    await rename(tmp, output);
  } catch (error) {
    out.destroy();
    await rm(tmp, { force: true });
    // once(out, 'drain' | 'finish') rejects with the stream's raw error, which names no path.
    throw toFileSystemError(error, output, 'write');
  }
  const meanOf = (f: (i: number) => number, m: number) => {
    let acc = 0;
    for (let i = 0; i < n; i++) acc += (f(i) - m) * (f(i) - m);
    return Math.sqrt(acc / n);
  };
  const scoreMean = mean(n, (i) => s[i] as number);
  const advantageMean = sumA / n;
  const weightMean = sumW / n;
  const diagnostics: GateDiagnostics = {
    scoreMean,
    scoreStd: meanOf((i) => s[i] as number, scoreMean),
    advantageMean,
    advantageStd: meanOf(advantage, advantageMean),
    weightMean,
    weightStd: meanOf((i) => weight(advantage(i)), weightMean),
    weightMin,
    weightMax,
    fractionAtWMin: atMin / n,
    deltaMean: tokens > 0 ? deltaSum / tokens : 0,
    fractionDeltaPositive: tokens > 0 ? deltaPositive / tokens : 0,
    sequences: n,
    groups: G,
    tokens,
  };
  return { lines: n, diagnostics };
}

function mean(n: number, f: (i: number) => number): number {
  let acc = 0;
  for (let i = 0; i < n; i++) acc += f(i);
  return acc / n;
}
