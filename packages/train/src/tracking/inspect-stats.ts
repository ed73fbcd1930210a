// What the `vzero inspect` report adds to the records, after training: whether each response is
// right, read from the dataset's labels by the report only (training never reads them: the
// V-Zero and OPD step takes label-free samples, and test/inspect-stats.test.ts checks that no
// module of that step reaches this file or the labels), and per recorded step the share of
// groups whose G responses are all identical (the gate cannot act on them: equal scores, z-score
// 0, weight 1) and the gate weight's relation to correctness (mean weight of right vs wrong
// responses), with the same over the whole run. Correct means what evaluation means: the
// option @vzero/bench's extractAnswer reads from the response is the labelled one; a response
// with no readable answer is wrong.
import { isAbsolute, join, resolve } from 'node:path';
import { extractAnswer } from '@vzero/bench';
import { optionLetter } from '@vzero/core';
import { loadLabelled } from '@vzero/world';
import type { InspectRecord } from './inspect-record.js';

/** A sample's options and its correct option. */
export interface AnswerKeyEntry {
  readonly options: readonly string[];
  readonly answerIndex: number;
}

/** The labels of a split, by sample id, and where they were read. */
export interface AnswerKey {
  /** `<dir>/<split>/labels.jsonl`, for the page. */
  readonly source: string;
  readonly entries: ReadonlyMap<string, AnswerKeyEntry>;
}

/** Why the report has no answer key (shown on the page instead of the column). */
export interface NoAnswerKey {
  readonly reason: string;
}

/**
 * Reads the labels of the split a run trained on (`data.dir`, `data.split` of its config; a
 * relative dir is taken from `cwd`, as training took it). Never throws for a missing or bad
 * labels file: the report then says why it has no correctness.
 */
export async function readAnswerKey(
  dir: string | undefined,
  split: string | undefined,
  cwd = process.cwd(),
): Promise<AnswerKey | NoAnswerKey> {
  if (dir === undefined || split === undefined)
    return { reason: "the run's config.json names no data.dir and data.split" };
  const folder = isAbsolute(dir) ? dir : resolve(cwd, dir);
  const source = join(folder, split, 'labels.jsonl');
  try {
    const samples = await loadLabelled(folder, split);
    return {
      source,
      entries: new Map(samples.map((s) => [s.id, { options: s.options, answerIndex: s.answerIndex }])),
    };
  } catch (error) {
    return { reason: `the labels of ${source} could not be read (${(error as Error).message})` };
  }
}

export type Verdict = 'right' | 'wrong' | 'unanswered';

export interface Judged {
  readonly verdict: Verdict;
  /** The option letter read from the response (null: none). */
  readonly letter: string | null;
  /** The correct letter. */
  readonly answer: string;
}

/** Whether a response is right under a key entry, as evaluation scores it. */
export function judge(text: string, entry: AnswerKeyEntry): Judged {
  const found = extractAnswer(text, entry.options);
  const answer = optionLetter(entry.answerIndex);
  if (!found) return { verdict: 'unanswered', letter: null, answer };
  return { verdict: found.index === entry.answerIndex ? 'right' : 'wrong', letter: found.letter, answer };
}

/** Sums from which means are taken (so steps pool into a run total exactly). */
export interface WeightSums {
  readonly right: number;
  readonly wrong: number;
  readonly unknown: number;
  readonly weightRight: number;
  readonly weightWrong: number;
}

export interface StepStats extends WeightSums {
  readonly step: number;
  /** Groups the statistics cover: the whole step (version 2 records) or the shown prompts. */
  readonly groups: number;
  readonly identicalGroups: number;
  /** identicalGroups / groups (null without groups). */
  readonly identicalShare: number | null;
  /** Whether the numbers cover every group of the step (false: only the prompts shown). */
  readonly wholeStep: boolean;
  readonly rollouts: number;
  /** Mean weight of right responses (null: none right, or no labels). */
  readonly meanWeightRight: number | null;
  /** Mean weight of wrong responses, unanswered included (null: none, or no labels). */
  readonly meanWeightWrong: number | null;
}

const meanOf = (sum: number, n: number): number | null => (n > 0 ? sum / n : null);

function withMeans<T extends WeightSums>(
  s: T,
): T & {
  meanWeightRight: number | null;
  meanWeightWrong: number | null;
} {
  return {
    ...s,
    meanWeightRight: meanOf(s.weightRight, s.right),
    meanWeightWrong: meanOf(s.weightWrong, s.wrong),
  };
}

/**
 * A recorded step's statistics: over every group of the step where the record has them (version
 * 2), else over the prompts it shows (identical: every response the same text).
 */
export function stepStats(record: InspectRecord, key: AnswerKey | undefined): StepStats {
  const groups =
    record.batch ??
    record.prompts.map((p) => ({
      id: p.id,
      identical: p.rollouts.every((r) => r.tokens.join('') === p.rollouts[0]?.tokens.join('')),
      texts: p.rollouts.map((r) => r.text),
      weights: p.rollouts.map((r) => r.weight),
    }));
  let right = 0;
  let wrong = 0;
  let unknown = 0;
  let weightRight = 0;
  let weightWrong = 0;
  let rollouts = 0;
  for (const g of groups) {
    const entry = key?.entries.get(g.id);
    g.texts.forEach((text, i) => {
      rollouts++;
      const w = g.weights[i] as number;
      if (!entry) {
        unknown++;
        return;
      }
      if (judge(text, entry).verdict === 'right') {
        right++;
        weightRight += w;
      } else {
        wrong++;
        weightWrong += w;
      }
    });
  }
  const identicalGroups = groups.filter((g) => g.identical).length;
  return withMeans({
    step: record.step,
    groups: groups.length,
    identicalGroups,
    identicalShare: groups.length > 0 ? identicalGroups / groups.length : null,
    wholeStep: record.batch !== undefined,
    rollouts,
    right,
    wrong,
    unknown,
    weightRight,
    weightWrong,
  });
}

export interface RunStats extends WeightSums {
  readonly steps: number;
  readonly groups: number;
  readonly identicalGroups: number;
  readonly identicalShare: number | null;
  readonly rollouts: number;
  readonly meanWeightRight: number | null;
  readonly meanWeightWrong: number | null;
}

/** The recorded steps pooled: every group and every response counted once. */
export function runStats(steps: readonly StepStats[]): RunStats {
  const sum = (f: (s: StepStats) => number) => steps.reduce((a, s) => a + f(s), 0);
  const groups = sum((s) => s.groups);
  const identicalGroups = sum((s) => s.identicalGroups);
  return withMeans({
    steps: steps.length,
    groups,
    identicalGroups,
    identicalShare: groups > 0 ? identicalGroups / groups : null,
    rollouts: sum((s) => s.rollouts),
    right: sum((s) => s.right),
    wrong: sum((s) => s.wrong),
    unknown: sum((s) => s.unknown),
    weightRight: sum((s) => s.weightRight),
    weightWrong: sum((s) => s.weightWrong),
  });
}
