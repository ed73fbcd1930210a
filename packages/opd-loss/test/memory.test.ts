import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend, type BackendName } from '@vzero/core';
import { opdLoss, opdLossConfig, opdLossMetrics, type OpdLossConfig } from '../src/index.js';
import { S, STUDENT_P, disposeAll, fixture } from './fixtures.js';

const configs: Partial<OpdLossConfig>[] = [
  {},
  { estimator: 'k3', aggregation: 'seq-mean-token-mean' },
  { estimator: 'k2', mode: 'direct', aggregation: 'seq-mean-token-sum-norm' },
  { estimator: 'forward-kl-topk', mode: 'direct', aggregation: 'seq-mean-token-sum' },
];

describe.each<BackendName>(['cpu', 'wasm'])('tensor accounting on %s', (backend) => {
  beforeAll(async () => {
    await selectBackend({ prefer: backend });
  });

  it('opdLoss and opdLossMetrics leave only the returned loss behind', () => {
    const inputs = fixture();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      for (const overrides of configs) {
        const config = opdLossConfig(overrides);
        const loss = opdLoss(inputs, config);
        expect(tf.memory().numTensors).toBe(before + 1);
        const m = opdLossMetrics(inputs, config);
        expect(m.loss).toBeCloseTo(loss.dataSync()[0]!, 5);
        loss.dispose();
      }
    }
    expect(tf.memory().numTensors).toBe(before);
    disposeAll(inputs);
  });

  it('a training step with tf.variableGrads and optimizer.minimize leaks nothing and lowers the loss', () => {
    const base = tf.memory().numTensors;
    const { studentLogprobs, ...rest } = fixture();
    studentLogprobs.dispose(); // replaced by the policy's log-probs below
    // the student "policy": free logits per token; log-probs of the sampled tokens = log-sigmoid
    const logits = tf.tidy(() => tf.variable(tf.tensor2d(S.map((r) => r.map((v) => v + 0.5)))));
    const sK = tf.tidy(() =>
      tf.variable(
        tf.tensor3d(STUDENT_P.map((r) => r.map((c) => c.map((v) => Math.log(Number.isNaN(v) ? 0.5 : v))))),
      ),
    );
    const inputsFor = () => ({
      ...rest,
      studentLogprobs: tf.logSigmoid(logits) as tf.Tensor2D,
      studentTopK: sK as tf.Tensor3D,
    });
    const optimizer = tf.train.sgd(0.5);
    const afterSetup = tf.memory().numTensors;
    for (const overrides of configs) {
      const config = opdLossConfig(overrides);
      let first = Number.NaN;
      let last = Number.NaN;
      for (let step = 0; step < 4; step++) {
        const { value, grads } = tf.variableGrads(() => opdLoss(inputsFor(), config));
        expect(Object.keys(grads).length).toBe(1); // logits, or the top-K variable
        tf.dispose(grads);
        value.dispose();
        const cost = optimizer.minimize(() => opdLoss(inputsFor(), config), true);
        const v = cost!.dataSync()[0]!;
        cost!.dispose();
        if (step === 0) first = v;
        last = v;
      }
      // direct losses and pg at ratio 1 both descend on this tiny problem
      if (config.mode === 'direct') expect(last).toBeLessThan(first);
      expect(Number.isFinite(last)).toBe(true);
    }
    // sgd keeps no per-variable state, so the count is back to what the setup left
    expect(tf.memory().numTensors).toBe(afterSetup);
    optimizer.dispose();
    tf.dispose([logits, sK]);
    disposeAll(rest);
    expect(tf.memory().numTensors).toBe(base);
  });
});
