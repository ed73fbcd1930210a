// Building and reading the wire types: model inputs, tensors, lengths. Small helpers for callers
// and for the server, so that nobody counts positions or expands a sparse tensor twice.
import { InvalidInputError } from '@vzero/core';
import type {
  EncodedTextChunk,
  ImageChunk,
  ImageFormat,
  ModelInput,
  ModelInputChunk,
  TensorData,
  TensorDtype,
} from './types.js';

/** A text chunk of token ids. */
export function encodedText(tokens: readonly number[]): EncodedTextChunk {
  return { type: 'encoded_text', tokens: [...tokens] };
}

/**
 * An image chunk from the file's bytes (or base64 of them). `expectedTokens` is the number of
 * positions the image takes in the model's input (the renderer knows it: for Qwen3-VL the merged
 * patch count); the SDK makes it optional, but a length cannot be computed without it.
 */
export function imageChunk(
  image: Uint8Array | string,
  format: ImageFormat,
  expectedTokens?: number,
): ImageChunk {
  const data = typeof image === 'string' ? image : Buffer.from(image).toString('base64');
  return {
    type: 'image',
    data,
    format,
    ...(expectedTokens === undefined ? {} : { expected_tokens: expectedTokens }),
  };
}

/** A ModelInput of one text chunk (the SDK's ModelInput.from_ints). */
export function modelInputFromTokens(tokens: readonly number[]): ModelInput {
  return { chunks: [encodedText(tokens)] };
}

/** A new ModelInput with `tokens` appended as a text chunk (ModelInput.append_int, for many). */
export function appendTokens(input: ModelInput, tokens: readonly number[]): ModelInput {
  return { chunks: [...input.chunks, encodedText(tokens)] };
}

/** Positions one chunk takes: its tokens, or an image's expected_tokens (required then). */
export function chunkLength(chunk: ModelInputChunk, field = 'chunk'): number {
  switch (chunk.type) {
    case 'encoded_text':
      return chunk.tokens.length;
    case 'image':
    case 'image_asset_pointer':
      if (chunk.expected_tokens === undefined || chunk.expected_tokens === null)
        throw new InvalidInputError(
          `${field}.expected_tokens`,
          chunk.expected_tokens,
          'an image chunk needs expected_tokens for its length to be known',
        );
      return chunk.expected_tokens;
    case 'dmel':
      throw new InvalidInputError(
        `${field}.type`,
        chunk.type,
        'the length of a dmel chunk is not known here',
      );
  }
}

/** Total positions of a ModelInput (ModelInput.length). */
export function modelInputLength(input: ModelInput, field = 'model_input'): number {
  return input.chunks.reduce((n, c, i) => n + chunkLength(c, `${field}.chunks[${i}]`), 0);
}

/** The tokens of a ModelInput that has only text chunks (ModelInput.to_ints). */
export function modelInputTokens(input: ModelInput, field = 'model_input'): number[] {
  const out: number[] = [];
  input.chunks.forEach((c, i) => {
    if (c.type !== 'encoded_text')
      throw new InvalidInputError(
        `${field}.chunks[${i}].type`,
        c.type,
        'only encoded_text chunks have tokens',
      );
    out.push(...c.tokens);
  });
  return out;
}

/** A dense 1-D (or shaped) tensor. */
export function tensorData(
  values: readonly number[],
  dtype: TensorDtype,
  shape?: readonly number[],
): TensorData {
  return { data: [...values], dtype, shape: shape ? [...shape] : [values.length] };
}

/** The dense, row-major values of a tensor, expanding sparse CSR (tensor_data.py to_numpy). */
export function denseValues(td: TensorData, field = 'tensor'): number[] {
  const crow = td.sparse_crow_indices;
  const col = td.sparse_col_indices;
  if (crow === undefined || crow === null) {
    checkShape(td, field);
    return td.data;
  }
  const shape = td.shape;
  if (!shape || shape.length !== 2)
    throw new InvalidInputError(`${field}.shape`, shape, 'a sparse CSR tensor needs a 2-D shape');
  if (!col)
    throw new InvalidInputError(`${field}.sparse_col_indices`, col, 'required with sparse_crow_indices');
  const [rows, cols] = shape as [number, number];
  if (crow.length !== rows + 1)
    throw new InvalidInputError(
      `${field}.sparse_crow_indices`,
      crow.length,
      `expected ${rows + 1} row pointers`,
    );
  if (col.length !== td.data.length)
    throw new InvalidInputError(
      `${field}.sparse_col_indices`,
      col.length,
      `expected ${td.data.length} (one per value)`,
    );
  const out = new Array<number>(rows * cols).fill(0);
  for (let r = 0; r < rows; r++) {
    for (let k = crow[r]!; k < crow[r + 1]!; k++) {
      const c = col[k]!;
      if (c >= cols)
        throw new InvalidInputError(
          `${field}.sparse_col_indices[${k}]`,
          c,
          `column out of range [0, ${cols})`,
        );
      out[r * cols + c] = td.data[k]!;
    }
  }
  return out;
}

function checkShape(td: TensorData, field: string): void {
  if (!td.shape) return;
  const size = td.shape.reduce((a, b) => a * b, 1);
  if (size !== td.data.length)
    throw new InvalidInputError(
      `${field}.shape`,
      td.shape,
      `holds ${size} values but data has ${td.data.length}`,
    );
}

/** Rounds float32 tensors' values to float32 (what any float32 wire or engine keeps). */
export function canonicalTensor(td: TensorData): TensorData {
  if (td.dtype !== 'float32') return td;
  return { ...td, data: td.data.map((v) => Math.fround(v)) };
}
