import { describe, expect, it } from 'vitest';
import { Tokenizer } from '@vzero/model';
import { WORLD_VOCABULARY } from '@vzero/world';
import { answerSpanMask, responsePieces } from '../src/answer-span.js';

const tokenizer = Tokenizer.fromWords(WORLD_VOCABULARY);
const decode = (ids: readonly number[]) => tokenizer.decode(ids);

/** Pieces and a full mask of a hand-written response, as the trainer builds them. */
function spanOf(text: string, mask?: number[]) {
  const ids = tokenizer.encode(text);
  const pieces = responsePieces(decode, ids);
  return { ids, pieces, span: answerSpanMask(pieces, mask ?? ids.map(() => 1)) };
}

describe('answer span (located from the response format)', () => {
  it('is the tokens after "answer" in the reference format', () => {
    const { pieces, span } = spanOf('the triangle is red . answer red');
    expect(pieces.join('')).toBe('the triangle is red . answer red');
    expect(Array.from(span.mask)).toEqual([0, 0, 0, 0, 0, 0, 1]);
    expect(span.found).toBe(true);
  });

  it('uses the last marker and every token after it', () => {
    const { span } = spanOf('answer left . the star is on the left of the square . answer right');
    expect(Array.from(span.mask)).toEqual([...Array<number>(14).fill(0), 1]); // 15 tokens
  });

  it('keeps padding out of the span', () => {
    const { span } = spanOf(
      'the star is on the left of the square . answer left',
      [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0],
    );
    // the answer token itself is padding here: no span, so the whole real mask is kept
    expect(span.found).toBe(false);
    expect(Array.from(span.mask)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0]);
  });

  it('falls back to the whole mask when the response has no marker', () => {
    const { span } = spanOf('the star is red . red');
    expect(span.found).toBe(false);
    expect(Array.from(span.mask)).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it('does not match "answer" inside another word', () => {
    expect(answerSpanMask(['the ', 'answers', ' red'], [1, 1, 1]).found).toBe(false);
    expect(Array.from(answerSpanMask(['Answer', ':', ' ', 'B'], [1, 1, 1, 1]).mask)).toEqual([0, 1, 0, 1]);
  });
});
