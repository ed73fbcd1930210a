// The opt-in byte fallback of the word tokenizer: any UTF-8 text encodes (unknown words spelled
// in byte tokens) and decodes back to its words; world text keeps its ids; the default and a
// checkpoint stored before the fallback existed give bit-identical outputs.
import { describe, expect, it, beforeAll } from 'vitest';
import fc from 'fast-check';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { selectBackend } from '@vzero/core';
import { WORLD_VOCABULARY } from '@vzero/world';
import { LocalPolicy, Tokenizer, loadCheckpoint, splitWords } from '../src/index.js';
import { freeFormThroughCheckpoint, somePrompts, WORDS } from './helpers.js';

const FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'word-checkpoint-v1');

interface Expected {
  backend: string;
  tokenizerId: string;
  encoded: number[][];
  greedy: { tokenIds: number[]; logprobs: number[]; text: string }[][];
  sampled: { tokenIds: number[]; logprobs: number[]; text: string }[][];
  responses: number[][];
  scored: { logprobs: number[]; topIds: number[][]; topLogprobs: number[][] }[];
}

beforeAll(async () => {
  // The backend the stored outputs were computed on (plain tfjs cpu, no native kernels).
  await selectBackend({ prefer: 'cpu' });
});

describe('a checkpoint stored before the byte fallback', () => {
  it('loads as the word tokenizer and gives bit-identical samples and scores', async () => {
    const expected = JSON.parse(
      await readFile(join(FIXTURE, '..', 'word-checkpoint-v1.expected.json'), 'utf8'),
    ) as Expected;
    expect(expected.backend).toBe('cpu');
    const config = JSON.parse(await readFile(join(FIXTURE, 'config.json'), 'utf8')) as {
      tokenizer: unknown;
    };
    const { model, tokenizer } = await loadCheckpoint(FIXTURE);
    try {
      expect(tokenizer.byteFallback).toBe(false);
      expect(tokenizer.id).toBe(expected.tokenizerId);
      expect(tokenizer.toJSON()).toEqual(config.tokenizer);
      const policy = new LocalPolicy(model, tokenizer, { name: 'old' });
      const prompts = somePrompts();
      expect(prompts.map((p) => tokenizer.encode(p.text))).toEqual(expected.encoded);
      const rows = (groups: Awaited<ReturnType<LocalPolicy['sample']>>) =>
        groups.map((g) =>
          g.map((r) => ({ tokenIds: r.tokenIds, logprobs: Array.from(r.logprobs), text: r.text })),
        );
      const greedy = await policy.sample(prompts, {
        n: 1,
        temperature: 0,
        topP: 1,
        topK: 0,
        maxTokens: 8,
        seed: 0,
      });
      expect(rows(greedy)).toEqual(expected.greedy);
      const sampled = await policy.sample(prompts, {
        n: 2,
        temperature: 1,
        topP: 1,
        topK: 0,
        maxTokens: 6,
        seed: 3,
      });
      expect(rows(sampled)).toEqual(expected.sampled);
      const scored = await policy.score(
        prompts.map((p, i) => ({ prompt: p, responseTokenIds: expected.responses[i]! })),
        { topK: 3 },
      );
      expect(
        scored.map((s) => ({
          logprobs: Array.from(s.logprobs),
          topIds: s.topK!.ids.map((x) => Array.from(x)),
          topLogprobs: s.topK!.logprobs.map((x) => Array.from(x)),
        })),
      ).toEqual(expected.scored);
      // Still closed: an unknown word is the same error as before.
      expect(() => tokenizer.encode('What is it?')).toThrow(/unknown word "What"/);
    } finally {
      model.dispose();
    }
  });
});

describe('byte fallback', () => {
  const plain = Tokenizer.fromWords(WORLD_VOCABULARY);
  const bytes = Tokenizer.fromWords(WORLD_VOCABULARY, { byteFallback: true });

  it('keeps the ids of world text and adds 256 byte tokens after the words', () => {
    expect(bytes.size).toBe(plain.size + 256);
    expect(bytes.byteBase).toBe(plain.size);
    expect(bytes.tokens.slice(0, plain.size)).toEqual(plain.tokens);
    expect(bytes.tokens[bytes.byteBase + 0x41]).toBe('<0x41>');
    expect(bytes.id).not.toBe(plain.id);
    expect(bytes.id).toMatch(/^vzero-wordbytes-[0-9a-f]{16}$/);
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...WORLD_VOCABULARY), { maxLength: 40 }), (words) => {
        const text = words.join(' ');
        expect(bytes.encode(text)).toEqual(plain.encode(text));
      }),
    );
  });

  it('encodes any Unicode text without throwing and decodes it back to its words', () => {
    const text = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 60 }),
      fc
        .array(
          fc.oneof(fc.constantFrom(...WORLD_VOCABULARY), fc.string({ unit: 'grapheme', maxLength: 8 })),
          {
            maxLength: 12,
          },
        )
        .map((parts) => parts.join(' ')),
    );
    fc.assert(
      fc.property(text, (t) => {
        const ids = bytes.encode(t);
        expect(ids.every((id) => Number.isInteger(id) && id >= 0 && id < bytes.size)).toBe(true);
        expect(ids.some((id) => bytes.isSpecial(id))).toBe(false);
        expect(bytes.decode(ids)).toBe(splitWords(t).join(' '));
      }),
      { numRuns: 500 },
    );
    expect(bytes.decode(bytes.encode("What is the colour of the woman's scarf? (é, 中文, 🙂)"))).toBe(
      "What is the colour of the woman's scarf ? ( é , 中文 , 🙂 )",
    );
  });

  it('decodes any id sequence (invalid UTF-8 becomes U+FFFD) and round-trips its JSON', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: bytes.size - 1 }), { maxLength: 30 }), (ids) => {
        expect(typeof bytes.decode(ids)).toBe('string');
      }),
    );
    expect(bytes.decode([bytes.byteBase + 0xff])).toBe('\uFFFD');
    const json = bytes.toJSON();
    expect(json).toEqual({
      type: 'vzero-word',
      version: 2,
      words: [...WORLD_VOCABULARY],
      byteFallback: true,
    });
    expect(Tokenizer.fromJSON(JSON.parse(JSON.stringify(json))).id).toBe(bytes.id);
    expect(Tokenizer.fromJSON(plain.toJSON()).id).toBe(plain.id);
    expect(() => Tokenizer.fromJSON({ ...json, byteFallback: undefined })).toThrow(/version: 2/);
    expect(() => Tokenizer.fromJSON({ ...plain.toJSON(), byteFallback: true })).toThrow(/tokenizer = /);
  });

  it('is recorded in a checkpoint, and such a model answers free-form questions without throwing', async () => {
    const tokenizer = Tokenizer.fromWords(WORDS, { byteFallback: true });
    const { loaded, sampled, scored } = await freeFormThroughCheckpoint(tokenizer);
    expect(loaded.byteFallback).toBe(true);
    expect(loaded.id).toBe(tokenizer.id);
    for (const group of sampled) for (const r of group) expect(typeof r.text).toBe('string');
    for (const s of scored) expect(s.logprobs.every((v) => Number.isFinite(v) && v <= 0)).toBe(true);
  });
});
