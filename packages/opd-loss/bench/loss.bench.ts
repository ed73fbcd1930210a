// Loss + gradient cost at a reference-sized mini-batch: 16 prompts x G = 8 rollouts = 128
// sequences, responses padded to T = 2048 (about 3/4 real). The policy forward/backward is not
// included: the student log-probs are a variable here.
// Run: npx tsx packages/opd-loss/bench/loss.bench.ts [cpu|wasm]
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs-core';
import { Rng, selectBackend, type BackendName } from '@vzero/core';
import { opdLoss, opdLossConfig, opdLossMetrics, type OpdLossConfig } from '../src/index.js';

const backend = (process.argv[2] ?? 'cpu') as BackendName;
await selectBackend({ prefer: backend }); // also registers tfjs's gradient functions
if (!tf.getGradient('Sum')) throw new Error('no gradients registered');
const b = 128;
const t = 2048;
const rng = new Rng(3);
const rand = (n: number, f: () => number) => Float32Array.from({ length: n }, f);
const s = tf.variable(
  tf.tensor2d(
    rand(b * t, () => -3 * rng.float()),
    [b, t],
  ),
);
const teacher = tf.tensor2d(
  rand(b * t, () => -3 * rng.float()),
  [b, t],
);
const maskData = new Float32Array(b * t);
for (let i = 0; i < b; i++) {
  const len = Math.floor(t * (0.5 + 0.5 * rng.float()));
  maskData.fill(1, i * t, i * t + len);
}
const realMask = tf.tensor2d(maskData, [b, t]);
const weights = tf.tensor1d(rand(b, () => 2 * rng.float()));

function time(label: string, config: OpdLossConfig): void {
  const inputs = { studentLogprobs: s as tf.Tensor2D, teacherLogprobs: teacher, mask: realMask, weights };
  const step = () => {
    const { value, grads } = tf.variableGrads(() => opdLoss(inputs, config));
    grads[s.name]!.dataSync();
    tf.dispose([value, ...Object.values(grads)]);
  };
  step();
  const runs = 5;
  const start = performance.now();
  for (let i = 0; i < runs; i++) step();
  const ms = (performance.now() - start) / runs;
  const m0 = performance.now();
  opdLossMetrics(inputs, config);
  const metricsMs = performance.now() - m0;
  console.log(
    `${backend} ${label}: loss+grad ${ms.toFixed(1)} ms, metrics ${metricsMs.toFixed(1)} ms (B=${b}, T=${t})`,
  );
}

time('pg k1 token-mean (reference)', opdLossConfig());
time(
  'direct k3 seq-mean-token-mean',
  opdLossConfig({ estimator: 'k3', mode: 'direct', aggregation: 'seq-mean-token-mean' }),
);
