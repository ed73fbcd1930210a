// optim.sharePrefix in training: V-Zero and GRPO runs with the update's image prefix encoded once
// per prompt follow the runs without it (same rollouts, so the same sampled text; losses and
// gradient norms up to float order) and leave no tensor behind.
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

const run = async (name: string, method: string, sharePrefix: boolean) => {
  const config = parseTrainConfig(tinyConfig(f, join(f.root, name), { method, optim: { sharePrefix } }));
  const result = await train(config);
  result.student.model.dispose();
  return result.records;
};

const close = (a: readonly number[], b: readonly number[]) =>
  a.forEach((x, i) => expect(b[i]).toBeCloseTo(x, 4));

describe('optim.sharePrefix', () => {
  it('is off by default', () => {
    expect(parseTrainConfig(tinyConfig(f, join(f.root, 'x'))).optim.sharePrefix).toBe(false);
  });

  it.each(['vzero', 'grpo'])(
    '%s: the same run up to float order, leaking no tensor',
    async (method) => {
      const off = await run(`${method}-off`, method, false);
      const tensors = tf.memory().numTensors;
      const on = await run(`${method}-on`, method, true);
      expect(tf.memory().numTensors).toBe(tensors);
      expect(on).toHaveLength(off.length);
      close(
        off.map((r) => r.loss),
        on.map((r) => r.loss),
      );
      close(
        off.map((r) => r.gradNorm),
        on.map((r) => r.gradNorm),
      );
      // the rollouts of every step are the same text (the students stay within float order)
      expect(on.map((r) => r.rollout)).toEqual(off.map((r) => r.rollout));
    },
    120_000,
  );
});
