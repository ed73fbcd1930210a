// Byte-level BPE: merges learned on a hand-made corpus are the hand-computed ones; any Unicode
// text round-trips exactly (fast-check) through BPE learned on the world's corpus and through
// plain bytes; the JSON form and a checkpoint record the merges.
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { selectBackend } from '@vzero/core';
import { WORLD_VOCABULARY, worldCorpus } from '@vzero/world';
import { Tokenizer } from '../src/index.js';
import { freeFormThroughCheckpoint } from './helpers.js';

beforeAll(async () => {
  await selectBackend({ prefer: 'cpu' });
});

// Ids: specials 0..4, byte b is 5 + b, merge k is 261 + k.
const id = (ch: string) => 5 + ch.charCodeAt(0);

describe('learning byte-level BPE', () => {
  it('learns the hand-computed merges of a tiny corpus', () => {
    // Chunks "the" x2, " cat", " hat". Round 1: (t,h), (h,e), (a,t) are seen twice each; the tie
    // goes to the smallest pair of ids, (a,t) = (102, 121) -> 261 "at". Round 2: (h,e) = (109, 106)
    // beats (t,h) = (121, 109) -> 262 "he". Round 3: (t, "he") twice -> 263 "the". Then every pair
    // is seen once, below the minimum frequency of 2.
    const t = Tokenizer.learnBpe(['the cat', 'the hat']);
    expect(t.toJSON()).toEqual({
      type: 'vzero-bpe',
      version: 1,
      merges: [
        [id('a'), id('t')],
        [id('h'), id('e')],
        [id('t'), 262],
      ],
    });
    expect(t.size).toBe(5 + 256 + 3);
    expect(t.tokens.slice(261)).toEqual(['at', 'he', 'the']);
    // Merges apply by rank inside a chunk: "theat" -> t h e (at) -> t (he) (at) -> (the) (at).
    expect(t.encode('theat')).toEqual([263, 261]);
    expect(t.encode(' that')).toEqual([id(' '), id('t'), id('h'), 261]);
    // Merges never cross chunks: "a-t" is the chunks "a", "-", "t".
    expect(t.encode('at')).toEqual([261]);
    expect(t.encode('a-t')).toEqual([id('a'), id('-'), id('t')]);
    expect(t.encode('a the')).toEqual([id('a'), id(' '), 263]);
    // With a minimum frequency of 1 the learning goes on until every chunk is one token.
    const all = Tokenizer.learnBpe(['the cat', 'the hat'], { minFrequency: 1 });
    expect(all.encode('the cat').map((i) => all.tokens[i])).toEqual(['the', ' cat']);
    expect(all.encode('the hat').map((i) => all.tokens[i])).toEqual(['the', ' hat']);
    expect(Tokenizer.learnBpe(['the cat', 'the hat'], { merges: 1 }).tokens.slice(261)).toEqual(['at']);
  });

  it('is deterministic, and on the world corpus spells world text in as many tokens as the word vocabulary', () => {
    const corpus = worldCorpus({ n: 400 });
    const a = Tokenizer.learnBpe(corpus);
    const b = Tokenizer.learnBpe([...corpus]);
    expect(a.id).toBe(b.id);
    expect(a.id).toMatch(/^vzero-bpe-[0-9a-f]{16}$/);
    const words = Tokenizer.fromWords(WORLD_VOCABULARY);
    for (const text of corpus.slice(0, 200)) expect(a.encode(text).length).toBe(words.encode(text).length);
  });
});

describe('byte-level tokenizers on any text', () => {
  const bpe = Tokenizer.learnBpe(worldCorpus({ n: 400 }));
  const bytes = Tokenizer.bytes();
  const text = fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 60 }),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc
      .array(fc.oneof(fc.constantFrom(...WORLD_VOCABULARY), fc.string({ unit: 'grapheme', maxLength: 8 })), {
        maxLength: 12,
      })
      .map((parts) => parts.join(' ')),
  );

  it('round-trips random Unicode exactly, with ids in range and no special token', () => {
    for (const t of [bpe, bytes]) {
      fc.assert(
        fc.property(text, (s) => {
          const ids = t.encode(s);
          expect(ids.every((i) => Number.isInteger(i) && i >= 5 && i < t.size)).toBe(true);
          expect(t.decode(ids)).toBe(s);
        }),
        { numRuns: 400 },
      );
    }
    expect(bytes.encode('é')).toEqual([5 + 0xc3, 5 + 0xa9]);
    const question = "What is the colour of the woman's scarf? (é, 中文, 🙂)\n  options: A red";
    expect(bpe.decode(bpe.encode(question))).toBe(question);
    expect(bpe.encode(question).length).toBeLessThan(bytes.encode(question).length);
  });

  it('decodes any id sequence, leaves specials out unless asked, and round-trips its JSON', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: bpe.size - 1 }), { maxLength: 30 }), (ids) => {
        expect(typeof bpe.decode(ids)).toBe('string');
      }),
    );
    expect(bpe.decode([bpe.bosId, ...bpe.encode('the star'), bpe.eosId])).toBe('the star');
    expect(bpe.decode([bpe.bosId, ...bpe.encode('ok'), bpe.eosId], { keepSpecial: true })).toBe(
      '<bos>ok<eos>',
    );
    expect(bpe.decode([5 + 0xff])).toBe('\uFFFD');
    const again = Tokenizer.fromJSON(JSON.parse(JSON.stringify(bpe.toJSON())));
    expect(again.id).toBe(bpe.id);
    expect(again.tokens).toEqual(bpe.tokens);
    expect(Tokenizer.fromJSON(bytes.toJSON()).id).toBe(bytes.id);
    expect(bytes.id).not.toBe(bpe.id);
    expect(() => Tokenizer.fromJSON({ type: 'vzero-bpe', version: 2, merges: [] })).toThrow(/vzero-bpe/);
    expect(() => Tokenizer.fromJSON({ type: 'vzero-bpe', version: 1, merges: [[5, 261]] })).toThrow(
      /merges\[0\]/,
    );
    expect(() => Tokenizer.fromJSON({ type: 'vzero-bpe', version: 1, merges: [[4, 6]] })).toThrow(
      /merges\[0\]/,
    );
  });

  it('is recorded in a checkpoint, and such a model samples and scores free-form text', async () => {
    const { loaded, sampled, scored } = await freeFormThroughCheckpoint(bpe);
    expect(loaded.kind).toBe('bpe');
    expect(loaded.id).toBe(bpe.id);
    for (const group of sampled) for (const r of group) expect(r.text).toBe(loaded.decode(r.tokenIds));
    for (const s of scored) expect(s.logprobs.every((v) => Number.isFinite(v) && v <= 0)).toBe(true);
  });
});
