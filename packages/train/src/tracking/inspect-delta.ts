// Where the gate's mean delta comes from, after training: the per-token contrast
// delta_k = l+_k - l-_k of the rollouts a run recorded, split by whether the response is right
// (from the labels, as inspect-stats.ts judges it) and by whether the token names one of the
// options (the stated answer) or is part of the response's wording. The mean delta a run logs
// (gate.deltaMean) is the same mean over all scored tokens; this says which tokens make it.
// Log-probs are at most 0, so a token the teacher already expects without the evidence
// (l- near 0, e.g. the prior's answer when the scene follows the prior) can gain little, while a
// wrong answer the evidence rules out (l+ far below 0) loses a lot: the mean can be negative
// while the gate still ranks right responses above wrong ones.
import type { AnswerKey } from './inspect-stats.js';
import { judge } from './inspect-stats.js';
import type { InspectRecord } from './inspect-record.js';

/** Sums over a set of tokens (means are taken from them, so parts pool exactly). */
export interface DeltaPart {
  readonly tokens: number;
  readonly sum: number;
  /** Tokens with delta > 0. */
  readonly positive: number;
}

export const DELTA_PARTS = [
  'all',
  'right',
  'wrong',
  'answer tokens',
  'wording tokens',
  'answer tokens, right',
  'answer tokens, wrong',
  'wording tokens, right',
  'wording tokens, wrong',
] as const;
export type DeltaPartName = (typeof DELTA_PARTS)[number];

export type DeltaSplit = Readonly<Record<DeltaPartName, DeltaPart>>;

const empty = (): { tokens: number; sum: number; positive: number } => ({ tokens: 0, sum: 0, positive: 0 });

const normal = (s: string) => s.trim().toLowerCase();

/**
 * The delta of every scored token (gate mask 1, with a negative replay) of the rollouts shown in
 * `records`, split by the response's verdict under `key` (responses of samples the key lacks are
 * left out of every part, `all` included, so the parts add up) and by token kind: an answer token
 * is one whose text is one of the prompt's options.
 */
export function deltaSplit(records: readonly InspectRecord[], key: AnswerKey): DeltaSplit {
  const parts = Object.fromEntries(DELTA_PARTS.map((p) => [p, empty()])) as Record<
    DeltaPartName,
    ReturnType<typeof empty>
  >;
  const add = (name: DeltaPartName, d: number) => {
    const p = parts[name];
    p.tokens++;
    p.sum += d;
    if (d > 0) p.positive++;
  };
  for (const record of records)
    for (const prompt of record.prompts) {
      const entry = key.entries.get(prompt.id);
      if (!entry) continue;
      const options = new Set(prompt.options.map(normal));
      for (const r of prompt.rollouts) {
        if (r.negative === null) continue;
        const verdict = judge(r.text, entry).verdict === 'right' ? 'right' : 'wrong';
        r.tokens.forEach((t, k) => {
          if (r.gateMask[k] !== 1) return;
          const d = (r.positive[k] as number) - (r.negative?.[k] as number);
          const kind = options.has(normal(t)) ? 'answer tokens' : 'wording tokens';
          add('all', d);
          add(verdict, d);
          add(kind, d);
          add(`${kind}, ${verdict}`, d);
        });
      }
    }
  return parts;
}

/** Mean delta of a part (null: no tokens). */
export const meanDelta = (p: DeltaPart): number | null => (p.tokens > 0 ? p.sum / p.tokens : null);

/** What a part adds to the overall mean: its sum over all tokens (the parts of a split add up). */
export const contribution = (p: DeltaPart, all: DeltaPart): number | null =>
  all.tokens > 0 ? p.sum / all.tokens : null;

/** Pools the splits of several runs (token sums add). */
export function poolSplits(splits: readonly DeltaSplit[]): DeltaSplit {
  return Object.fromEntries(
    DELTA_PARTS.map((name) => [
      name,
      splits.reduce(
        (a, s) => ({
          tokens: a.tokens + s[name].tokens,
          sum: a.sum + s[name].sum,
          positive: a.positive + s[name].positive,
        }),
        empty(),
      ),
    ]),
  ) as DeltaSplit;
}

/** The split as rows: part, tokens, share of tokens, mean delta, contribution, share with delta > 0. */
export function deltaRows(split: DeltaSplit): {
  readonly part: DeltaPartName;
  readonly tokens: number;
  readonly share: number | null;
  readonly mean: number | null;
  readonly contribution: number | null;
  readonly positiveShare: number | null;
}[] {
  const all = split.all;
  return DELTA_PARTS.map((part) => {
    const p = split[part];
    return {
      part,
      tokens: p.tokens,
      share: all.tokens > 0 ? p.tokens / all.tokens : null,
      mean: meanDelta(p),
      contribution: contribution(p, all),
      positiveShare: p.tokens > 0 ? p.positive / p.tokens : null,
    };
  });
}

/** The columns of the split's table (the inspector's and the gate-delta script's). */
export const DELTA_HEADERS = [
  'tokens of',
  'tokens',
  'share',
  'mean delta',
  'adds to the mean',
  'delta > 0',
] as const;

const pct = (x: number | null) => (x === null ? '–' : `${(x * 100).toFixed(1)}%`);
const signed = (x: number | null) => (x === null ? '–' : `${x >= 0 ? '+' : ''}${x.toFixed(3)}`);

/** The split as formatted table cells, one row per part, in DELTA_HEADERS order. */
export function deltaCells(split: DeltaSplit): string[][] {
  return deltaRows(split).map((r) => [
    r.part,
    String(r.tokens),
    pct(r.share),
    signed(r.mean),
    signed(r.contribution),
    pct(r.positiveShare),
  ]);
}
