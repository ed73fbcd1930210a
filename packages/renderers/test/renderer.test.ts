import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '@vzero/core';
import {
  alignToTargets,
  checkTrainingInput,
  flattenTokens,
  imageChunk,
  modelInputLength,
  textChunk,
  trainingInput,
} from '../src/index.js';
import type { RenderedPrompt } from '../src/index.js';

const image = imageChunk(new Uint8Array([1, 2, 3]), 'png', 3);
// Prompt positions: 1 2 [img img img] 4  (6 positions).
const rendered: RenderedPrompt = {
  modelInput: { chunks: [textChunk([1, 2]), image, textChunk([4])] },
  promptTokenCount: 6,
  imageTokenCounts: [3],
};

describe('trainingInput (tinker-cookbook datum construction)', () => {
  it('shifts by one: input drops the last token, targets drop the first, weights 1 on the response', () => {
    const t = trainingInput(rendered, [7, 8, 9], 50);
    // Full sequence: 1 2 I I I 4 7 8 9 (9 positions).
    expect(t.modelInput).toEqual({ chunks: [textChunk([1, 2]), image, textChunk([4, 7, 8])] });
    expect(t.targetTokens).toEqual([2, 0, 0, 0, 4, 7, 8, 9]);
    expect(t.weights).toEqual([0, 0, 0, 0, 0, 1, 1, 1]);
    expect(t.responseStart).toBe(5);
    expect(t.targetTokens[t.responseStart]).toBe(7);
    expect([t.promptTokenCount, t.responseTokenCount, t.imageTokenCounts]).toEqual([6, 3, [3]]);
    checkTrainingInput(t);
    // The renderer's own input is not changed.
    expect(rendered.modelInput.chunks[2]).toEqual(textChunk([4]));
  });

  it('keeps an image that ends the prompt whole when the response is one token', () => {
    const endsInImage: RenderedPrompt = {
      modelInput: { chunks: [textChunk([1]), image] },
      promptTokenCount: 4,
      imageTokenCounts: [3],
    };
    const t = trainingInput(endsInImage, [5], 50);
    expect(t.modelInput).toEqual({ chunks: [textChunk([1]), image] });
    expect(t.targetTokens).toEqual([0, 0, 0, 5]);
    expect(t.weights).toEqual([0, 0, 0, 1]);
  });

  it('keeps input, targets and weights the same length for any prompt and response (property)', () => {
    const chunk = fc.oneof(
      fc.array(fc.integer({ min: 0, max: 49 }), { minLength: 1, maxLength: 5 }).map((t) => textChunk(t)),
      fc.integer({ min: 1, max: 6 }).map((n) => imageChunk(new Uint8Array([n]), 'png', n)),
    );
    fc.assert(
      fc.property(
        fc.array(chunk, { minLength: 1, maxLength: 6 }),
        fc.array(fc.integer({ min: 0, max: 49 }), { minLength: 1, maxLength: 8 }),
        (chunks, response) => {
          const modelInput = { chunks };
          const p = modelInputLength(modelInput);
          const t = trainingInput({ modelInput, promptTokenCount: p, imageTokenCounts: [] }, response, 50);
          checkTrainingInput(t);
          expect(modelInputLength(t.modelInput)).toBe(p + response.length - 1);
          expect(t.weights.reduce((a, b) => a + b, 0)).toBe(response.length);
          expect(t.targetTokens.slice(t.responseStart)).toEqual(response);
          // Input then the last target is the whole sequence.
          expect([...flattenTokens(t.modelInput), response[response.length - 1]]).toEqual([
            ...flattenTokens(modelInput),
            ...response,
          ]);
          expect(t.modelInput.chunks.every((c) => c.type === 'image' || c.tokens.length > 0)).toBe(true);
        },
      ),
    );
  });

  it('refuses an empty response and ids outside the vocabulary, naming them', () => {
    expect(() => trainingInput(rendered, [], 50)).toThrow(InvalidInputError);
    expect(() => trainingInput(rendered, [], 50)).toThrow(
      /responseTokens = \[\]: a training example needs at least one response token/,
    );
    expect(() => trainingInput(rendered, [7, 50], 50)).toThrow(
      /responseTokens\[1\] = 50: expected a token id in \[0, 50\)/,
    );
    expect(() => trainingInput(rendered, [7, -1], 50)).toThrow(/responseTokens\[1\] = -1/);
    expect(() => trainingInput(rendered, [1.5], 50)).toThrow(/responseTokens\[0\] = 1\.5/);
  });
});

describe('alignToTargets', () => {
  it('puts per-response-token values at the response targets and fills the prompt', () => {
    const t = trainingInput(rendered, [7, 8, 9], 50);
    expect(alignToTargets(t, [-0.5, -1, -2])).toEqual([0, 0, 0, 0, 0, -0.5, -1, -2]);
    expect(alignToTargets(t, new Float32Array([1, 2, 3]), NaN).slice(4)).toEqual([NaN, 1, 2, 3]);
    expect(() => alignToTargets(t, [1, 2], 0, 'advantages')).toThrow(
      /advantages = "2 values": expected one per response token \(3\)/,
    );
  });
});
