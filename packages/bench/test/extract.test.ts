import { describe, expect, it } from 'vitest';
import { extractAnswer } from '../src/index.js';

const OPTIONS = ['red', 'green', 'dark red', 'blue'];

describe('extractAnswer', () => {
  it.each([
    ['B', 'B', 'leading-letter'],
    ['b', 'B', 'leading-letter'],
    ['(b)', 'B', 'leading-letter'],
    ['( B )', 'B', 'leading-letter'],
    ['B. green', 'B', 'leading-letter'],
    ['B) green', 'B', 'leading-letter'],
    ['D .', 'D', 'leading-letter'],
    ['The sign is small, so the answer is (b).', 'B', 'answer-phrase'],
    ['I looked closely ... answer B', 'B', 'answer-phrase'],
    ['Answer: C', 'C', 'answer-phrase'],
    ['answer is d, because of the light', 'D', 'answer-phrase'],
    ['the answer is B because it glows', 'B', 'answer-phrase'],
    ['first I thought A, but the final answer is B', 'B', 'answer-phrase'],
    ['the answer is a red sign', 'A', 'option-text'], // "a" is an article here
    ['the answer is dark red', 'C', 'answer-phrase'],
    ['red', 'A', 'option-text'],
    ['It looks blue to me.', 'D', 'option-text'],
    ['The colour is DARK RED.', 'C', 'option-text'],
    ['Between the options I pick (d) here', 'D', 'parenthesised-letter'],
  ])('%j -> %s (%s)', (response, letter, rule) => {
    expect(extractAnswer(response, OPTIONS)).toEqual({ index: letter.charCodeAt(0) - 65, letter, rule });
  });

  it.each([
    [''],
    ['   '],
    ['I cannot tell.'],
    ['A sign on the wall'], // an article, not a letter
    ['It is either red or blue'], // commits to nothing
    ['E'], // no option E
    ['the answer is (F)'],
    ['(A) or (B), hard to say'],
  ])('%j -> no answer', (response) => {
    expect(extractAnswer(response, OPTIONS)).toBeUndefined();
  });

  it('does not find an option inside another word', () => {
    expect(extractAnswer('the redness is odd', ['red', 'blue'])).toBeUndefined();
    expect(extractAnswer('reddish blue', ['red', 'blue'])).toEqual({
      index: 1,
      letter: 'B',
      rule: 'option-text',
    });
  });
});
