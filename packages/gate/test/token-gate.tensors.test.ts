import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ShapeMismatchError, selectBackend, type BackendName } from '@vzero/core';
import { computeTokenGate, gateConfig, type TokenGateResult } from '../src/index.js';
import { computeTokenGateTensors, tokenWeightsTensor } from '../src/tensors.js';

// Rows: (a) delta (1, 3); (a) delta (-1, padding); (b) all padding.
const positive = [
  [-1, 0],
  [-2, Number.NaN],
  [5, 5],
];
const negative = [
  [-2, -3],
  [-1, 0],
  [0, 0],
];
const mask = [
  [1, 1],
  [1, 0],
  [0, 0],
];
const groups = ['a', 'a', 'b'];

describe.each<BackendName>(['cpu', 'wasm'])('computeTokenGateTensors on %s', (backend) => {
  beforeAll(async () => {
    await selectBackend({ prefer: backend });
  });

  it('matches the array path and hand values', () => {
    const [p, n, m] = [tf.tensor2d(positive), tf.tensor2d(negative), tf.tensor2d(mask, undefined, 'int32')];
    const config = gateConfig('paper');
    const r = computeTokenGateTensors(p, n, m, groups, config);
    // group a scores (1, 3, -1): mu 1, deviations (0, 2, -2), var 8/3, sd = 1.632993
    // w = clip(1 + a): 1, 1 + 2/sd = 2.22 -> 2, 1 - 2/sd = -0.22 -> 0; padding and group b: 0
    expect(Array.from(r.weights[0]!)).toEqual([1, 2]);
    expect(Array.from(r.weights[1]!)).toEqual([0, 0]);
    expect(Array.from(r.weights[2]!)).toEqual([0, 0]);
    expect(r.advantages[0]![1]).toBeCloseTo(2 / (Math.sqrt(8 / 3) + 1e-6), 12);
    const viaArrays = computeTokenGate(
      groups.map((g, i) => ({ group: g, positive: positive[i]!, negative: negative[i]!, mask: mask[i]! })),
      config,
    );
    expect(r).toEqual(viaArrays);
    tf.dispose([p, n, m]);
  });

  it('tokenWeightsTensor is a float32 [B, T] the caller owns; nothing else is allocated', () => {
    const [p, n, m] = [tf.tensor2d(positive), tf.tensor2d(negative), tf.tensor2d(mask)];
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) {
      const r = computeTokenGateTensors(p, n, m, groups);
      const w = tokenWeightsTensor(r);
      expect(w.shape).toEqual([3, 2]);
      expect(w.dtype).toBe('float32');
      expect(w.arraySync()).toEqual(r.weights.map((row) => Array.from(Float32Array.from(row))));
      w.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([p, n, m]);
  });

  it('rejects bad shapes naming the field', () => {
    const p = tf.tensor2d(positive);
    const bad = tf.zeros([3, 3]);
    expect(() => computeTokenGateTensors(p, bad as tf.Tensor2D, p, groups)).toThrow(ShapeMismatchError);
    expect(() => computeTokenGateTensors(p, p, bad as tf.Tensor2D, groups)).toThrow(
      /^mask: expected \[3, 2\]/,
    );
    expect(() => computeTokenGateTensors(p, p, p, ['a'])).toThrow(/^groups: expected 3 group ids/);
    tf.dispose([p, bad]);
    // rows of different lengths (from the array path) are not a [B, T] batch
    const ragged = computeTokenGate([
      { group: 'g', positive: [-1, -1], negative: [-2, -2] },
      { group: 'g', positive: [-1], negative: [-1] },
    ]);
    expect(() => tokenWeightsTensor(ragged)).toThrow(ShapeMismatchError);
    expect(() => tokenWeightsTensor(ragged)).toThrow(/^weights\[1\]: expected length 2 \(as weights\[0\]\)/);
    expect(() => tokenWeightsTensor({ weights: [] } as unknown as TokenGateResult).dispose()).not.toThrow();
  });
});
