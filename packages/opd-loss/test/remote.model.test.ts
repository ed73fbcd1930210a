// The remote mappings through a model: a tiny softmax policy whose sampled tokens' log-probs s
// come from a weight matrix. The service's sum-reduced losses, built from this package's
// per-token numbers, must give the same parameter gradient as opdLoss on the same s.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { Rng, selectBackend, type BackendName } from '@vzero/core';
import {
  crossEntropyWeights,
  opdLoss,
  opdLossConfig,
  policyGradientAdvantages,
  type OpdLossConfig,
} from '../src/index.js';

const B = 3;
const T = 4;
const H = 5;
const V = 7;
const MASK = [
  [1, 1, 1, 1],
  [1, 1, 0, 0],
  [1, 0, 0, 0],
];

function problem(seed: number) {
  const rng = new Rng(seed);
  const features = Array.from({ length: B * T * H }, () => rng.float() * 2 - 1);
  const tokens = Array.from({ length: B * T }, () => Math.floor(rng.float() * V));
  const teacher = Array.from({ length: B }, () => Array.from({ length: T }, () => -3 * rng.float()));
  const weights = Array.from({ length: B }, () => 2 * rng.float());
  const init = Array.from({ length: H * V }, () => rng.float() - 0.5);
  return { features, tokens, teacher, weights, init };
}

/** s [B, T]: the policy's log-prob of each sampled token. */
function policyLogprobs(w: tf.Variable, p: ReturnType<typeof problem>): tf.Tensor2D {
  const x = tf.tensor2d(p.features, [B * T, H]);
  const logp = tf.logSoftmax(tf.matMul(x, w));
  const picked = tf.sum(tf.mul(logp, tf.oneHot(tf.tensor1d(p.tokens, 'int32'), V)), 1);
  return tf.reshape(picked, [B, T]) as tf.Tensor2D;
}

function gradOf(w: tf.Variable, f: () => tf.Scalar): number[] {
  const { value, grads } = tf.variableGrads(f, [w]);
  const g = Array.from(grads[w.name]!.dataSync());
  tf.dispose([value, ...Object.values(grads)]);
  return g;
}

describe.each<BackendName>(['cpu', 'wasm'])('remote mappings through a softmax policy on %s', (backend) => {
  beforeAll(async () => {
    await selectBackend({ prefer: backend });
  });

  const cases: Array<[string, Partial<OpdLossConfig>]> = [
    [
      'direct k3, seq-mean-token-mean',
      { estimator: 'k3', mode: 'direct', aggregation: 'seq-mean-token-mean' },
    ],
    ['direct abs, token-mean', { estimator: 'abs', mode: 'direct' }],
    ['pg k1, token-mean (the reference)', {}],
    ['pg k1, seq-mean-token-sum-norm', { aggregation: 'seq-mean-token-sum-norm' }],
  ];

  it.each(cases)('%s: the service loss has the parameter gradient of opdLoss', (_, overrides) => {
    const config = opdLossConfig(overrides);
    for (const seed of [1, 2, 3]) {
      const p = problem(seed);
      const w = tf.variable(tf.tensor2d(p.init, [H, V]));
      const before = tf.memory().numTensors;
      const mask = tf.tensor2d(MASK);
      const teacherT = tf.tensor2d(p.teacher);
      const weightsT = tf.tensor1d(p.weights);
      // the client reads the current log-probs (as the service returns them) and builds its numbers
      const s0 = tf.tidy(() => policyLogprobs(w, p).arraySync());
      const inputs = { studentLogprobs: s0, teacherLogprobs: p.teacher, mask: MASK, weights: p.weights };
      const numbers = tf.tensor2d(
        config.mode === 'direct'
          ? crossEntropyWeights(inputs, config)
          : policyGradientAdvantages(inputs, config),
      );
      const sampling = tf.tensor2d(s0);

      const toolkit = gradOf(w, () =>
        opdLoss(
          { studentLogprobs: policyLogprobs(w, p), teacherLogprobs: teacherT, mask, weights: weightsT },
          config,
        ),
      );
      // cross_entropy: -sum_k weights_k s_k; importance_sampling: -sum_k exp(s_k - sampling_k) A'_k
      const service = gradOf(w, () => {
        const s = policyLogprobs(w, p);
        const perToken = config.mode === 'direct' ? s : tf.exp(tf.sub(s, sampling));
        return tf.neg(tf.sum(tf.mul(numbers, perToken))) as tf.Scalar;
      });
      expect(toolkit.some((v) => Math.abs(v) > 1e-3)).toBe(true); // not a vacuous comparison
      toolkit.forEach((v, i) => expect(Math.abs(v - service[i]!), `parameter ${i}`).toBeLessThan(1e-5));
      tf.dispose([mask, teacherT, weightsT, numbers, sampling]);
      expect(tf.memory().numTensors).toBe(before);
      w.dispose();
    }
  });
});
