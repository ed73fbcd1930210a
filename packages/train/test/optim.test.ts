import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '@vzero/core';
import { AdamW } from '../src/optim.js';

beforeAll(async () => {
  await selectBackend({ prefer: 'cpu' });
});

const config = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, gradClip: 0 };

describe('AdamW', () => {
  it('matches a hand computation over two steps', () => {
    const x = tf.variable(tf.scalar(1), true, 'x');
    const opt = new AdamW([x], config);
    // step 1, g = 2: m = 0.2, v = 0.004; m^ = 2, v^ = 4; update = 2 / (2 + 1e-8) ~ 1
    // x = 1 * (1 - 0.1 * 0.01) - 0.1 * 1 = 0.899
    opt.apply({ x: tf.scalar(2) });
    expect(x.dataSync()[0]).toBeCloseTo(0.899, 6);
    // step 2, g = -1: m = 0.9*0.2 - 0.1 = 0.08, v = 0.999*0.004 + 0.001 = 0.004996
    // m^ = 0.08 / 0.19, v^ = 0.004996 / 0.001999; x = 0.899 * 0.999 - 0.1 * m^ / sqrt(v^)
    opt.apply({ x: tf.scalar(-1) });
    const mh = 0.08 / 0.19;
    const vh = 0.004996 / (1 - 0.999 ** 2);
    expect(x.dataSync()[0]).toBeCloseTo(0.899 * 0.999 - (0.1 * mh) / (Math.sqrt(vh) + 1e-8), 5);
    opt.dispose();
    x.dispose();
  });

  it('clips the global gradient norm and reports the norm before clipping', () => {
    const a = tf.variable(tf.tensor1d([0, 0]), true, 'a');
    const opt = new AdamW([a], { ...config, weightDecay: 0, gradClip: 1 });
    const norm = opt.apply({ a: tf.tensor1d([3, 4]) });
    expect(norm).toBeCloseTo(5, 6);
    // Adam's first step moves each coordinate by lr * sign(g), whatever the scale.
    expect(Array.from(a.dataSync()).map((v) => Number(v.toFixed(5)))).toEqual([-0.1, -0.1]);
    opt.dispose();
    a.dispose();
  });

  it('restores its state exactly and leaks no tensors across steps', () => {
    const w = tf.variable(tf.tensor1d([1, -1, 0.5]), true, 'w');
    const opt = new AdamW([w], config);
    opt.apply({ w: tf.tensor1d([0.1, 0.2, -0.3]) });
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) tf.tidy(() => opt.apply({ w: tf.tensor1d([0.1, -0.2, 0.3]) }));
    expect(tf.memory().numTensors).toBe(before);
    const state = JSON.parse(JSON.stringify(opt.getState()));
    const w2 = tf.variable(tf.tensor1d(Array.from(w.dataSync())), true, 'w2');
    const opt2 = new AdamW([w2], config);
    opt2.setState(state);
    tf.tidy(() => opt.apply({ w: tf.tensor1d([1, 1, 1]) }));
    tf.tidy(() => opt2.apply({ w2: tf.tensor1d([1, 1, 1]) }));
    expect(Array.from(w2.dataSync())).toEqual(Array.from(w.dataSync()));
    expect(() => opt.apply({ w: tf.tensor1d([Number.NaN, 0, 0]) })).toThrow(/gradient norm is not finite/);
    opt.dispose();
    opt2.dispose();
    w.dispose();
    w2.dispose();
  });
});
