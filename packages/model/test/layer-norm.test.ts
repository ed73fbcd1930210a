// The model's layerNorm op (one op with its own gradient, fused kernels when registered)
// against the unfused formula the model used before: forward bitwise equal, gradients equal to
// tfjs's autodiff of the formula within float tolerance, on cpu and wasm. The native path is
// checked end to end with the real model in tools/bench (test/native-model.test.ts). Also the
// KV-cache row selection that skips identity gathers.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidInputError, Rng, ShapeMismatchError, selectBackend } from '@vzero/core';
import { layerNorm } from '@vzero/tfjs-native';
import { MODEL_PRESETS, createModel } from '../src/index.js';
import { image, solidImage, tokenizer } from './helpers.js';

function unfused(x: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const mean = tf.mean(x, -1, true);
  const xc = tf.sub(x, mean);
  const variance = tf.mean(tf.square(xc), -1, true);
  return tf.add(tf.mul(tf.mul(xc, tf.rsqrt(tf.add(variance, 1e-5))), g), b);
}

function random(rng: Rng, shape: number[], scale = 1, offset = 0): tf.Tensor {
  const n = shape.reduce((p, d) => p * d, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => (rng.float() * 2 - 1) * scale + offset),
    shape,
  );
}

/** [y, dx, dgamma, dbeta] of sum(norm(x, g, b) * w). */
function valueAndGrads(
  norm: (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.Tensor,
  inputs: tf.Tensor[],
): Float32Array[] {
  const [x, g, b, w] = inputs as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
  const out = tf.tidy(() => [
    norm(x, g, b),
    ...tf.grads((xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor) => tf.sum(tf.mul(norm(xi, gi, bi), w)))([
      x,
      g,
      b,
    ]),
  ]);
  const values = out.map((t) => Float32Array.from(t.dataSync() as Float32Array));
  tf.dispose(out);
  return values;
}

function expectClose(a: Float32Array, e: Float32Array, tol: number): void {
  expect(a.length).toBe(e.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++)
    worst = Math.max(worst, Math.abs(a[i]! - e[i]!) - tol * (1 + Math.abs(e[i]!)));
  expect(worst).toBeLessThanOrEqual(0);
}

afterAll(async () => {
  await selectBackend({ prefer: 'cpu' });
});

describe.each(['cpu', 'wasm'] as const)('layerNorm on %s', (backend) => {
  it('forward is bitwise the unfused formula and gradients match its autodiff (random shapes)', async () => {
    await selectBackend({ prefer: backend });
    const rng = new Rng(5);
    for (let trial = 0; trial < 20; trial++) {
      const rank = rng.int(1, 4);
      const shape = Array.from({ length: rank }, (_, i) =>
        i === rank - 1 ? rng.int(1, 100) : rng.int(1, 7),
      );
      const d = shape[rank - 1]!;
      const inputs = [
        random(rng, shape, 3, rng.float() * 4 - 2),
        random(rng, [d]),
        random(rng, [d]),
        random(rng, shape),
      ];
      const fused = valueAndGrads(layerNorm, inputs);
      const plain = valueAndGrads(unfused, inputs);
      expect(fused[0]).toEqual(plain[0]);
      for (let i = 1; i < 4; i++) expectClose(fused[i]!, plain[i]!, 1e-5);
      tf.dispose(inputs);
    }
  });

  it('golden row and no tensor left behind over repeated calls', async () => {
    await selectBackend({ prefer: backend });
    // x [1, 3]: mean 2, variance 1 -> y = (x - 2) / sqrt(1 + 1e-5) * [2, 1] + [0, 1]
    const inputs = [tf.tensor2d([[1, 3]]), tf.tensor1d([2, 1]), tf.tensor1d([0, 1]), tf.tensor2d([[1, 0]])];
    const s = 1 / Math.sqrt(1 + 1e-5);
    const [y, , dg, db] = valueAndGrads(layerNorm, inputs);
    expectClose(y!, Float32Array.from([-2 * s, 1 + s]), 1e-6);
    expectClose(dg!, Float32Array.from([-s, 0]), 1e-6); // dgamma = w * xhat
    expectClose(db!, Float32Array.from([1, 0]), 0); // dbeta = w
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) valueAndGrads(layerNorm, inputs);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(inputs);
  });
});

describe('layerNorm input checks', () => {
  it('names gamma/beta of the wrong shape, a bad epsilon and a scalar x', async () => {
    await selectBackend({ prefer: 'cpu' });
    tf.tidy(() => {
      const x = tf.zeros([2, 3]);
      const ok = tf.ones([3]);
      expect(() => layerNorm(x, tf.ones([4]), ok)).toThrow(ShapeMismatchError);
      expect(() => layerNorm(x, ok, tf.ones([1, 3]))).toThrow(/beta/);
      expect(() => layerNorm(x, ok, ok, -1)).toThrow(InvalidInputError);
      expect(() => layerNorm(tf.scalar(1), ok, ok)).toThrow(InvalidInputError);
    });
  });
});

describe('KV-cache rows', () => {
  it('distinct prompts (identity rows, no gather) encode the same prefix as unshared ones', async () => {
    await selectBackend({ prefer: 'cpu' });
    const model = createModel({ ...MODEL_PRESETS.tiny, vocabSize: tokenizer.size });
    const colours: [number, number, number][] = [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ];
    const rows = colours.map((c, i) => [
      image(`f${i}`, 'full', solidImage(16, c)),
      image(`c${i}`, 'crop', solidImage(16, [c[2], c[0], c[1]])),
    ]);
    const shared = model.encodePrefix(rows, true); // identity: the cache itself
    const unshared = model.encodePrefix(rows, false);
    // A repeated chain gathers: rows [0, 1, 0] of the same cache.
    const repeated = model.encodePrefix([rows[0]!, rows[1]!, rows[0]!], true);
    const before = tf.memory().numTensors;
    model.encodePrefix(rows, true).forEach((c) => tf.dispose([c.k, c.v]));
    expect(tf.memory().numTensors).toBe(before);
    for (let l = 0; l < shared.length; l++) {
      for (const key of ['k', 'v'] as const) {
        expect(shared[l]![key].dataSync()).toEqual(unshared[l]![key].dataSync());
        const r = repeated[l]![key];
        const row = (t: tf.Tensor, i: number) => tf.tidy(() => tf.slice(t, i, 1).dataSync());
        expect(row(r, 2)).toEqual(row(r, 0));
        expect(row(r, 1)).toEqual(row(shared[l]![key], 1));
      }
    }
    for (const c of [...shared, ...unshared, ...repeated]) tf.dispose([c.k, c.v]);
    model.dispose();
  });
});
