// A word-level tokenizer over a closed vocabulary. Words are whitespace-separated; the
// punctuation marks . , ? ! : ; ( ) are tokens of their own. An unknown word is an error naming
// it: a silent <unk> id would let a vocabulary bug train a model on garbage.
//
// Opt-in byte fallback (`fromWords(words, { byteFallback: true })`): 256 byte tokens follow the
// words, and a word outside the vocabulary is spelled as its UTF-8 bytes (two spelled words in a
// row are separated by the byte of a space), so any text encodes and nothing throws. The words
// keep their ids, so text made of known words encodes exactly as without the fallback. The
// default, and every checkpoint written before the fallback existed, stay the plain word
// tokenizer (JSON version 1) with the same ids and the same tokenizer id.
import { createHash } from 'node:crypto';
import { InvalidInputError } from '@vzero/core';

/** Special tokens, always ids 0..4 in this order. */
export const SPECIAL_TOKENS = ['<pad>', '<bos>', '<eos>', '<image>', '<crop>'] as const;
export type SpecialToken = (typeof SPECIAL_TOKENS)[number];

/** The tokenizer's JSON form (checkpoints store it next to the weights). */
export type TokenizerJSON =
  | {
      readonly type: 'vzero-word';
      readonly version: 1;
      /** Ordinary words, ids SPECIAL_TOKENS.length onwards. */
      readonly words: readonly string[];
    }
  | {
      readonly type: 'vzero-word';
      /** Version 2: the words, then 256 byte tokens (code written before it refuses it). */
      readonly version: 2;
      readonly words: readonly string[];
      readonly byteFallback: true;
    };

export interface TokenizerOptions {
  /** Spell words outside the vocabulary as UTF-8 byte tokens instead of throwing (default false). */
  readonly byteFallback?: boolean;
}

/** The name of byte token b in `tokens` (SentencePiece's spelling). */
export function byteTokenName(b: number): string {
  return `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
}

const SPACE = 0x20;

const PIECE = /[.,?!:;()]|[^\s.,?!:;()]+/g;

/** Splits text into the words the tokenizer looks up (no vocabulary check). */
export function splitWords(text: string): string[] {
  return text.match(PIECE) ?? [];
}

export class Tokenizer {
  readonly padId = 0;
  readonly bosId = 1;
  readonly eosId = 2;
  readonly imageId = 3;
  readonly cropId = 4;
  /** Stable identity: a hash of the vocabulary (the Policy's tokenizerId). */
  readonly id: string;
  /** Whether unknown words are spelled in byte tokens (ids byteBase .. byteBase + 255). */
  readonly byteFallback: boolean;
  /** Id of byte 0 (byte fallback only; -1 otherwise). */
  readonly byteBase: number;
  private readonly vocab: readonly string[];
  private readonly index: ReadonlyMap<string, number>;

  private constructor(words: readonly string[], byteFallback: boolean) {
    const named = [...SPECIAL_TOKENS, ...words];
    // Words only: a word spelled like a byte token's name is still that word.
    this.index = new Map(named.map((w, i) => [w, i]));
    this.byteFallback = byteFallback;
    if (byteFallback) {
      this.byteBase = named.length;
      this.vocab = [...named, ...Array.from({ length: 256 }, (_, b) => byteTokenName(b))];
      const hash = createHash('sha256')
        .update(JSON.stringify({ words: named, byteFallback: true }))
        .digest('hex');
      this.id = `vzero-wordbytes-${hash.slice(0, 16)}`;
    } else {
      // Exactly the id every checkpoint before the byte fallback carries.
      this.byteBase = -1;
      this.vocab = named;
      const hash = createHash('sha256').update(JSON.stringify(this.vocab)).digest('hex');
      this.id = `vzero-word-${hash.slice(0, 16)}`;
    }
  }

  /** A tokenizer over `words` (duplicates dropped, first occurrence keeps its place). */
  static fromWords(words: readonly string[], options: TokenizerOptions = {}): Tokenizer {
    const seen = new Set<string>(SPECIAL_TOKENS);
    const out: string[] = [];
    words.forEach((w, i) => {
      if (typeof w !== 'string' || splitWords(w).length !== 1 || splitWords(w)[0] !== w) {
        throw new InvalidInputError(
          `words[${i}]`,
          w,
          'expected one word without spaces (punctuation marks stand alone)',
        );
      }
      if (!seen.has(w)) {
        seen.add(w);
        out.push(w);
      }
    });
    return new Tokenizer(out, options.byteFallback === true);
  }

  static fromJSON(json: unknown): Tokenizer {
    const j = json as { type?: unknown; version?: unknown; words?: unknown; byteFallback?: unknown } | null;
    const ok =
      j !== null &&
      typeof j === 'object' &&
      j.type === 'vzero-word' &&
      Array.isArray(j.words) &&
      ((j.version === 1 && j.byteFallback === undefined) || (j.version === 2 && j.byteFallback === true));
    if (!ok) {
      throw new InvalidInputError(
        'tokenizer',
        json,
        'expected {type: "vzero-word", version: 1, words: [...]} or {type: "vzero-word", version: 2, words: [...], byteFallback: true}',
      );
    }
    return Tokenizer.fromWords(j.words as string[], { byteFallback: j.version === 2 });
  }

  toJSON(): TokenizerJSON {
    const words = this.vocab.slice(SPECIAL_TOKENS.length, this.byteFallback ? this.byteBase : undefined);
    return this.byteFallback
      ? { type: 'vzero-word', version: 2, words, byteFallback: true }
      : { type: 'vzero-word', version: 1, words };
  }

  /** Number of ids (specials included): the model's vocabSize. */
  get size(): number {
    return this.vocab.length;
  }

  /** Every token in id order. */
  get tokens(): readonly string[] {
    return this.vocab;
  }

  has(word: string): boolean {
    return this.index.has(word);
  }

  tokenId(word: string): number {
    const id = this.index.get(word);
    if (id === undefined) throw new InvalidInputError('word', word, 'not in the tokenizer vocabulary');
    return id;
  }

  /**
   * Ids of the words of `text` (no <bos>/<eos>). An unknown word throws naming it, or with the
   * byte fallback is spelled in byte tokens.
   */
  encode(text: string, field = 'text'): number[] {
    if (!this.byteFallback) {
      return splitWords(text).map((w) => {
        const id = this.index.get(w);
        if (id === undefined) {
          throw new InvalidInputError(
            field,
            text,
            `unknown word ${JSON.stringify(w)} (not in the tokenizer vocabulary)`,
          );
        }
        return id;
      });
    }
    const out: number[] = [];
    let spelled = false;
    for (const w of splitWords(text)) {
      const id = this.index.get(w);
      if (id !== undefined) {
        out.push(id);
        spelled = false;
        continue;
      }
      if (spelled) out.push(this.byteBase + SPACE);
      for (const b of Buffer.from(w, 'utf8')) out.push(this.byteBase + b);
      spelled = true;
    }
    return out;
  }

  /**
   * Words of ids joined by single spaces; special tokens are left out unless `keepSpecial`. A run
   * of byte tokens is one piece of UTF-8 (invalid sequences become U+FFFD).
   */
  decode(ids: readonly number[], options: { readonly keepSpecial?: boolean } = {}): string {
    const out: string[] = [];
    let bytes: number[] = [];
    const flush = () => {
      if (bytes.length > 0) out.push(Buffer.from(bytes).toString('utf8'));
      bytes = [];
    };
    ids.forEach((id, i) => {
      const w = this.vocab[id];
      if (w === undefined || !Number.isInteger(id)) {
        throw new InvalidInputError(`tokenIds[${i}]`, id, `expected an id in [0, ${this.vocab.length})`);
      }
      if (this.byteFallback && id >= this.byteBase) {
        bytes.push(id - this.byteBase);
        return;
      }
      flush();
      if (id < SPECIAL_TOKENS.length && !options.keepSpecial) return;
      out.push(w);
    });
    flush();
    return out.join(' ');
  }

  isSpecial(id: number): boolean {
    return id >= 0 && id < SPECIAL_TOKENS.length;
  }
}
