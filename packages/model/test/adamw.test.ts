// The workspace's one AdamW: hand-computed steps for both weight-decay modes, skipped
// variables, clipping as a gradient scale, state round trips, bad input, and the fused native
// update against the plain one on a real tiny model's gradients (cpu: bitwise, since both
// compute the same float32 ops in the same order; wasm: within 1e-6 relative).
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError, UnknownKeyError, selectBackend } from '@vzero/core';
import {
  ADAMW_KERNEL,
  nativeKernelsAvailable,
  registerNativeKernels,
  unregisterNativeKernels,
} from '@vzero/tfjs-native';
import { AdamW, clipScale, globalNorm } from '../src/index.js';
import { somePrompts, tinyPolicy } from './helpers.js';

/** Weights after `steps` AdamW steps on the tiny policy's supervised gradients (computed once). */
function trainedWeights(native: boolean, backend: 'cpu' | 'wasm', steps: number): Float32Array[] {
  const policy = tinyPolicy();
  const vars = policy.model.trainableVariables;
  const batch = policy.batch(somePrompts(), [
    [5, 6, 2],
    [7, 2],
    [8, 9, 10, 2],
  ]);
  const { value, grads } = tf.variableGrads(() => policy.model.supervisedLoss(batch), vars);
  value.dispose();
  const ordered = vars.map((v) => grads[v.name]!);
  const scale = clipScale(globalNorm(ordered), 0.5);
  if (native) registerNativeKernels({ backends: [backend], threads: 2 });
  const opt = new AdamW(vars, { decay: 'all' });
  opt.step(ordered, 1e-2, scale);
  const before = tf.memory().numTensors;
  for (let i = 1; i < steps; i++) opt.step(ordered, 1e-2, i % 2 === 0 ? 1 : scale);
  expect(tf.memory().numTensors).toBe(before);
  unregisterNativeKernels();
  const out = vars.map((v) => Float32Array.from(v.dataSync() as Float32Array));
  tf.dispose(ordered);
  opt.dispose();
  policy.model.dispose();
  return out;
}

describe.each(['cpu', 'wasm'] as const)('AdamW on %s', (backend) => {
  beforeAll(async () => {
    await selectBackend({ prefer: backend });
  });
  afterEach(() => unregisterNativeKernels());

  it('takes hand-computed steps; decays matrices only by default, everything with decay all', () => {
    // x 1, g 2, lr 0.1, decay 0.01, step 1: m^ = 2, v^ = 4, x = 1 * (1 - 0.001) - 0.1 * 2 / 2.
    const w = tf.variable(tf.ones([1, 1]));
    const b = tf.variable(tf.ones([1]));
    const opt = new AdamW([w, b]);
    tf.tidy(() => opt.step([tf.fill([1, 1], 2), tf.fill([1], 2)], 0.1));
    expect(w.dataSync()[0]).toBeCloseTo(0.899, 6);
    expect(b.dataSync()[0]).toBeCloseTo(0.9, 6);
    const all = new AdamW([b], { decay: 'all' });
    tf.tidy(() => all.step([tf.fill([1], 2)], 0.1));
    expect(b.dataSync()[0]).toBeCloseTo(0.9 * 0.999 - 0.1, 6);
    expect(opt.iterations).toBe(1);
    opt.dispose();
    all.dispose();
    tf.dispose([w, b]);
  });

  it('leaves a variable without gradient alone and clips through the gradient scale', () => {
    const a = tf.variable(tf.tensor1d([1, 2]));
    const b = tf.variable(tf.tensor2d([[3, 4]]));
    const c = tf.variable(tf.tensor2d([[3, 4]]));
    const opt = new AdamW([a, b]);
    const ref = new AdamW([c]);
    tf.tidy(() => {
      const g = tf.tensor2d([[0.3, -0.4]]);
      const norm = globalNorm([g]);
      expect(norm).toBeCloseTo(0.5, 6);
      opt.step([undefined, g], 0.01, clipScale(norm, 0.1));
      ref.step([tf.mul(g, clipScale(norm, 0.1))], 0.01);
    });
    expect(Array.from(a.dataSync())).toEqual([1, 2]);
    expect(opt.getState().m[0]).toEqual([0, 0]);
    expect(Array.from(b.dataSync())).toEqual(Array.from(c.dataSync()));
    expect(clipScale(0.5, 0)).toBe(1);
    expect(clipScale(Number.NaN, 1)).toBe(1);
    opt.dispose();
    ref.dispose();
    tf.dispose([a, b, c]);
  });

  it('restores its state exactly and rejects bad state, options and gradients', () => {
    const w = tf.variable(tf.tensor1d([1, -1, 0.5]));
    const w2 = tf.variable(tf.tensor1d([1, -1, 0.5]));
    const opt = new AdamW([w]);
    const opt2 = new AdamW([w2]);
    tf.tidy(() => opt.step([tf.tensor1d([0.1, 0.2, -0.3])], 0.01));
    tf.tidy(() => opt2.step([tf.tensor1d([0.1, 0.2, -0.3])], 0.01));
    const copy = new AdamW([w2]);
    copy.setState(JSON.parse(JSON.stringify(opt2.getState())));
    opt2.dispose();
    tf.tidy(() => opt.step([tf.tensor1d([1, 1, 1])], 0.01));
    tf.tidy(() => copy.step([tf.tensor1d([1, 1, 1])], 0.01));
    expect(Array.from(w2.dataSync())).toEqual(Array.from(w.dataSync()));
    expect(copy.iterations).toBe(2);
    expect(() => copy.setState({ step: 1, m: [], v: [] })).toThrow(InvalidInputError);
    expect(() => copy.setState({ step: 1, m: [[1]], v: [[1]] })).toThrow(/state\.m\[0\]/);
    expect(() => copy.setState({ step: -1, m: [[0, 0, 0]], v: [[0, 0, 0]] })).toThrow(/step/);
    expect(() => copy.step([], 0.01)).toThrow(/grads/);
    expect(() => new AdamW([w], { decay: 'some' as 'all' })).toThrow(/decay/);
    expect(() => new AdamW([w], { beta: 0.9 } as never)).toThrow(UnknownKeyError);
    opt.dispose();
    copy.dispose();
    tf.dispose([w, w2]);
  });

  it.skipIf(!nativeKernelsAvailable())(
    'the fused native update matches the plain one on a real model',
    () => {
      const report = registerNativeKernels({ backends: [backend] });
      expect(report.registered[backend]).toContain(ADAMW_KERNEL);
      unregisterNativeKernels();
      const plain = trainedWeights(false, backend, 4);
      const fused = trainedWeights(true, backend, 4);
      expect(fused).toHaveLength(plain.length);
      if (backend === 'cpu') {
        expect(fused).toEqual(plain);
      } else {
        fused.forEach((f, i) => {
          const p = plain[i]!;
          f.forEach((x, j) =>
            expect(Math.abs(x - p[j]!), `weight ${i}[${j}]`).toBeLessThanOrEqual(
              1e-6 * Math.max(1, Math.abs(p[j]!)),
            ),
          );
        });
      }
    },
  );
});
