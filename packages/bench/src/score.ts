// Scoring of responses against labelled samples: answer extraction, per-question aggregation of
// sampled responses, accuracy per category with Wilson intervals, and HR-Bench's cyclic
// option-order conventions. Pure: no Policy involved, so it can be tested with hand-made text.
import { InvalidInputError, ShapeMismatchError, optionLetter, type LabelledSample } from '@vzero/core';
import { extractAnswer, type ExtractionRule } from './extract.js';
import { wilsonInterval, type Interval } from './wilson.js';

/**
 * A labelled benchmark sample. Rows that ask the same question with the options in another
 * (cyclic) order share `groupKey`; `cycle` names the order (HR-Bench's `cycle_category`).
 */
export interface BenchSample extends LabelledSample {
  readonly groupKey?: string;
  readonly cycle?: string;
}

/** How n sampled responses to one question become its score. */
export type Aggregate = 'majority' | 'mean';

export interface Prediction {
  readonly id: string;
  readonly category: string;
  readonly groupKey?: string;
  readonly cycle?: string;
  /** The correct letter. */
  readonly answer: string;
  /** The predicted letter (majority vote over answered responses), null when none answered. */
  readonly predicted: string | null;
  /** 1/0 for majority; the fraction of correct responses for mean. */
  readonly score: number;
  /** Fraction of this question's responses with no recognisable answer (0 or 1 for one response). */
  readonly unanswered: number;
  readonly responses: readonly string[];
  /** Letter extracted from each response (null: none) and the rule that found it. */
  readonly extracted: readonly { readonly letter: string | null; readonly rule: ExtractionRule | null }[];
}

/** Accuracy over a set of questions. correct + wrong + unanswered = questions. */
export interface AccuracyCell {
  readonly questions: number;
  readonly correct: number;
  /** Answered but wrong. */
  readonly wrong: number;
  readonly unanswered: number;
  readonly accuracy: number;
  /** 95% Wilson interval of the accuracy. */
  readonly ci95: Interval;
}

export interface Breakdown {
  readonly overall: AccuracyCell;
  /** Per category, keys sorted. */
  readonly categories: Readonly<Record<string, AccuracyCell>>;
}

/** HR-Bench's mean over option orders: accuracy per cycle, then the plain mean of those. */
export interface AveragedCell {
  readonly accuracy: number;
  /** Wilson interval using the questions per cycle as the trial count. */
  readonly ci95: Interval;
  /** Questions per cycle (mean over cycles). */
  readonly questions: number;
  readonly cycles: number;
}

export interface CyclicSummary {
  readonly cycles: readonly string[];
  /** Accuracy within each option order. */
  readonly perCycle: Readonly<Record<string, Breakdown>>;
  /** HR-Bench convention (VLMEvalKit `report_acc_hrbench`): mean over cycles of per-cycle accuracy. */
  readonly averaged: {
    readonly overall: AveragedCell;
    readonly categories: Readonly<Record<string, AveragedCell>>;
  };
}

export interface ScoreSummary extends Breakdown {
  readonly aggregate: Aggregate;
  /** Responses per question. */
  readonly samplesPerQuestion: number;
  /** Over the samples that have a `cycle`; present when any has one. */
  readonly cyclic?: CyclicSummary;
  /**
   * Stricter circular rule (MMBench CircularEval) over `groupKey`: a question counts as correct
   * only when every one of its rows (option orders) is correct; unanswered when all its rows are
   * unanswered. Present when any sample has a `groupKey`.
   */
  readonly strict?: Breakdown;
  readonly predictions: readonly Prediction[];
}

export interface ScoreOptions {
  /** Default 'majority'. */
  readonly aggregate?: Aggregate;
}

function checkSamples(samples: readonly BenchSample[]): void {
  const ids = new Set<string>();
  samples.forEach((s, i) => {
    if (ids.has(s.id)) throw new InvalidInputError(`samples[${i}].id`, s.id, 'duplicate sample id');
    ids.add(s.id);
    if (!Array.isArray(s.options) || s.options.length < 1) {
      throw new InvalidInputError(`samples[${i}].options`, s.options, 'expected at least one option');
    }
    if (!Number.isInteger(s.answerIndex) || s.answerIndex < 0 || s.answerIndex >= s.options.length) {
      throw new InvalidInputError(
        `samples[${i}].answerIndex`,
        s.answerIndex,
        `expected an option index in [0, ${s.options.length})`,
      );
    }
    if (s.answer.toUpperCase() !== optionLetter(s.answerIndex)) {
      throw new InvalidInputError(
        `samples[${i}].answer`,
        s.answer,
        `disagrees with answerIndex ${s.answerIndex} (${optionLetter(s.answerIndex)})`,
      );
    }
  });
}

/** Majority letter among answered responses; ties go to the option that reached the count first. */
function majority(indices: readonly (number | undefined)[]): number | undefined {
  const counts = new Map<number, number>();
  let best: number | undefined;
  let bestCount = 0;
  for (const i of indices) {
    if (i === undefined) continue;
    const c = (counts.get(i) ?? 0) + 1;
    counts.set(i, c);
    if (c > bestCount) {
      best = i;
      bestCount = c;
    }
  }
  return best;
}

function predict(sample: BenchSample, responses: readonly string[], aggregate: Aggregate): Prediction {
  const found = responses.map((r) => extractAnswer(r, sample.options));
  const indices = found.map((f) => f?.index);
  const answered = indices.filter((i) => i !== undefined).length;
  const unanswered = (responses.length - answered) / responses.length;
  const vote = majority(indices);
  const score =
    aggregate === 'majority'
      ? vote === sample.answerIndex
        ? 1
        : 0
      : indices.filter((i) => i === sample.answerIndex).length / responses.length;
  return {
    id: sample.id,
    category: String(sample.category),
    ...(sample.groupKey !== undefined ? { groupKey: sample.groupKey } : {}),
    ...(sample.cycle !== undefined ? { cycle: sample.cycle } : {}),
    answer: optionLetter(sample.answerIndex),
    predicted: vote === undefined ? null : optionLetter(vote),
    score,
    // Under majority a question with any answered response has a vote: it is answered.
    unanswered: aggregate === 'majority' ? (vote === undefined ? 1 : 0) : unanswered,
    responses: responses.slice(),
    extracted: found.map((f) => ({ letter: f?.letter ?? null, rule: f?.rule ?? null })),
  };
}

/** Accuracy cell from per-question (score, unanswered) pairs. */
export function accuracyCell(
  items: readonly { readonly score: number; readonly unanswered: number }[],
): AccuracyCell {
  const questions = items.length;
  const correct = items.reduce((s, p) => s + p.score, 0);
  const unanswered = items.reduce((s, p) => s + p.unanswered, 0);
  return {
    questions,
    correct,
    wrong: Math.max(0, questions - correct - unanswered),
    unanswered,
    accuracy: questions > 0 ? correct / questions : 0,
    ci95: wilsonInterval(correct, questions),
  };
}

function breakdown(
  items: readonly { readonly score: number; readonly unanswered: number; readonly category: string }[],
): Breakdown {
  const byCategory = new Map<string, (typeof items)[number][]>();
  for (const p of items) {
    const list = byCategory.get(p.category);
    if (list) list.push(p);
    else byCategory.set(p.category, [p]);
  }
  // Keys come from the benchmark's data: built with fromEntries, a category named "__proto__"
  // is a category like any other (assignment would set the object's prototype instead).
  const categories: Record<string, AccuracyCell> = Object.fromEntries(
    [...byCategory.keys()].sort().map((key) => [key, accuracyCell(byCategory.get(key) ?? [])]),
  );
  return { overall: accuracyCell(items), categories };
}

function averaged(
  perCycle: readonly Breakdown[],
  pick: (b: Breakdown) => AccuracyCell | undefined,
): AveragedCell {
  const cells = perCycle.map(pick).filter((c): c is AccuracyCell => c !== undefined);
  const accuracy = cells.length > 0 ? cells.reduce((s, c) => s + c.accuracy, 0) / cells.length : 0;
  const questions = cells.length > 0 ? cells.reduce((s, c) => s + c.questions, 0) / cells.length : 0;
  return { accuracy, ci95: wilsonInterval(accuracy * questions, questions), questions, cycles: cells.length };
}

function cyclicSummary(predictions: readonly Prediction[]): CyclicSummary {
  const cycles = [...new Set(predictions.map((p) => p.cycle ?? ''))].sort();
  const list = cycles.map((c) => breakdown(predictions.filter((p) => (p.cycle ?? '') === c)));
  const perCycle: Record<string, Breakdown> = Object.fromEntries(
    cycles.map((c, i) => [c, list[i] as Breakdown]),
  );
  const categoryKeys = [...new Set(predictions.map((p) => p.category))].sort();
  const categories: Record<string, AveragedCell> = Object.fromEntries(
    categoryKeys.map((k) => [
      k,
      averaged(list, (b) => (Object.hasOwn(b.categories, k) ? b.categories[k] : undefined)),
    ]),
  );
  return { cycles, perCycle, averaged: { overall: averaged(list, (b) => b.overall), categories } };
}

function strictSummary(predictions: readonly Prediction[]): Breakdown | undefined {
  if (!predictions.some((p) => p.groupKey !== undefined)) return undefined;
  const groups = new Map<string, Prediction[]>();
  for (const p of predictions) {
    const key = p.groupKey ?? `id:${p.id}`;
    const list = groups.get(key);
    if (list) list.push(p);
    else groups.set(key, [p]);
  }
  const items = [...groups.entries()].map(([key, rows]) => {
    const category = rows[0]?.category ?? '';
    const other = rows.find((r) => r.category !== category);
    if (other) {
      throw new InvalidInputError(
        `samples[id=${other.id}].category`,
        other.category,
        `differs from the category of its group ${key} (${category})`,
      );
    }
    const allUnanswered = rows.every((r) => r.unanswered === 1);
    // A fractional (mean) score is correct in every order with probability of the product.
    const score = rows.reduce((s, r) => s * r.score, 1);
    return { category, score, unanswered: allUnanswered ? 1 : 0 };
  });
  return breakdown(items);
}

/**
 * Scores responses against samples. `responses[i]` is the response (or the list of sampled
 * responses) to samples[i]. With several responses, 'majority' scores the majority-vote answer
 * and 'mean' the fraction of correct responses.
 */
export function scorePredictions(
  samples: readonly BenchSample[],
  responses: readonly (string | readonly string[])[],
  options: ScoreOptions = {},
): ScoreSummary {
  const aggregate = options.aggregate ?? 'majority';
  if (aggregate !== 'majority' && aggregate !== 'mean') {
    throw new InvalidInputError('options.aggregate', aggregate, 'expected "majority" or "mean"');
  }
  if (samples.length !== responses.length) {
    throw new ShapeMismatchError(
      'responses',
      `${samples.length} entries (one per sample)`,
      `${responses.length}`,
    );
  }
  checkSamples(samples);
  let perQuestion: number | undefined;
  const predictions = samples.map((sample, i) => {
    const r = responses[i];
    const list = typeof r === 'string' ? [r] : (r ?? []);
    if (list.length === 0)
      throw new InvalidInputError(`responses[${i}]`, list, 'expected at least one response');
    if (perQuestion !== undefined && perQuestion !== list.length) {
      throw new ShapeMismatchError(
        `responses[${i}]`,
        `${perQuestion} responses like the others`,
        `${list.length}`,
      );
    }
    perQuestion = list.length;
    return predict(sample, list, aggregate);
  });
  const base = breakdown(predictions);
  const cycled = predictions.filter((p) => p.cycle !== undefined);
  const strict = strictSummary(predictions);
  return {
    aggregate,
    samplesPerQuestion: perQuestion ?? 0,
    ...base,
    ...(cycled.length > 0 ? { cyclic: cyclicSummary(cycled) } : {}),
    ...(strict ? { strict } : {}),
    predictions,
  };
}
