// The attention op against the model's former attention ops (attentionOps: reshape and transpose
// q to heads, matMul, scaledMaskedSoftmax, matMul, transpose back) and tfjs's autodiff of them:
// forward values and gradients in q, k and v, on random shapes (decode-sized Tq = 1 included),
// masks that broadcast over heads or not at all, 1 and 2 threads. Without the native kernels the
// op is those ops (bitwise equal); the kernels multiply per head in place and compute the
// gradient in closed form, so 1e-5 tolerances there.
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError, Rng, ShapeMismatchError, selectBackend } from '@vzero/core';
import {
  ATTENTION_GRAD_KERNEL,
  ATTENTION_KERNEL,
  attention,
  attentionAppend,
  attentionOps,
  canAppendAttention,
  registerNativeKernels,
  unregisterNativeKernels,
  type NativeBackendName,
} from '../src/index.js';
import { AVAILABLE, SKIP_REASON, expectClose, randomTensor } from './helpers.js';

type Attention = typeof attention;

interface Case {
  q: tf.Tensor3D;
  k: tf.Tensor4D;
  v: tf.Tensor4D;
  w: tf.Tensor3D;
  mask: tf.Tensor | null;
  heads: number;
  scale: number;
}

/** Output and gradients in q, k, v of sum(op(q, k, v) * w). */
function valueAndGrads(op: Attention, c: Case): Float32Array[] {
  const out = tf.tidy(() => {
    const y = op(c.q, c.k, c.v, c.heads, c.scale, c.mask);
    const f = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) =>
      tf.sum(tf.mul(op(q as tf.Tensor3D, k as tf.Tensor4D, v as tf.Tensor4D, c.heads, c.scale, c.mask), c.w));
    return [y, ...tf.grads(f)([c.q, c.k, c.v])];
  });
  const values = out.map((t) => t.dataSync() as Float32Array);
  tf.dispose(out);
  return values;
}

function randomCase(rng: Rng): Case {
  const B = rng.int(1, 4);
  const heads = rng.int(1, 4);
  const dh = rng.int(1, 9);
  const Tq = rng.float() < 0.3 ? 1 : rng.int(1, 13);
  const Tk = Tq + rng.int(0, 9); // a cache of earlier keys plus the new ones
  const q = tf.tidy(() => tf.mul(randomTensor(rng, [B, Tq, heads * dh]), 2)) as tf.Tensor3D;
  const k = randomTensor(rng, [B, heads, Tk, dh]) as tf.Tensor4D;
  const v = randomTensor(rng, [B, heads, Tk, dh]) as tf.Tensor4D;
  const w = randomTensor(rng, [B, Tq, heads * dh]) as tf.Tensor3D;
  const kind = rng.int(0, 3);
  // The model's mask is [B, 1, Tq, Tk] of 0 and -1e9; also one shared by the batch, and none.
  const maskShape = kind === 0 ? [B, 1, Tq, Tk] : [Tq, Tk];
  const mask =
    kind === 2
      ? null
      : tf.tidy(() => tf.mul(tf.cast(tf.less(randomTensor(rng, maskShape), -0.4), 'float32'), -1e9));
  return { q, k, v, w, mask, heads, scale: 0.2 + rng.float() };
}

function disposeCase(c: Case): void {
  tf.dispose([c.q, c.k, c.v, c.w, ...(c.mask ? [c.mask] : [])]);
}

export function defineAttentionSuite(backend: NativeBackendName): void {
  describe(`attention op on ${backend}`, () => {
    beforeAll(async () => {
      await selectBackend({ prefer: backend });
    });
    afterEach(() => unregisterNativeKernels());

    it('matches a hand-computed head: two keys, one query, equal scores then a masked key', () => {
      // q . k0 = 0 and q . k1 = ln 3 (scale 1): weights 1/4, 3/4 over v0 = [4], v1 = [8] -> 7.
      const q = tf.tensor3d([[[Math.log(3)]]]);
      const k = tf.tensor4d([[[[0], [1]]]]);
      const v = tf.tensor4d([[[[4], [8]]]]);
      const open = attention(q, k, v, 1, 1);
      const masked = attention(q, k, v, 1, 1, tf.tensor2d([[0, -1e9]]));
      expectClose(open.dataSync() as Float32Array, Float32Array.from([7]), 1e-5, 1e-6);
      expectClose(masked.dataSync() as Float32Array, Float32Array.from([4]), 1e-6, 1e-6);
      tf.dispose([q, k, v, open, masked]);
    });

    it('without native kernels: forward and gradients bitwise equal to the former ops', () => {
      const rng = new Rng(91);
      for (let trial = 0; trial < 20; trial++) {
        const c = randomCase(rng);
        const fused = valueAndGrads(attention, c);
        const plain = valueAndGrads(attentionOps, c);
        for (let i = 0; i < 4; i++) expect(fused[i]).toEqual(plain[i]);
        disposeCase(c);
      }
    });

    it('rejects bad shapes, head counts, masks and scales by name', () => {
      tf.tidy(() => {
        const q = tf.zeros([2, 3, 8]) as tf.Tensor3D;
        const k = tf.zeros([2, 2, 5, 4]) as tf.Tensor4D;
        expect(() => attention(q, k, k, 3, 1)).toThrow(InvalidInputError);
        expect(() => attention(q, k, k, 0, 1)).toThrow(/heads/);
        expect(() => attention(tf.zeros([3, 8]) as unknown as tf.Tensor3D, k, k, 2, 1)).toThrow(
          ShapeMismatchError,
        );
        expect(() => attention(q, tf.zeros([2, 2, 5, 3]) as tf.Tensor4D, k, 2, 1)).toThrow(/k/);
        expect(() => attention(q, k, tf.zeros([2, 2, 6, 4]) as tf.Tensor4D, 2, 1)).toThrow(/v/);
        expect(() => attention(q, k, k, 2, 1, tf.zeros([3, 4]))).toThrow(/mask/);
        expect(() => attention(q, k, k, 2, Number.NaN)).toThrow(/scale/);
      });
    });

    describe.skipIf(!AVAILABLE)(`with the native kernels${SKIP_REASON}`, () => {
      it('registers both kernels', () => {
        const report = registerNativeKernels({ backends: [backend] });
        expect(report.registered[backend]).toContain(ATTENTION_KERNEL);
        expect(report.registered[backend]).toContain(ATTENTION_GRAD_KERNEL);
      });

      it('forward and gradients match the former ops on random shapes and masks (1 and 2 threads)', () => {
        const rng = new Rng(92);
        for (let trial = 0; trial < 40; trial++) {
          const c = randomCase(rng);
          const plain = valueAndGrads(attentionOps, c);
          registerNativeKernels({ backends: [backend], threads: trial % 2 === 0 ? 1 : 2 });
          const fused = valueAndGrads(attention, c);
          unregisterNativeKernels();
          for (let i = 0; i < 4; i++) expectClose(fused[i]!, plain[i]!, 1e-5, 1e-5);
          disposeCase(c);
        }
      });

      it('model-sized inputs: threads agree with one thread and with the former ops', () => {
        const rng = new Rng(93);
        const [B, H, Tq, Tk, dh] = [8, 4, 35, 115, 16];
        const c: Case = {
          q: randomTensor(rng, [B, Tq, H * dh]) as tf.Tensor3D,
          k: randomTensor(rng, [B, H, Tk, dh]) as tf.Tensor4D,
          v: randomTensor(rng, [B, H, Tk, dh]) as tf.Tensor4D,
          w: randomTensor(rng, [B, Tq, H * dh]) as tf.Tensor3D,
          mask: tf.tidy(() => tf.mul(tf.sub(tf.linalg.bandPart(tf.ones([Tq, Tk]), -1, Tk - Tq), 1), 1e9)),
          heads: H,
          scale: 0.25,
        };
        registerNativeKernels({ backends: [backend], threads: 1 });
        const one = valueAndGrads(attention, c);
        registerNativeKernels({ backends: [backend], threads: 2 });
        const two = valueAndGrads(attention, c);
        unregisterNativeKernels();
        const plain = valueAndGrads(attentionOps, c);
        for (let i = 0; i < 4; i++) {
          expect(two[i]).toEqual(one[i]);
          expectClose(two[i]!, plain[i]!, 1e-5, 1e-5);
        }
        disposeCase(c);
      });

      it('attentionAppend: bitwise the attention over the concatenated cache, written in place', () => {
        const rng = new Rng(96);
        expect(canAppendAttention()).toBe(false);
        for (let trial = 0; trial < 12; trial++) {
          registerNativeKernels({ backends: [backend], threads: trial % 2 === 0 ? 1 : 2 });
          expect(canAppendAttention()).toBe(true);
          const c = randomCase(rng);
          const [B, Tq, d] = c.q.shape;
          const [, H, Tk, dh] = c.k.shape;
          const length = Tk - Tq; // keys already cached; Tq new ones
          const spare = rng.int(0, 4);
          const expected = attention(c.q, c.k, c.v, c.heads, c.scale, c.mask);
          // The cache: the first `length` keys, then room (garbage there must not be read).
          const room = (t: tf.Tensor4D): tf.Tensor4D =>
            tf.concat([tf.slice(t, [0, 0, 0, 0], [B, H, length, dh]), tf.fill([B, H, Tq + spare, dh], 7)], 2);
          const cache = { k: room(c.k), v: room(c.v) };
          // The new keys and values in token layout [B, Tq, H * dh], as a linear layer gives them.
          const token = (t: tf.Tensor4D) =>
            tf.reshape(tf.transpose(tf.slice(t, [0, 0, length, 0], [B, H, Tq, dh]), [0, 2, 1, 3]), [
              B * Tq,
              d,
            ]);
          const [kNew, vNew] = [token(c.k), token(c.v)];
          const got = attentionAppend(c.q, kNew, vNew, cache, length, c.heads, c.scale, c.mask);
          expect(Array.from(got.dataSync())).toEqual(Array.from(expected.dataSync()));
          // The cache now holds the new keys and values in place; the spare positions are untouched.
          const filled = (t: tf.Tensor4D) => Array.from(tf.slice(t, [0, 0, 0, 0], [B, H, Tk, dh]).dataSync());
          expect(filled(cache.k)).toEqual(Array.from(c.k.dataSync()));
          expect(filled(cache.v)).toEqual(Array.from(c.v.dataSync()));
          if (spare > 0) {
            const rest = tf.slice(cache.k, [0, 0, Tk, 0], [B, H, spare, dh]);
            expect(Array.from(rest.dataSync()).every((x) => x === 7)).toBe(true);
          }
          expect(() => attentionAppend(c.q, kNew, vNew, cache, length + spare + 1, c.heads, c.scale)).toThrow(
            InvalidInputError,
          );
          tf.dispose([expected, got, cache.k, cache.v, kNew, vNew]);
          disposeCase(c);
        }
      });

      it('keeps no probabilities outside a gradient tape, and runs one kernel there', () => {
        const rng = new Rng(94);
        const c = randomCase(rng);
        registerNativeKernels({ backends: [backend] });
        const profile = tf.tidy(() => {
          const before = tf.memory().numTensors;
          const y = attention(c.q, c.k, c.v, c.heads, c.scale, c.mask);
          return { added: tf.memory().numTensors - before, y };
        });
        expect(profile.added).toBe(1);
        profile.y.dispose();
        disposeCase(c);
      });
    });

    it('leaves the tensor count unchanged over repeated forward + gradient calls (both paths)', () => {
      const rng = new Rng(95);
      const c = randomCase(rng);
      for (const native of AVAILABLE ? [false, true] : [false]) {
        if (native) registerNativeKernels({ backends: [backend] });
        valueAndGrads(attention, c);
        const before = tf.memory().numTensors;
        for (let i = 0; i < 5; i++) valueAndGrads(attention, c);
        expect(tf.memory().numTensors).toBe(before);
        unregisterNativeKernels();
      }
      disposeCase(c);
    });
  });
}
