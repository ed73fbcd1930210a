import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { InvalidInputError } from '@vzero/core';
import { SPECIAL_TOKENS, Tokenizer, splitWords } from '../src/index.js';
import { WORDS, tokenizer } from './helpers.js';

describe('Tokenizer', () => {
  it('puts the specials first, then the words in order, without duplicates', () => {
    expect(tokenizer.tokens.slice(0, 5)).toEqual([...SPECIAL_TOKENS]);
    expect(tokenizer.size).toBe(SPECIAL_TOKENS.length + WORDS.length);
    expect(Tokenizer.fromWords([...WORDS, 'red']).size).toBe(tokenizer.size);
    expect(tokenizer.tokenId('what')).toBe(5);
    expect([tokenizer.padId, tokenizer.bosId, tokenizer.eosId]).toEqual([0, 1, 2]);
  });

  it('splits punctuation from words and decodes with single spaces', () => {
    expect(splitWords('the triangle is red. answer B')).toEqual([
      'the',
      'triangle',
      'is',
      'red',
      '.',
      'answer',
      'B',
    ]);
    const ids = tokenizer.encode('the triangle is red. answer B');
    expect(tokenizer.decode(ids)).toBe('the triangle is red . answer B');
    expect(tokenizer.decode([tokenizer.bosId, ...ids, tokenizer.eosId], { keepSpecial: true })).toBe(
      '<bos> the triangle is red . answer B <eos>',
    );
  });

  it('round-trips any sequence of vocabulary words', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...WORDS), { maxLength: 20 }), (words) => {
        const text = words.join(' ');
        expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
      }),
    );
  });

  it('throws on an unknown word, naming it', () => {
    expect(() => tokenizer.encode('the hexagon is red', 'prompt.text')).toThrow(InvalidInputError);
    expect(() => tokenizer.encode('the hexagon is red', 'prompt.text')).toThrow(
      /prompt\.text = .*unknown word "hexagon"/,
    );
    expect(() => tokenizer.decode([999])).toThrow(/tokenIds\[0\]/);
    expect(() => Tokenizer.fromWords(['two words'])).toThrow(/words\[0\]/);
  });

  it('has a stable id that changes with the vocabulary, and survives JSON', () => {
    const again = Tokenizer.fromWords(WORDS);
    expect(again.id).toBe(tokenizer.id);
    expect(Tokenizer.fromWords([...WORDS, 'purple']).id).not.toBe(tokenizer.id);
    const copy = Tokenizer.fromJSON(JSON.parse(JSON.stringify(tokenizer)));
    expect(copy.id).toBe(tokenizer.id);
    expect(copy.tokens).toEqual(tokenizer.tokens);
    expect(() => Tokenizer.fromJSON({ type: 'bpe' })).toThrow(InvalidInputError);
  });
});
