// Times the attention's scale + mask + softmax (forward and gradient) plain against fused, on
// the backend given by --backend (default wasm), at the reference shape [64, 4, 96, 96].
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '@vzero/core';
import { registerNativeKernels, scaledMaskedSoftmax, unregisterNativeKernels } from '../src/index.js';

const backend = process.argv.includes('--cpu') ? 'cpu' : 'wasm';
await selectBackend({ prefer: backend });
const x = tf.randomNormal([64, 4, 96, 96]);
const w = tf.randomNormal([64, 4, 96, 96]);
const mask = tf.tidy(() => tf.mul(tf.sub(tf.linalg.bandPart(tf.ones([96, 96]), -1, 0), 1), 1e9));
const plain = (xi: tf.Tensor) => tf.softmax(tf.add(tf.mul(xi, 0.17), mask));
const fused = (xi: tf.Tensor) => scaledMaskedSoftmax(xi, 0.17, mask);
function time(label: string, f: (xi: tf.Tensor) => tf.Tensor): void {
  const run = () => {
    const g = tf.tidy(() => tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(f(xi), w)))(x));
    g.dataSync();
    g.dispose();
  };
  run();
  const ms: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    run();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  console.log(`${backend} ${label}: fwd+grad median ${ms[3]!.toFixed(1)} ms (min ${ms[0]!.toFixed(1)})`);
}
time('plain ops, native kernels off', plain);
registerNativeKernels({ backends: [backend] });
time('plain ops, native kernels on', plain);
time('fused op, native kernels on', fused);
unregisterNativeKernels();
