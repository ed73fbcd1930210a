// "Answer-label-free" is enforced by the compiler: these lines are checked by `pnpm typecheck`
// (part of `pnpm test`); each @ts-expect-error fails the typecheck if the error ever goes away.
import { describe, expect, it } from 'vitest';
import { withoutAnswer, type LabelFreeSample, type LabelledSample } from '../src/types.js';

const labelled: LabelledSample = {
  id: 'q1',
  image: { path: 'a.png' },
  question: 'what is the colour of the star ?',
  options: ['red', 'blue'],
  boxes: [{ x0: 1, y0: 2, x1: 3, y1: 4 }],
  category: 'attribute',
  answer: 'B',
  answerIndex: 1,
};

function labelFreeOnly(samples: readonly LabelFreeSample[]): number {
  return samples.length;
}

describe('label-free types', () => {
  it('a labelled sample cannot be passed where a label-free one is required', () => {
    // @ts-expect-error: LabelFreeSample has no answer field (answer?: never)
    expect(labelFreeOnly([labelled])).toBe(1);
    // @ts-expect-error: a label-free sample cannot be written with an answer either
    const bad: LabelFreeSample = { ...withoutAnswer(labelled), answer: 'B' };
    expect(bad.id).toBe('q1');
  });

  it('withoutAnswer is the sanctioned way from labelled to label-free', () => {
    const free = withoutAnswer(labelled);
    expect(labelFreeOnly([free])).toBe(1);
    expect('answer' in free).toBe(false);
    expect('answerIndex' in free).toBe(false);
  });
});
