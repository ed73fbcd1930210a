// A Hugging Face `tokenizer.json` (and its optional `tokenizer_config.json`) read from a local
// folder and run by @huggingface/tokenizers (Tokenizers.js: pure JavaScript, no dependencies,
// Apache-2.0). Nothing is downloaded: the folder is the user's (a model snapshot, or a package
// that ships one).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { InvalidInputError, toFileSystemError } from '@vzero/core';
import { checkTokenIds } from './renderer.js';

export class HfTokenizer {
  /** `hf-` and the first 16 hex digits of the SHA-256 of the tokenizer.json text. */
  readonly id: string;
  /** Ids in [0, vocabSize) exist: the model's vocabulary and the added tokens. */
  readonly vocabSize: number;
  /** Added tokens marked special (control tokens such as <|im_end|>), by content. */
  readonly specialTokens: ReadonlyMap<string, number>;
  private readonly tokenizer: Tokenizer;

  private constructor(json: string, config: object) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch (error) {
      throw new InvalidInputError(
        'tokenizer.json',
        `${json.length} characters`,
        `not JSON: ${(error as Error).message}`,
      );
    }
    if (typeof parsed !== 'object' || parsed === null || !('model' in parsed)) {
      throw new InvalidInputError(
        'tokenizer.json',
        typeof parsed,
        'expected a tokenizer object with a "model"',
      );
    }
    this.tokenizer = new Tokenizer(parsed, config);
    this.id = `hf-${createHash('sha256').update(json).digest('hex').slice(0, 16)}`;
    const vocab = this.tokenizer.get_vocab(true);
    let size = 0;
    for (const id of vocab.values()) size = Math.max(size, id + 1);
    this.vocabSize = size;
    const special = new Map<string, number>();
    for (const [id, token] of this.tokenizer.get_added_tokens_decoder()) {
      if (token.special) special.set(token.content, id);
    }
    this.specialTokens = special;
  }

  /** Reads `tokenizer.json` (required) and `tokenizer_config.json` (if present) from `dir`. */
  static async fromDirectory(dir: string): Promise<HfTokenizer> {
    const jsonPath = join(dir, 'tokenizer.json');
    let json: string;
    try {
      json = await readFile(jsonPath, 'utf8');
    } catch (error) {
      throw toFileSystemError(error, jsonPath, 'read the tokenizer');
    }
    const configPath = join(dir, 'tokenizer_config.json');
    let config: object = {};
    try {
      config = JSON.parse(await readFile(configPath, 'utf8')) as object;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw error instanceof SyntaxError
          ? new InvalidInputError(configPath, 'its text', `not JSON: ${error.message}`)
          : toFileSystemError(error, configPath, 'read the tokenizer config');
      }
    }
    return new HfTokenizer(json, config);
  }

  /** From the texts (or values) of tokenizer.json and tokenizer_config.json. */
  static fromJSON(tokenizerJson: string | object, tokenizerConfig: object = {}): HfTokenizer {
    const text = typeof tokenizerJson === 'string' ? tokenizerJson : JSON.stringify(tokenizerJson);
    return new HfTokenizer(text, tokenizerConfig);
  }

  /**
   * Token ids of `text`, no special tokens added around it. Added tokens written in the text
   * (`<|im_start|>`) become their ids, as in the reference tokenizer.
   */
  encode(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  /** The id of one token written out (`<|im_end|>`); InvalidInputError when it is not one token. */
  tokenId(token: string): number {
    const id = this.tokenizer.token_to_id(token);
    if (id === undefined) throw new InvalidInputError('token', token, 'not a token of this tokenizer');
    return id;
  }

  /** The special token written earliest in `text`, if any. */
  findSpecialToken(text: string): string | undefined {
    let found: string | undefined;
    let at = Infinity;
    for (const token of this.specialTokens.keys()) {
      const i = text.indexOf(token);
      if (i >= 0 && i < at) {
        found = token;
        at = i;
      }
    }
    return found;
  }

  /** Text of ids (checked against the vocabulary); special tokens are kept unless skipped. */
  decode(ids: readonly number[], options: { readonly skipSpecialTokens?: boolean } = {}): string {
    checkTokenIds(ids, this.vocabSize, 'tokenIds');
    return this.tokenizer.decode([...ids], { skip_special_tokens: options.skipSpecialTokens ?? false });
  }
}
