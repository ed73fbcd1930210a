// The tokenizers a new model can be pretrained with (docs/results/tokenizer.md measures them):
// - 'bpe' (the default): byte-level BPE, all 256 bytes as base tokens and merges learned from
//   the world's corpus (worldCorpus(): 2000 scenes of seed 0, the same everywhere), so any UTF-8
//   text encodes exactly and world text takes as few tokens as with the word vocabulary;
// - 'words': the world's word vocabulary with the byte fallback for any other word;
// - 'bytes': plain UTF-8 bytes (no merges; world text takes about 4 times as many tokens);
// - 'closed': the world's word vocabulary alone (every checkpoint before issue 13): any other
//   word is an error.
import { InvalidInputError } from '@vzero/core';
import { Tokenizer } from '@vzero/model';
import { WORLD_VOCABULARY, worldCorpus } from '@vzero/world';

export const TOKENIZER_CHOICES = ['bpe', 'words', 'bytes', 'closed'] as const;
export type TokenizerChoice = (typeof TOKENIZER_CHOICES)[number];
export const DEFAULT_TOKENIZER: TokenizerChoice = 'bpe';

/**
 * Text positions of a new model with an open-vocabulary tokenizer (unless overridden): a V*
 * Bench question with its four sentence options takes ~120 BPE tokens (~210 bytes), against 64
 * positions in the presets, sized for world text (at most ~35 tokens in words or BPE).
 */
export const OPEN_VOCABULARY_TEXT_LENGTH = 256;

/** Whether any UTF-8 text encodes with `tokenizer` (byte-level BPE or the byte fallback). */
export function isOpenVocabulary(tokenizer: Tokenizer): boolean {
  return tokenizer.kind === 'bpe' || tokenizer.byteFallback;
}

/** The model-config overrides a new model with `tokenizer` gets before any of the caller's. */
export function tokenizerDefaults(tokenizer: Tokenizer): { readonly maxTextLength?: number } {
  return isOpenVocabulary(tokenizer) ? { maxTextLength: OPEN_VOCABULARY_TEXT_LENGTH } : {};
}

let learned: Tokenizer | undefined;

/** The tokenizer `choice` names (the BPE merges are learned once per process, in ~0.2 s). */
export function worldTokenizer(choice: TokenizerChoice = DEFAULT_TOKENIZER): Tokenizer {
  switch (choice) {
    case 'bpe':
      learned ??= Tokenizer.learnBpe(worldCorpus());
      return learned;
    case 'words':
      return Tokenizer.fromWords(WORLD_VOCABULARY, { byteFallback: true });
    case 'bytes':
      return Tokenizer.bytes();
    case 'closed':
      return Tokenizer.fromWords(WORLD_VOCABULARY);
    default:
      throw new InvalidInputError('tokenizer', choice, `expected one of ${TOKENIZER_CHOICES.join(', ')}`);
  }
}
