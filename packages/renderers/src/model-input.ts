// The Tinker training service's model input, by its wire names. These types are structurally
// identical to the Tinker SDK's (tinker/types: ModelInput, EncodedTextChunk, ImageChunk) and to
// @vzero/tinker's, which this package does not import: a value built here is accepted there.
// Arrays are plain (not readonly) so that a ModelInput from here is assignable to either.
import { InvalidInputError } from '@vzero/core';

/** Token ids of text, as they enter the model (`EncodedTextChunk`). */
export interface EncodedTextChunk {
  readonly type: 'encoded_text';
  tokens: number[];
}

/**
 * An encoded image (`ImageChunk`): `data` is the file's bytes in base64, `expected_tokens` the
 * number of positions the model gives it. The service recomputes that number from the image and
 * refuses the request when the two differ, so a wrong count fails fast instead of misaligning
 * every per-token array after the image.
 */
export interface ImageChunk {
  readonly type: 'image';
  data: string;
  format: 'png' | 'jpeg';
  expected_tokens?: number;
}

export type ModelInputChunk = EncodedTextChunk | ImageChunk;

/** A model input: text and image chunks in order (`ModelInput`). */
export interface ModelInput {
  chunks: ModelInputChunk[];
}

/** Positions a chunk occupies: its tokens, or an image's `expected_tokens` (required here). */
export function chunkLength(chunk: ModelInputChunk, field = 'chunk'): number {
  if (chunk.type === 'encoded_text') return chunk.tokens.length;
  const n = chunk.expected_tokens;
  if (n === undefined || !Number.isInteger(n) || n < 1) {
    throw new InvalidInputError(
      `${field}.expected_tokens`,
      n,
      'an image chunk needs expected_tokens (a positive integer) to have a length',
    );
  }
  return n;
}

/** Positions of a whole model input (the SDK's `ModelInput.length`). */
export function modelInputLength(input: ModelInput): number {
  return input.chunks.reduce((n, c, i) => n + chunkLength(c, `chunks[${i}]`), 0);
}

/** A text chunk (a copy of `tokens`). */
export function textChunk(tokens: readonly number[]): EncodedTextChunk {
  return { type: 'encoded_text', tokens: [...tokens] };
}

/** An image chunk from the encoded file's bytes. */
export function imageChunk(bytes: Uint8Array, format: 'png' | 'jpeg', expectedTokens: number): ImageChunk {
  return {
    type: 'image',
    data: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'),
    format,
    expected_tokens: expectedTokens,
  };
}

/** The bytes of an image chunk. */
export function imageChunkBytes(chunk: ImageChunk): Uint8Array {
  return new Uint8Array(Buffer.from(chunk.data, 'base64'));
}

/**
 * Appends chunks, merging consecutive text into one chunk and dropping empty text (the service
 * answers an empty text chunk with an error).
 */
export class ModelInputBuilder {
  private readonly chunks: ModelInputChunk[] = [];

  text(tokens: readonly number[]): this {
    if (tokens.length === 0) return this;
    const last = this.chunks[this.chunks.length - 1];
    if (last?.type === 'encoded_text') last.tokens.push(...tokens);
    else this.chunks.push(textChunk(tokens));
    return this;
  }

  image(chunk: ImageChunk): this {
    this.chunks.push(chunk);
    return this;
  }

  build(): ModelInput {
    return { chunks: this.chunks.map((c) => (c.type === 'encoded_text' ? textChunk(c.tokens) : { ...c })) };
  }
}

/**
 * Every position's token id, image positions as `imageFill` (the cookbook's targets use 0
 * there). With `imageFill` a function, an image chunk's positions are whatever it returns.
 */
export function flattenTokens(
  input: ModelInput,
  imageFill: number | ((chunk: ImageChunk, index: number) => readonly number[]) = 0,
): number[] {
  const out: number[] = [];
  input.chunks.forEach((c, i) => {
    if (c.type === 'encoded_text') {
      out.push(...c.tokens);
    } else if (typeof imageFill === 'number') {
      const n = chunkLength(c, `chunks[${i}]`);
      for (let k = 0; k < n; k++) out.push(imageFill);
    } else {
      out.push(...imageFill(c, i));
    }
  });
  return out;
}
