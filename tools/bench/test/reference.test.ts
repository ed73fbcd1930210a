// The reference transformer on a tiny spec: it learns (loss falls over Adam steps on a
// predictable stream), decodes the asked number of tokens, and frees every tensor it makes.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '@vzero/core';
import { makeReferenceModel, referenceToken, REFERENCE_SPEC } from '@vzero/tfjs-native/reference';

const spec = { width: 16, layers: 1, heads: 2, seq: 8, batch: 2, vocab: 8 };

beforeAll(async () => {
  await selectBackend({ prefer: 'wasm' });
});

describe('reference transformer', () => {
  it('uses the documented token stream', () => {
    // Row 1, column 2 of the reference spec: i = 96 + 2, (98 * 7 + 3) % 64 = 689 % 64 = 49.
    expect(referenceToken(1, 2, REFERENCE_SPEC)).toBe(49);
  });

  it('trains, decodes and leaks no tensor', () => {
    const before = tf.memory().numTensors;
    const model = makeReferenceModel(spec);
    const losses = Array.from({ length: 30 }, () => model.step());
    expect(losses[29]!).toBeLessThan(losses[0]!);
    const out = model.decode(3);
    expect(out).toHaveLength(spec.batch * 3);
    for (const id of out) expect(id >= 0 && id < spec.vocab).toBe(true);
    const mid = tf.memory().numTensors;
    model.step();
    model.decode(3);
    expect(tf.memory().numTensors).toBe(mid);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(() => makeReferenceModel(spec).decode(8)).toThrow(/tokens/);
  });
});
