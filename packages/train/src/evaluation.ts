// Accuracy of a policy on labelled samples: greedy decoding through @vzero/bench's harness,
// reduced to the few numbers the training app logs.
import type { LabelledSample, Policy, Prompt } from '@vzero/core';
import { evaluate, type Report } from '@vzero/bench';

export interface EvalSummary {
  readonly accuracy: number;
  readonly n: number;
  readonly unanswered: number;
  readonly categories: Record<string, { readonly accuracy: number; readonly n: number }>;
}

export function summarise(report: Report): EvalSummary {
  return {
    accuracy: report.overall.accuracy,
    n: report.overall.questions,
    unanswered: report.overall.unanswered,
    categories: Object.fromEntries(
      Object.entries(report.categories).map(([k, c]) => [k, { accuracy: c.accuracy, n: c.questions }]),
    ),
  };
}

export async function evaluatePolicy<S extends LabelledSample>(
  policy: Policy,
  samples: readonly S[],
  promptFor: (sample: S) => Promise<Prompt>,
  options: { readonly batchSize?: number; readonly maxTokens?: number } = {},
): Promise<EvalSummary> {
  const report = await evaluate(policy, samples, {
    promptFor: (s) => promptFor(s as S),
    maxTokens: options.maxTokens ?? 16,
    batchSize: options.batchSize ?? 32,
  });
  return summarise(report);
}
