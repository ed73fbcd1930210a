// gate.level token in the training app: each response token weighted by its own contrast
// (@vzero/gate's computeTokenGate), fed to the loss as [B, T] weights. With alpha 0 every weight
// is 1 at both levels, so the two levels make the very same run; with the paper's alpha they
// differ, and the step's gate statistics are the token gate's (taken over tokens, not rollouts).
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTrainConfig } from '../src/config.js';
import { train } from '../src/trainer.js';
import { makeFixture, tinyConfig, type Fixture } from './fixture.js';

let f: Fixture;
beforeAll(async () => {
  f = await makeFixture({ train: 8 });
}, 120_000);
afterAll(async () => {
  await rm(f.root, { recursive: true, force: true });
});

const run = async (name: string, gate: Record<string, unknown>) => {
  const result = await train(parseTrainConfig(tinyConfig(f, join(f.root, name), { gate })));
  result.student.model.dispose();
  return result.records;
};

describe('the token-level gate in training', () => {
  it("with alpha 0 makes the sequence gate's run; with alpha 1 its own, leaking no tensor", async () => {
    const flatSequence = await run('flat-seq', { alpha: 0 });
    const flatToken = await run('flat-token', { alpha: 0, level: 'token' });
    expect(flatToken.map((r) => r.loss)).toEqual(flatSequence.map((r) => r.loss));
    expect(flatToken.map((r) => r.gradNorm)).toEqual(flatSequence.map((r) => r.gradNorm));

    const tensors = tf.memory().numTensors;
    const sequence = await run('sequence', {});
    const token = await run('token', { level: 'token' });
    expect(tf.memory().numTensors).toBe(tensors);
    // The same rollouts (step 1 samples the same starting student) weighted otherwise.
    expect(token[0]?.rollout).toEqual(sequence[0]?.rollout);
    expect(token[0]?.loss).not.toBe(sequence[0]?.loss);
    // Over tokens, weights spread within every group; their mean is 1 up to the clip.
    for (const r of token) {
      expect(r.gate?.weightStd).toBeGreaterThan(0);
      expect(r.gate?.weightMin).toBeGreaterThanOrEqual(0);
      expect(r.gate?.weightMax).toBeLessThanOrEqual(2);
    }
  }, 120_000);

  it('is refused for an unknown level, naming the key', () => {
    expect(() => parseTrainConfig(tinyConfig(f, join(f.root, 'bad'), { gate: { level: 'word' } }))).toThrow(
      /gate\.level/,
    );
  });
});
