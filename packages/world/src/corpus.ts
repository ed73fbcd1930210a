// The world's text corpus: the prompt text and the reference response of the first n training
// scenes of a fixed seed (no images are rendered). Byte-level BPE tokenizers learn their merges
// from it, so that a tokenizer built from it is the same wherever it is built.
import { DEFAULT_WORLD_CONFIG, type WorldConfig } from './config.js';
import { sceneFor } from './generate.js';
import { formatPrompt, referenceResponse } from './questions.js';

export interface WorldCorpusOptions {
  /** Scenes to read (default 2000). */
  readonly n?: number;
  /** World seed (default 0). */
  readonly seed?: number;
  readonly config?: WorldConfig;
}

/** Two texts per scene, in scene order: its prompt text, then its reference response. */
export function worldCorpus(options: WorldCorpusOptions = {}): string[] {
  const { n = 2000, seed = 0, config = DEFAULT_WORLD_CONFIG } = options;
  const texts: string[] = [];
  for (let i = 0; i < n; i++) {
    const scene = sceneFor(seed, 'train', i, config);
    texts.push(formatPrompt(scene), referenceResponse(scene));
  }
  return texts;
}
