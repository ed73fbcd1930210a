import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { InvalidInputError, ShapeMismatchError, selectBackend, type BackendName } from '@vzero/core';
import { computeGate, gateConfig } from '../src/index.js';
import { computeGateTensors, weightsTensor } from '../src/tensors.js';

// Rows: (a) delta (1, 1) p = 1; (a) delta (-1, pad) p = -1; (b) all padded p = 0.
const positive = [
  [-1, -1],
  [-2, Number.NaN],
  [5, 5],
];
const negative = [
  [-2, -2],
  [-1, 0],
  [0, 0],
];
const mask = [
  [1, 1],
  [1, 0],
  [0, 0],
];
const groups = ['a', 'a', 'b'];

describe.each<BackendName>(['cpu', 'wasm'])('computeGateTensors on %s', (backend) => {
  beforeAll(async () => {
    await selectBackend({ prefer: backend });
  });

  it('matches the array path and hand values', () => {
    const [p, n, m] = [tf.tensor2d(positive), tf.tensor2d(negative), tf.tensor2d(mask, undefined, 'int32')];
    const config = gateConfig('paper');
    const r = computeGateTensors(p, n, m, groups, config);
    // group a: p = (1, -1), mu 0, sd 1, a = +-1/(1+1e-6); w = clip(1 +- a) = (2 - 1e-6, 1e-6)
    const a = 1 / (1 + 1e-6);
    expect(Array.from(r.scores)).toEqual([1, -1, 0]);
    expect(r.advantages[0]).toBeCloseTo(a, 12);
    expect(r.weights[1]).toBeCloseTo(1 - a, 12);
    expect(r.weights[2]).toBe(1);
    const viaArrays = computeGate(
      groups.map((g, i) => ({ group: g, positive: positive[i]!, negative: negative[i]!, mask: mask[i]! })),
      config,
    );
    expect(r).toEqual(viaArrays);
    tf.dispose([p, n, m]);
  });

  it('allocates nothing across repeated calls; weightsTensor is owned by the caller', () => {
    const [p, n, m] = [tf.tensor2d(positive), tf.tensor2d(negative), tf.tensor2d(mask)];
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) {
      const r = computeGateTensors(p, n, m, groups);
      const w = weightsTensor(r);
      expect(w.shape).toEqual([3]);
      expect(w.dtype).toBe('float32');
      expect(Array.from(w.dataSync())).toEqual(Array.from(Float32Array.from(r.weights)));
      w.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([p, n, m]);
  });

  it('rejects bad shapes naming the field', () => {
    const p = tf.tensor2d(positive);
    const bad = tf.zeros([3, 3]);
    const r1 = tf.zeros([6]);
    expect(() => computeGateTensors(p, bad as tf.Tensor2D, p, groups)).toThrow(ShapeMismatchError);
    expect(() => computeGateTensors(p, bad as tf.Tensor2D, p, groups)).toThrow(
      /^negative: expected \[3, 2\] \(as positive\), got \[3, 3\]/,
    );
    expect(() => computeGateTensors(p, p, bad as tf.Tensor2D, groups)).toThrow(/^mask: expected \[3, 2\]/);
    expect(() => computeGateTensors(r1 as unknown as tf.Tensor2D, p, p, groups)).toThrow(
      /^positive: expected rank 2 \[B, T\], got shape \[6\]/,
    );
    expect(() => computeGateTensors(p, p, p, ['a'])).toThrow(
      /^groups: expected 3 group ids \(one per row\), got 1/,
    );
    expect(() => computeGateTensors([[1]] as unknown as tf.Tensor2D, p, p, groups)).toThrow(
      InvalidInputError,
    );
    // a mask value outside {0, 1} is caught by the array path with its row and column
    const m = tf.tensor2d([
      [1, 1],
      [1, 2],
      [0, 0],
    ]);
    expect(() => computeGateTensors(p, p, m, groups)).toThrow(
      /^sequences\[1\]\.mask\[1\] = 2: expected 0 or 1/,
    );
    tf.dispose([p, bad, r1, m]);
  });
});
