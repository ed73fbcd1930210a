import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '@vzero/core';
import {
  ModelInputBuilder,
  chunkLength,
  flattenTokens,
  imageChunk,
  imageChunkBytes,
  modelInputLength,
  textChunk,
} from '../src/index.js';
import type { ModelInput } from '../src/index.js';

describe('model input chunks', () => {
  it('uses the Tinker SDK wire names and base64 image data', () => {
    const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3, 250]);
    const chunk = imageChunk(bytes, 'png', 12);
    // Fields exactly as tinker/types/image_chunk.py and encoded_text_chunk.py name them.
    expect(chunk).toEqual({ type: 'image', data: 'iVBORwECA/o=', format: 'png', expected_tokens: 12 });
    expect(JSON.parse(JSON.stringify(textChunk([1, 2])))).toEqual({ type: 'encoded_text', tokens: [1, 2] });
    expect(imageChunkBytes(chunk)).toEqual(bytes);
    // A view into a larger buffer encodes only its own bytes.
    const big = new Uint8Array([9, 9, ...bytes, 9]);
    expect(imageChunk(big.subarray(2, 2 + bytes.length), 'png', 12).data).toBe(chunk.data);
  });

  it('counts lengths like the SDK: tokens, or expected_tokens (required)', () => {
    const input: ModelInput = {
      chunks: [textChunk([1, 2, 3]), imageChunk(new Uint8Array([1]), 'jpeg', 5), textChunk([4])],
    };
    expect(modelInputLength(input)).toBe(9);
    expect(() => chunkLength({ type: 'image', data: '', format: 'png' }, 'chunks[1]')).toThrow(
      InvalidInputError,
    );
    expect(() =>
      modelInputLength({ chunks: [textChunk([1]), { type: 'image', data: '', format: 'png' }] }),
    ).toThrow(/chunks\[1\]\.expected_tokens = undefined: an image chunk needs expected_tokens/);
  });

  it('builds inputs with consecutive text merged and empty text dropped, as copies', () => {
    const image = imageChunk(new Uint8Array([1, 2]), 'png', 3);
    const tokens = [5, 6];
    const b = new ModelInputBuilder()
      .text([])
      .text([1])
      .text(tokens)
      .image(image)
      .text([])
      .text([7])
      .text([8]);
    const input = b.build();
    expect(input.chunks).toEqual([textChunk([1, 5, 6]), image, textChunk([7, 8])]);
    tokens.push(99);
    (input.chunks[0] as { tokens: number[] }).tokens.push(100);
    expect(b.build().chunks[0]).toEqual(textChunk([1, 5, 6]));
    expect(new ModelInputBuilder().build()).toEqual({ chunks: [] });
  });

  it('flattens to token ids with images as a fill value or as a function of the chunk', () => {
    const input: ModelInput = {
      chunks: [textChunk([1]), imageChunk(new Uint8Array([1]), 'png', 2), textChunk([3])],
    };
    expect(flattenTokens(input)).toEqual([1, 0, 0, 3]);
    expect(flattenTokens(input, -1)).toEqual([1, -1, -1, 3]);
    expect(flattenTokens(input, (c) => new Array<number>(c.expected_tokens ?? 0).fill(42))).toEqual([
      1, 42, 42, 3,
    ]);
  });
});
