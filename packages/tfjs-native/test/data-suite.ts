// Checks of the data-movement and reduction kernels (GatherV2, Sum, Mean, Max, Unpack, SplitV,
// Concat) against the backend's own kernels, once per backend. Copies must match exactly; sums
// accumulate in double natively and in float32 on some plain kernels, so large reductions get a
// tolerance that grows with the number of summed elements.
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Rng, selectBackend } from '@vzero/core';
import { registerNativeKernels, unregisterNativeKernels, type NativeBackendName } from '../src/index.js';
import { AVAILABLE, SKIP_REASON, both, expectClose, randomTensor } from './helpers.js';

function randomShape(rng: Rng, rank: number, maxDim = 6): number[] {
  return Array.from({ length: rank }, () => (rng.int(0, 3) === 0 ? 1 : rng.int(2, maxDim + 1)));
}

/** A tensor whose data starts inside another's buffer (a contiguous slice shares it on cpu). */
function offsetTensor(rng: Rng, shape: number[]): tf.Tensor {
  return tf.tidy(() => {
    const big = randomTensor(rng, [3, ...shape]);
    return tf.squeeze(tf.slice(big, [1], [1]), [0]);
  });
}

export function defineDataKernelSuite(backend: NativeBackendName): void {
  describe.skipIf(!AVAILABLE)(
    `native gather, reductions, unpack/split/concat on ${backend}${SKIP_REASON}`,
    () => {
      beforeAll(async () => {
        await selectBackend({ prefer: backend });
      });
      afterEach(() => unregisterNativeKernels());

      it('gather matches the plain kernel on any axis (negative too), index shapes and repeats', () => {
        const rng = new Rng(71);
        for (let trial = 0; trial < 60; trial++) {
          const shape = randomShape(rng, rng.int(1, 5));
          const rank = shape.length;
          const axis = rng.int(-rank, rank);
          const dim = shape[axis < 0 ? axis + rank : axis]!;
          const idxShape = [[], [rng.int(1, 7)], [rng.int(1, 4), rng.int(1, 4)]][rng.int(0, 3)]!;
          const count = idxShape.reduce((p, d) => p * d, 1);
          const idx = Array.from({ length: count }, () => rng.int(0, dim));
          const x =
            trial % 3 === 0 ? offsetTensor(rng.child(trial), shape) : randomTensor(rng.child(trial), shape);
          const { plain, native } = both(backend, () =>
            tf.gather(x, tf.tensor(idx, idxShape, 'int32'), axis),
          );
          expectClose(native[0]!, plain[0]!, 0, 0);
          x.dispose();
        }
        // Large enough to split over threads: the KV-cache row copy (prefix rows to G rollouts).
        const cache = randomTensor(rng, [2, 8, 80, 64]);
        const rows = tf.tensor(
          Array.from({ length: 64 }, (_, i) => i % 8),
          [64],
          'int32',
        );
        const { plain, native } = both(backend, () => tf.gather(cache, rows, 1));
        expectClose(native[0]!, plain[0]!, 0, 0);
        tf.dispose([cache, rows]);
      });

      it('gather with an out-of-range index raises tfjs error and leaks nothing', () => {
        registerNativeKernels({ backends: [backend] });
        const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]);
        const before = tf.memory().numTensors;
        for (const bad of [3, -1]) {
          const idx = tf.tensor1d([0, bad], 'int32');
          expect(() => tf.gather(x, idx)).toThrow(`GatherV2: the index value ${bad} is not in [0, 2]`);
          idx.dispose();
        }
        expect(tf.memory().numTensors).toBe(before);
        x.dispose();
      });

      it('gather falls back for int32 data and batchDims 1, with the same results', () => {
        const ints = both(backend, () =>
          tf.cast(
            tf.gather(tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32'), tf.tensor1d([1, 1, 0], 'int32')),
            'float32',
          ),
        );
        expect(Array.from(ints.native[0]!)).toEqual([3, 4, 3, 4, 1, 2]);
        // tfjs-wasm's own gather with batchDims reads the wrong memory (e.g. [2, 2e-44] here), so
        // there is no correct original to fall back to on wasm.
        if (backend === 'wasm') return;
        const batched = both(backend, () =>
          tf.gather(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([1, 0], [2, 1], 'int32'), 1, 1),
        );
        expect(Array.from(batched.native[0]!)).toEqual([2, 3]);
        expect(Array.from(batched.plain[0]!)).toEqual([2, 3]);
      });

      it('sum, mean and max match the plain kernels over any set of axes, with and without keepDims', () => {
        const rng = new Rng(81);
        for (let trial = 0; trial < 80; trial++) {
          const rank = rng.int(0, 6);
          const shape = randomShape(rng, rank);
          const pick = rng.int(0, 4);
          // undefined = all axes; otherwise a shuffled subset, some given as negative axes.
          const axes =
            pick === 0
              ? undefined
              : Array.from({ length: rank }, (_, i) => i)
                  .filter(() => rng.int(0, 2) === 1)
                  .map((a) => (rng.int(0, 2) === 1 ? a - rank : a))
                  .reverse();
          const keep = rng.int(0, 2) === 1;
          const x =
            trial % 4 === 0 ? offsetTensor(rng.child(trial), shape) : randomTensor(rng.child(trial), shape);
          const { plain, native } = both(backend, () => [
            tf.sum(x, axes, keep),
            tf.mean(x, axes, keep),
            tf.max(x, axes, keep),
          ]);
          native.forEach((v, i) => expectClose(v, plain[i]!, 1e-5, 1e-5));
          x.dispose();
        }
      });

      it('large reductions (attention-gradient sized, several threads) match within float32 summation error', () => {
        const rng = new Rng(82);
        const x = randomTensor(rng, [16, 4, 96, 96]);
        for (const axes of [[0, 1], [0], [2, 3], [3], [0, 2], [1, 3], undefined]) {
          const { plain, native } = both(backend, () => [tf.sum(x, axes), tf.mean(x, axes), tf.max(x, axes)]);
          const summed = axes === undefined ? x.size : axes.reduce((p, a) => p * x.shape[a]!, 1);
          // float32 accumulation of n terms of size ~1 errs by up to ~n * 6e-8 in the worst case.
          expectClose(native[0]!, plain[0]!, summed * 6e-8, 1e-5);
          expectClose(native[1]!, plain[1]!, 6e-8, 1e-5);
          expectClose(native[2]!, plain[2]!, 0, 0);
        }
        x.dispose();
      });

      it('max handles infinities and huge values like the plain kernel', () => {
        const x = tf.tensor2d([-Infinity, -Infinity, 3e38, -3e38, Infinity, 0, -1, -2, -3], [3, 3]);
        const { plain, native } = both(backend, () => [tf.max(x, 1), tf.max(x, 0), tf.sum(x, 1)]);
        native.forEach((v, i) => expect(Array.from(v)).toEqual(Array.from(plain[i]!)));
        x.dispose();
      });

      it('reductions of non-float32 tensors fall back (int32 sum stays int32)', () => {
        registerNativeKernels({ backends: [backend] });
        const s = tf.sum(tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32'), 0);
        expect(s.dtype).toBe('int32');
        expect(Array.from(s.dataSync())).toEqual([4, 6]);
        s.dispose();
      });

      it('unstack, split and concat match the plain kernels on any axis', () => {
        const rng = new Rng(91);
        for (let trial = 0; trial < 40; trial++) {
          const shape = randomShape(rng, rng.int(1, 5));
          const rank = shape.length;
          const axis = rng.int(-rank, rank);
          const a = axis < 0 ? axis + rank : axis;
          const x =
            trial % 3 === 0 ? offsetTensor(rng.child(trial), shape) : randomTensor(rng.child(trial), shape);
          const dim = shape[a]!;
          const cut = rng.int(0, dim + 1);
          const other = [...shape];
          other[a] = rng.int(0, 4); // may be 0: an empty part
          const y = randomTensor(rng.child(trial + 500), other);
          const { plain, native } = both(backend, () => [
            ...tf.unstack(x, axis),
            ...tf.split(x, [cut, dim - cut], axis),
            ...tf.split(x, 1, axis),
            tf.concat([x, y, x], axis),
          ]);
          native.forEach((v, i) => expectClose(v, plain[i]!, 0, 0));
          tf.dispose([x, y]);
        }
        const qkv = randomTensor(rng, [3, 8, 4, 96, 32]);
        const big = both(backend, () => [...tf.unstack(qkv), tf.concat(tf.unstack(qkv), 2)]);
        big.native.forEach((v, i) => expectClose(v, big.plain[i]!, 0, 0));
        qkv.dispose();
      });

      it('split with a -1 size and an even split matches; bad splits raise the original error', () => {
        const x = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [2, 4]);
        const { plain, native } = both(backend, () => [...tf.split(x, [1, -1], 1), ...tf.split(x, 2, 1)]);
        native.forEach((v, i) => expect(Array.from(v)).toEqual(Array.from(plain[i]!)));
        registerNativeKernels({ backends: [backend] });
        expect(() => tf.split(x, 3, 1)).toThrow(/split/i);
        expect(() => tf.concat([x, tf.zeros([3, 3])], 1)).toThrow();
        x.dispose();
      });

      it('gradients through gather, reductions, unstack, split and concat match the plain kernels', () => {
        const rng = new Rng(101);
        const x0 = randomTensor(rng, [4, 6, 5]);
        const w0 = randomTensor(rng, [5]);
        const idx = tf.tensor1d([3, 0, 3, 5], 'int32');
        // The gather gradient needs UnsortedSegmentSum, which the wasm backend lacks.
        const withGather = backend === 'cpu';
        const f = (x: tf.Tensor, w: tf.Tensor) => {
          const [a, b] = tf.split(x, [2, 4], 1);
          const restacked = tf.stack(tf.unstack(tf.concat([b!, a!], 1), 2), 2);
          const g = withGather ? tf.gather(restacked, idx, 1) : restacked;
          const bcast = tf.mul(g, w); // the gradient of w is a reduction of a broadcast
          return tf.add(tf.sum(tf.square(bcast)), tf.add(tf.mean(tf.max(x, [0, 2])), tf.sum(tf.mean(x, -1))));
        };
        const { plain, native } = both(backend, () => tf.grads(f)([x0, w0]));
        expectClose(native[0]!, plain[0]!);
        expectClose(native[1]!, plain[1]!);
        tf.dispose([x0, w0, idx]);
      });

      it('identity (clone) and float32 cast give the same values, survives disposing the source, and frees its memory', () => {
        registerNativeKernels({ backends: [backend] });
        const rng = new Rng(121);
        const bytes0 = tf.memory().numBytes;
        const x = randomTensor(rng, [6, 7]);
        const values = Array.from(x.dataSync());
        const c = tf.clone(x);
        x.dispose();
        expect(Array.from(c.dataSync())).toEqual(values);
        const g = tf.grad((v: tf.Tensor) => tf.sum(tf.clone(v)))(c); // the gradient is an identity too
        expect(Array.from(g.dataSync())).toEqual(values.map(() => 1));
        tf.dispose([c, g]);
        expect(tf.memory().numBytes).toBe(bytes0);
      });

      it('does not leak tensors over many calls', () => {
        registerNativeKernels({ backends: [backend] });
        const rng = new Rng(111);
        const x = randomTensor(rng, [8, 3, 40, 16]);
        const idx = tf.tensor1d([0, 2, 2, 1], 'int32');
        const before = tf.memory().numTensors;
        for (let i = 0; i < 50; i++) {
          tf.tidy(() => {
            const g = tf.gather(x, idx, 1);
            const parts = tf.unstack(g, 1);
            const c = tf.concat(tf.split(tf.concat(parts, 2), 4, 2), 0);
            return tf.add(tf.sum(c, [0, 2]), tf.max(tf.mean(c, 1)));
          }).dispose();
        }
        expect(tf.memory().numTensors).toBe(before);
        tf.dispose([x, idx]);
      });
    },
  );
}
