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
//
// Byte-level BPE (`Tokenizer.learnBpe(corpus)`, or `Tokenizer.bytes()` with no merges): the 256
// bytes are base tokens (ids 5..260, after the specials) and each learned merge adds one token.
// Text is cut into chunks (a letter run, a digit run or a run of other marks, each with its
// leading space; whitespace runs) that merges never cross, and every chunk's UTF-8 bytes are
// merged by rank, GPT-2 style. Any text encodes, and decoding gives it back exactly (a lone UTF-16
// surrogate, which UTF-8 cannot carry, comes back as U+FFFD). JSON type 'vzero-bpe', version 1.
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
    }
  | {
      readonly type: 'vzero-bpe';
      readonly version: 1;
      /** Merge k joins tokens [a, b] into token 261 + k (ids count the specials and the bytes). */
      readonly merges: readonly (readonly [number, number])[];
    };

/** Options of `Tokenizer.learnBpe`. */
export interface LearnBpeOptions {
  /** Most merges to learn (default 512). */
  readonly merges?: number;
  /** A pair seen fewer times than this across the corpus is not merged (default 2). */
  readonly minFrequency?: number;
}

export interface TokenizerOptions {
  /** Spell words outside the vocabulary as UTF-8 byte tokens instead of throwing (default false). */
  readonly byteFallback?: boolean;
}

/** The name of byte token b in `tokens` (SentencePiece's spelling). */
export function byteTokenName(b: number): string {
  return `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
}

const SPACE = 0x20;

/** Id of byte 0 in a byte-level BPE tokenizer (right after the specials). */
const BPE_BYTE_BASE = SPECIAL_TOKENS.length;
/** Ids of the first merged token of a byte-level BPE tokenizer. */
const BPE_FIRST_MERGE = BPE_BYTE_BASE + 256;

/** Chunks merges never cross: GPT-2's pre-tokenizer without its English contractions. */
const CHUNK = / ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** Key of an id pair (ids stay far below 2^20). */
const pairKey = (a: number, b: number): number => a * 0x100000 + b;

/** Replaces every non-overlapping (a, b) of `ids`, left to right, by `merged`. */
function mergePair(ids: readonly number[], a: number, b: number, merged: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] === a && ids[i + 1] === b) {
      out.push(merged);
      i++;
    } else {
      out.push(ids[i] as number);
    }
  }
  return out;
}

/** A byte-level token's name: its text when that is valid UTF-8, else its bytes' names. */
function bytesName(bytes: readonly number[]): string {
  const text = Buffer.from(bytes).toString('utf8');
  return Buffer.from(text, 'utf8').equals(Buffer.from(bytes)) ? text : bytes.map(byteTokenName).join('');
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
  /** Whether unknown words are spelled in byte tokens (ids byteBase .. byteBase + 255). */
  readonly byteFallback: boolean;
  /** Id of byte 0 (byte fallback and byte-level BPE; -1 otherwise). */
  readonly byteBase: number;
  /** 'word' (closed vocabulary, optional byte fallback) or 'bpe' (byte-level BPE: any text). */
  readonly kind: 'word' | 'bpe';
  private readonly vocab: readonly string[];
  private readonly index: ReadonlyMap<string, number>;
  /** Byte-level BPE only: the merges in rank order, their ranks by pair, each token's bytes. */
  private readonly merges: readonly (readonly [number, number])[] = [];
  private readonly ranks: ReadonlyMap<number, number> = new Map();
  private readonly tokenBytes: readonly (readonly number[])[] = [];
  private readonly chunkCache = new Map<string, readonly number[]>();

  private constructor(
    words: readonly string[],
    byteFallback: boolean,
    merges?: readonly (readonly [number, number])[],
  ) {
    if (merges !== undefined) {
      this.kind = 'bpe';
      this.byteFallback = false;
      this.byteBase = BPE_BYTE_BASE;
      this.merges = merges;
      const bytes: number[][] = Array.from({ length: 256 }, (_, b) => [b]);
      merges.forEach(([a, b]) => bytes.push([...bytes[a - BPE_BYTE_BASE]!, ...bytes[b - BPE_BYTE_BASE]!]));
      this.tokenBytes = bytes;
      this.ranks = new Map(merges.map(([a, b], k) => [pairKey(a, b), k]));
      this.vocab = [...SPECIAL_TOKENS, ...bytes.map((t, i) => (i < 256 ? byteTokenName(i) : bytesName(t)))];
      // Names look up the specials and the merged tokens (a byte's name is its <0x..> form).
      const index = new Map<string, number>();
      this.vocab.forEach((name, i) => {
        if (!index.has(name)) index.set(name, i);
      });
      this.index = index;
      const hash = createHash('sha256')
        .update(JSON.stringify({ bpe: merges }))
        .digest('hex');
      this.id = `vzero-bpe-${hash.slice(0, 16)}`;
      return;
    }
    this.kind = 'word';
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

  /** Plain bytes: the byte-level tokenizer with no merges (every UTF-8 byte one token). */
  static bytes(): Tokenizer {
    return Tokenizer.fromMerges([]);
  }

  /** A byte-level BPE tokenizer from its merges (see TokenizerJSON 'vzero-bpe'). */
  static fromMerges(merges: readonly (readonly [number, number])[]): Tokenizer {
    if (!Array.isArray(merges))
      throw new InvalidInputError('merges', merges, 'expected an array of id pairs');
    merges.forEach((m, k) => {
      const ok =
        Array.isArray(m) &&
        m.length === 2 &&
        m.every((id) => Number.isInteger(id) && id >= BPE_BYTE_BASE && id < BPE_FIRST_MERGE + k);
      if (!ok) {
        throw new InvalidInputError(
          `merges[${k}]`,
          m,
          `expected two ids of byte or earlier merged tokens, in [${BPE_BYTE_BASE}, ${BPE_FIRST_MERGE + k})`,
        );
      }
    });
    return new Tokenizer(
      [],
      false,
      merges.map(([a, b]) => [a, b] as const),
    );
  }

  /**
   * Learns byte-level BPE merges from `corpus` (deterministic: each round merges the most frequent
   * adjacent pair within chunks, ties to the smaller pair of ids), until `merges` are learned or
   * no pair is seen `minFrequency` times.
   */
  static learnBpe(corpus: Iterable<string>, options: LearnBpeOptions = {}): Tokenizer {
    const most = options.merges ?? 512;
    const minFrequency = options.minFrequency ?? 2;
    if (!(Number.isInteger(most) && most >= 0))
      throw new InvalidInputError('merges', most, 'expected an integer >= 0');
    if (!(Number.isInteger(minFrequency) && minFrequency >= 1))
      throw new InvalidInputError('minFrequency', minFrequency, 'expected an integer >= 1');
    const counts = new Map<string, number>();
    for (const text of corpus) {
      for (const chunk of text.match(CHUNK) ?? []) counts.set(chunk, (counts.get(chunk) ?? 0) + 1);
    }
    let words = [...counts].map(([chunk, count]) => ({
      ids: [...Buffer.from(chunk, 'utf8')].map((b) => BPE_BYTE_BASE + b),
      count,
    }));
    const merges: [number, number][] = [];
    while (merges.length < most) {
      const pairs = new Map<number, number>();
      for (const w of words) {
        for (let i = 0; i + 1 < w.ids.length; i++) {
          const key = pairKey(w.ids[i] as number, w.ids[i + 1] as number);
          pairs.set(key, (pairs.get(key) ?? 0) + w.count);
        }
      }
      let best = -1;
      let bestCount = 0;
      for (const [key, count] of pairs) {
        if (count > bestCount || (count === bestCount && key < best)) {
          best = key;
          bestCount = count;
        }
      }
      if (best < 0 || bestCount < minFrequency) break;
      const a = Math.floor(best / 0x100000);
      const b = best % 0x100000;
      const merged = BPE_FIRST_MERGE + merges.length;
      merges.push([a, b]);
      words = words.map((w) => ({ ids: mergePair(w.ids, a, b, merged), count: w.count }));
    }
    return Tokenizer.fromMerges(merges);
  }

  static fromJSON(json: unknown): Tokenizer {
    const j = json as {
      type?: unknown;
      version?: unknown;
      words?: unknown;
      byteFallback?: unknown;
      merges?: unknown;
    } | null;
    if (j !== null && typeof j === 'object' && j.type === 'vzero-bpe') {
      if (j.version !== 1 || !Array.isArray(j.merges)) {
        throw new InvalidInputError(
          'tokenizer',
          json,
          'expected {type: "vzero-bpe", version: 1, merges: [[a, b], ...]}',
        );
      }
      return Tokenizer.fromMerges(j.merges as [number, number][]);
    }
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
        'expected {type: "vzero-word", version: 1, words: [...]}, {type: "vzero-word", version: 2, words: [...], byteFallback: true} or {type: "vzero-bpe", version: 1, merges: [...]}',
      );
    }
    return Tokenizer.fromWords(j.words as string[], { byteFallback: j.version === 2 });
  }

  toJSON(): TokenizerJSON {
    if (this.kind === 'bpe') return { type: 'vzero-bpe', version: 1, merges: this.merges };
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
    if (this.kind === 'bpe') return (text.match(CHUNK) ?? []).flatMap((chunk) => this.encodeChunk(chunk));
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

  /** Byte-level BPE: a chunk's bytes, merged by rank (lowest-ranked pair first), cached. */
  private encodeChunk(chunk: string): readonly number[] {
    const cached = this.chunkCache.get(chunk);
    if (cached !== undefined) return cached;
    let ids = [...Buffer.from(chunk, 'utf8')].map((b) => BPE_BYTE_BASE + b);
    for (;;) {
      let best = -1;
      let rank = Infinity;
      for (let i = 0; i + 1 < ids.length; i++) {
        const r = this.ranks.get(pairKey(ids[i] as number, ids[i + 1] as number));
        if (r !== undefined && r < rank) {
          rank = r;
          best = i;
        }
      }
      if (best < 0) break;
      ids = mergePair(ids, ids[best] as number, ids[best + 1] as number, BPE_FIRST_MERGE + rank);
    }
    if (this.chunkCache.size >= 65536) this.chunkCache.clear();
    this.chunkCache.set(chunk, ids);
    return ids;
  }

  /**
   * Words of ids joined by single spaces; special tokens are left out unless `keepSpecial`. A run
   * of byte tokens is one piece of UTF-8 (invalid sequences become U+FFFD). Byte-level BPE: the
   * tokens' bytes as UTF-8, nothing added between them.
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
      if (this.kind === 'bpe' && id >= BPE_BYTE_BASE) {
        bytes.push(...(this.tokenBytes[id - BPE_BYTE_BASE] as readonly number[]));
        return;
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
    return out.join(this.kind === 'bpe' ? '' : ' ');
  }

  isSpecial(id: number): boolean {
    return id >= 0 && id < SPECIAL_TOKENS.length;
  }
}
