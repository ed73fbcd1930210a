// A word-level tokenizer over a closed vocabulary. Words are whitespace-separated; the
// punctuation marks . , ? ! : ; ( ) are tokens of their own. An unknown word is an error naming
// it: a silent <unk> id would let a vocabulary bug train a model on garbage.
import { createHash } from 'node:crypto';
import { InvalidInputError } from '@vzero/core';

/** Special tokens, always ids 0..4 in this order. */
export const SPECIAL_TOKENS = ['<pad>', '<bos>', '<eos>', '<image>', '<crop>'] as const;
export type SpecialToken = (typeof SPECIAL_TOKENS)[number];

/** The tokenizer's JSON form (checkpoints store it next to the weights). */
export interface TokenizerJSON {
  readonly type: 'vzero-word';
  readonly version: 1;
  /** Ordinary words, ids SPECIAL_TOKENS.length onwards. */
  readonly words: readonly string[];
}

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
  private readonly vocab: readonly string[];
  private readonly index: ReadonlyMap<string, number>;

  private constructor(words: readonly string[]) {
    this.vocab = [...SPECIAL_TOKENS, ...words];
    this.index = new Map(this.vocab.map((w, i) => [w, i]));
    const hash = createHash('sha256').update(JSON.stringify(this.vocab)).digest('hex');
    this.id = `vzero-word-${hash.slice(0, 16)}`;
  }

  /** A tokenizer over `words` (duplicates dropped, first occurrence keeps its place). */
  static fromWords(words: readonly string[]): Tokenizer {
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
    return new Tokenizer(out);
  }

  static fromJSON(json: unknown): Tokenizer {
    const j = json as Partial<TokenizerJSON> | null;
    if (
      j === null ||
      typeof j !== 'object' ||
      j.type !== 'vzero-word' ||
      j.version !== 1 ||
      !Array.isArray(j.words)
    ) {
      throw new InvalidInputError(
        'tokenizer',
        json,
        'expected {type: "vzero-word", version: 1, words: [...]}',
      );
    }
    return Tokenizer.fromWords(j.words);
  }

  toJSON(): TokenizerJSON {
    return { type: 'vzero-word', version: 1, words: this.vocab.slice(SPECIAL_TOKENS.length) };
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

  /** Ids of the words of `text` (no <bos>/<eos>); an unknown word throws naming it. */
  encode(text: string, field = 'text'): number[] {
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

  /** Words of ids joined by single spaces; special tokens are left out unless `keepSpecial`. */
  decode(ids: readonly number[], options: { readonly keepSpecial?: boolean } = {}): string {
    const out: string[] = [];
    ids.forEach((id, i) => {
      const w = this.vocab[id];
      if (w === undefined || !Number.isInteger(id)) {
        throw new InvalidInputError(`tokenIds[${i}]`, id, `expected an id in [0, ${this.vocab.length})`);
      }
      if (id < SPECIAL_TOKENS.length && !options.keepSpecial) return;
      out.push(w);
    });
    return out.join(' ');
  }

  isSpecial(id: number): boolean {
    return id >= 0 && id < SPECIAL_TOKENS.length;
  }
}
