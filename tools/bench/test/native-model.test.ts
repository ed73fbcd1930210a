// The V-Zero model with and without the native kernels (fused layer norm included): response
// log-probs, every weight's gradient of the supervised loss, and cached scoring agree within
// float tolerance on cpu and wasm, so checkpoints and training do not depend on kernel choice.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng, selectBackend } from '@vzero/core';
import type { PromptImage } from '@vzero/core';
import { MODEL_PRESETS, createModel } from '@vzero/model';
import type { ResponseBatch } from '@vzero/model';
import {
  LAYER_NORM_KERNEL,
  nativeKernelsAvailable,
  registerNativeKernels,
  unregisterNativeKernels,
} from '@vzero/tfjs-native';

function picture(rng: Rng, id: string, role: 'full' | 'crop'): PromptImage {
  const data = Float32Array.from({ length: 16 * 16 * 3 }, () => rng.float());
  return { id, role, pixels: { width: 16, height: 16, channels: 3, data } };
}

function batch(): ResponseBatch {
  const rng = new Rng(3);
  const prompts = [0, 1, 2].map((i) => ({
    images: [picture(rng, `f${i}`, 'full'), picture(rng, `c${i}`, 'crop')],
    tokenIds: [1, 2 + i, 3],
  }));
  return {
    prompts,
    responses: [
      [4, 5, 6],
      [7, 8],
      [9, 10, 11, 12],
    ],
  };
}

/** Log-probs, gradients of the loss (in weight order) and cached teacher-forced log-probs. */
function outputs(): Float32Array[] {
  const model = createModel({ ...MODEL_PRESETS.tiny, vocabSize: 16, depth: 2, initSeed: 9 });
  const b = batch();
  const before = tf.memory().numTensors;
  const lp = model.responseLogprobs(b);
  const { value: loss, grads } = tf.variableGrads(() => model.supervisedLoss(b), model.trainableVariables);
  const prefix = model.encodePrefix(
    b.prompts.map((p) => p.images),
    true,
  );
  const cached = model.cachedLogprobs(b, prefix);
  const tensors = [lp, loss, ...model.getWeights().map((w) => grads[w.tensor.name]!), cached];
  const values = tensors.map((t) => Float32Array.from(t.dataSync() as Float32Array));
  tf.dispose([...tensors, ...prefix.flatMap((c) => [c.k, c.v])]);
  expect(tf.memory().numTensors).toBe(before);
  model.dispose();
  return values;
}

afterAll(async () => {
  unregisterNativeKernels();
  await selectBackend({ prefer: 'cpu' });
});

describe.skipIf(!nativeKernelsAvailable())('V-Zero model with native kernels', () => {
  it.each(['cpu', 'wasm'] as const)(
    'matches the plain kernels on %s (outputs and gradients)',
    async (backend) => {
      await selectBackend({ prefer: backend });
      unregisterNativeKernels();
      const plain = outputs();
      const report = registerNativeKernels({ backends: [backend], threads: 2 });
      expect(report.registered[backend]).toContain(LAYER_NORM_KERNEL);
      const native = outputs();
      unregisterNativeKernels();
      expect(native).toHaveLength(plain.length);
      plain.forEach((p, i) => {
        const n = native[i]!;
        let diff = 0;
        let scale = 0;
        for (let j = 0; j < p.length; j++) {
          diff = Math.max(diff, Math.abs(n[j]! - p[j]!));
          scale = Math.max(scale, Math.abs(p[j]!));
        }
        // Largest difference relative to the tensor's largest value (summation orders differ);
        // an element-wise ratio would flag gradient entries that are ~0 anyway.
        // The key biases' gradients are exactly 0 in exact arithmetic (a key bias shifts every
        // score of a query equally): rounding noise of ~1e-8 there, hence a floor of 1e-2 on the
        // scale (the other gradients' largest values are 0.05-0.7, outputs ~3; measured
        // differences 1e-7 relative).
        expect(diff / Math.max(scale, 1e-2), `output ${i}`).toBeLessThan(1e-5);
      });
    },
  );
});
