// Accuracy of a policy on labelled samples: greedy decoding through @vzero/bench's harness,
// reduced to the few numbers the training app logs.
import type { LabelledSample, Policy, Prompt } from '@vzero/core';
import { evaluate, type Report } from '@vzero/bench';

export interface EvalSummary {
  readonly accuracy: number;
  readonly n: number;
  readonly unanswered: number;
  readonly categories: Record<string, { readonly accuracy: number; readonly n: number }>;
  /**
   * Per question, in sample order: "1" right, "0" wrong (only when asked for with `items`):
   * what paired comparisons over the same questions need.
   */
  readonly correct?: string;
}

/**
 * Accuracy on the questions whose scene goes against the world's prior (facts.followsPrior
 * false, a colour other than the shape's usual one), read from a `correct` string over
 * `samples`; undefined when none of them is such a question.
 */
export function counterPriorAccuracy(
  samples: readonly { readonly facts?: { readonly followsPrior?: boolean } }[],
  correct: string,
): { readonly accuracy: number; readonly n: number } | undefined {
  let n = 0;
  let right = 0;
  samples.forEach((s, i) => {
    if (s.facts?.followsPrior !== false) return;
    n++;
    if (correct[i] === '1') right++;
  });
  return n > 0 ? { accuracy: right / n, n } : undefined;
}

/** A `correct` string as one row of 0/1 scores (the input of paired comparisons). */
export function correctRow(correct: string): Uint8Array {
  return Uint8Array.from(correct, (c) => (c === '1' ? 1 : 0));
}

export function summarise(report: Report, items = false): EvalSummary {
  return {
    accuracy: report.overall.accuracy,
    n: report.overall.questions,
    unanswered: report.overall.unanswered,
    categories: Object.fromEntries(
      Object.entries(report.categories).map(([k, c]) => [k, { accuracy: c.accuracy, n: c.questions }]),
    ),
    ...(items ? { correct: report.predictions.map((p) => (p.score >= 0.5 ? '1' : '0')).join('') } : {}),
  };
}

export async function evaluatePolicy<S extends LabelledSample>(
  policy: Policy,
  samples: readonly S[],
  promptFor: (sample: S) => Promise<Prompt>,
  options: {
    readonly batchSize?: number;
    readonly maxTokens?: number;
    readonly items?: boolean;
    /** Questions answered so far (for a progress bar). */
    readonly onProgress?: (done: number) => void;
  } = {},
): Promise<EvalSummary> {
  const onProgress = options.onProgress;
  const report = await evaluate(policy, samples, {
    promptFor: (s) => promptFor(s as S),
    maxTokens: options.maxTokens ?? 16,
    batchSize: options.batchSize ?? 32,
    ...(onProgress ? { onProgress: (p: { done: number }) => onProgress(p.done) } : {}),
  });
  return summarise(report, options.items ?? false);
}
