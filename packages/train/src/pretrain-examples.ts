// The labelled examples `vzero pretrain` trains on: each sample's prompt and reference response,
// and for a chosen fraction of the samples (teacher only) the negative view with the same response.
import { InvalidInputError } from '@vzero/core';
import type { Prompt, Rng } from '@vzero/core';
import { referenceResponse, type WorldLabelledSample } from '@vzero/world';

export interface PretrainExample {
  readonly prompt: Prompt;
  readonly response: string;
}

export interface ExamplePrompts {
  readonly promptFor: (sample: WorldLabelledSample) => Promise<Prompt>;
  readonly negativeFor: (sample: WorldLabelledSample) => Promise<Prompt>;
}

/**
 * Builds the examples in sample order. Which samples also get the negative view is drawn from
 * `rng` in sample order before any view is made: the views are built concurrently and finish in
 * any order, and a draw made after one of them would tie the choice (and so the pre-trained
 * weights) to that order, which changes from run to run.
 */
export async function pretrainExamples(
  train: readonly WorldLabelledSample[],
  prompts: ExamplePrompts,
  negativeFraction: number,
  rng: Rng,
): Promise<PretrainExample[]> {
  const withNegative = train.map(() => negativeFraction > 0 && rng.float() < negativeFraction);
  const pairs = await Promise.all(
    train.map(async (s, i) => {
      if (!s.facts)
        throw new InvalidInputError(
          `${s.id}.facts`,
          undefined,
          'pre-training needs world samples with evidence facts',
        );
      const response = referenceResponse({ options: s.options, answerIndex: s.answerIndex, facts: s.facts });
      const positive = { prompt: await prompts.promptFor(s), response };
      return withNegative[i] ? [positive, { prompt: await prompts.negativeFor(s), response }] : [positive];
    }),
  );
  return pairs.flat();
}
