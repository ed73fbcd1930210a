// The adamwUpdate op against the unfused AdamW formula (the optimizers' former ten tfjs ops per
// variable), with and without the native kernel, over several steps with random gradients,
// clipping scales and weight decay. The native kernel computes in float32 with the same
// constants and order, so it should agree bitwise on cpu and within one float32 rounding
// (~1e-6 relative) on wasm, whose kernels may vectorise differently.
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError, Rng, ShapeMismatchError, selectBackend } from '@vzero/core';
import {
  ADAMW_KERNEL,
  adamwUpdate,
  registerNativeKernels,
  unregisterNativeKernels,
  type AdamWUpdateSettings,
  type NativeBackendName,
} from '../src/index.js';
import { AVAILABLE, SKIP_REASON, expectClose, randomTensor } from './helpers.js';

/** The former optimizers' code, op for op. */
function unfused(
  x: tf.Tensor,
  g0: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  s: AdamWUpdateSettings,
): tf.Tensor[] {
  return tf.tidy(() => {
    const g = s.gradScale === 1 ? g0 : tf.mul(g0, s.gradScale);
    const nm = tf.add(tf.mul(m, s.beta1), tf.mul(g, 1 - s.beta1));
    const nv = tf.add(tf.mul(v, s.beta2), tf.mul(tf.square(g), 1 - s.beta2));
    const c1 = 1 - s.beta1 ** s.step;
    const c2 = 1 - s.beta2 ** s.step;
    const update = tf.div(tf.div(nm, c1), tf.add(tf.sqrt(tf.div(nv, c2)), s.epsilon));
    const decayed = s.weightDecay > 0 ? tf.mul(x, 1 - s.lr * s.weightDecay) : x;
    return [tf.sub(decayed, tf.mul(update, s.lr)), nm, nv];
  });
}

type Update = (x: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, s: AdamWUpdateSettings) => tf.Tensor[];
const fusedUpdate: Update = (x, g, m, v, s) => {
  const r = adamwUpdate(x, g, m, v, s);
  return [r.x, r.m, r.v];
};

/** Runs `steps` updates from the same start; returns x, m, v after each step. */
function trajectory(update: Update, shape: number[], seed: number, steps: number): Float32Array[][] {
  const rng = new Rng(seed);
  let state = [randomTensor(rng, shape), tf.zeros(shape), tf.zeros(shape)];
  const out: Float32Array[][] = [];
  for (let step = 1; step <= steps; step++) {
    const g = tf.tidy(() => tf.mul(randomTensor(rng, shape), rng.float() * 3));
    const s: AdamWUpdateSettings = {
      lr: 0.001 + rng.float() * 0.1,
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-8,
      step,
      weightDecay: step % 2 === 0 ? 0.01 : 0,
      gradScale: step % 3 === 0 ? rng.float() : 1,
    };
    const next = update(state[0]!, g, state[1]!, state[2]!, s);
    tf.dispose([...state, g]);
    state = next;
    out.push(state.map((t) => t.dataSync() as Float32Array));
  }
  tf.dispose(state);
  return out;
}

const SHAPES = [[1], [7], [3, 5], [64, 33], [300, 256]];

export function defineAdamWSuite(backend: NativeBackendName): void {
  describe(`adamwUpdate op on ${backend}`, () => {
    beforeAll(async () => {
      await selectBackend({ prefer: backend });
    });
    afterEach(() => unregisterNativeKernels());

    it('matches a hand computation: x 1, g 2, lr 0.1, decay 0.01, step 1', () => {
      // m = 0.2, v = 0.004; m^ = 2, v^ = 4; x = 1 * (1 - 0.001) - 0.1 * 2 / (2 + 1e-8) = 0.899.
      const r = tf.tidy(() => {
        const u = adamwUpdate(tf.scalar(1), tf.scalar(2), tf.scalar(0), tf.scalar(0), {
          lr: 0.1,
          beta1: 0.9,
          beta2: 0.999,
          epsilon: 1e-8,
          step: 1,
          weightDecay: 0.01,
          gradScale: 1,
        });
        return [u.x, u.m, u.v];
      });
      expectClose(
        Float32Array.from(r.flatMap((t) => Array.from(t.dataSync()))),
        Float32Array.from([0.899, 0.2, 0.004]),
        1e-6,
        1e-6,
      );
      tf.dispose(r);
    });

    it('without the native kernel: bitwise equal to the unfused formula', () => {
      for (const [i, shape] of SHAPES.slice(0, 4).entries()) {
        expect(trajectory(fusedUpdate, shape, 30 + i, 4)).toEqual(trajectory(unfused, shape, 30 + i, 4));
      }
    });

    it('rejects mismatched shapes and bad settings', () => {
      tf.tidy(() => {
        const x = tf.zeros([2, 3]);
        const s: AdamWUpdateSettings = {
          lr: 0.1,
          beta1: 0.9,
          beta2: 0.999,
          epsilon: 1e-8,
          step: 1,
          weightDecay: 0,
          gradScale: 1,
        };
        expect(() => adamwUpdate(x, tf.zeros([3, 2]), x, x, s)).toThrow(ShapeMismatchError);
        expect(() => adamwUpdate(x, x, x, tf.zeros([6]), s)).toThrow(/v/);
        expect(() => adamwUpdate(x, x, x, x, { ...s, step: 0 })).toThrow(InvalidInputError);
        expect(() => adamwUpdate(x, x, x, x, { ...s, beta1: 1 })).toThrow(/beta1/);
        expect(() => adamwUpdate(x, x, x, x, { ...s, epsilon: 0 })).toThrow(/epsilon/);
        expect(() => adamwUpdate(x, x, x, x, { ...s, lr: Number.NaN })).toThrow(/lr/);
      });
    });

    describe.skipIf(!AVAILABLE)(`with the native kernel${SKIP_REASON}`, () => {
      it('registers the AdamW kernel and removes it again', () => {
        const report = registerNativeKernels({ backends: [backend] });
        expect(report.registered[backend]).toContain(ADAMW_KERNEL);
        unregisterNativeKernels();
        expect(tf.getKernel(ADAMW_KERNEL, backend)).toBeUndefined();
      });

      it('matches the unfused formula over several steps (1 and 2 threads)', () => {
        for (const [i, shape] of SHAPES.entries()) {
          const plain = trajectory(unfused, shape, 40 + i, 5);
          registerNativeKernels({ backends: [backend], threads: i % 2 === 0 ? 1 : 2 });
          const fused = trajectory(fusedUpdate, shape, 40 + i, 5);
          unregisterNativeKernels();
          if (backend === 'cpu') expect(fused).toEqual(plain);
          else fused.forEach((step, s) => step.forEach((a, j) => expectClose(a, plain[s]![j]!, 1e-6, 1e-6)));
        }
      });

      it('leaves the tensor count unchanged over repeated updates', () => {
        registerNativeKernels({ backends: [backend] });
        trajectory(fusedUpdate, [4, 4], 50, 1);
        const before = tf.memory().numTensors;
        trajectory(fusedUpdate, [4, 4], 50, 3);
        expect(tf.memory().numTensors).toBe(before);
      });
    });
  });
}
