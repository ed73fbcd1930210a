// Benchmark: sgemm GFLOP/s on model-typical shapes and ms per training step of the reference
// transformer, plain backend vs native kernels, on cpu and wasm.
//   npx tsx packages/tfjs-native/bench/main.ts [--backend cpu|wasm] [--workload] [--plain-workload]
//     [--no-sgemm] [--steps N]
// --workload times the reference step with native kernels; --plain-workload also times it
// without (slow: tens of seconds per step on plain cpu); --steps N timed steps after a warm-up
// (default 3); --no-sgemm skips the GEMM table. Figures are wall-clock medians on a
// shared machine: approximate.
import * as tf from '@tensorflow/tfjs-core';
import { cpus } from 'node:os';
import { selectBackend } from '@vzero/core';
import { nativeKernelsReport, registerNativeKernels, unregisterNativeKernels } from '../src/index.js';
import { makeReferenceModel, REFERENCE_SPEC } from '../src/reference.js';

const args = process.argv.slice(2);
const backend = args.includes('--backend') ? (args[args.indexOf('--backend') + 1] as 'cpu' | 'wasm') : 'cpu';
await selectBackend({ prefer: backend });

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function timeMs(fn: () => void, minMs = 300, maxReps = 50): number {
  fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 3 || (performance.now() - start < minMs && times.length < maxReps)) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

// [batch, m, k, n, transposeB]: projections (B*T x d x 3d, 4d), attention scores and values.
const shapes: [number, number, number, number, boolean][] = [
  [1, 6144, 128, 384, false],
  [1, 6144, 128, 512, false],
  [1, 6144, 512, 128, false],
  [256, 96, 32, 96, true],
  [256, 96, 96, 32, false],
];

console.log(`machine: ${cpus()[0]?.model ?? 'unknown'} x${cpus().length}; backend ${backend}`);
const report = registerNativeKernels({ backends: [backend] });
unregisterNativeKernels();
console.log(
  `native: ${report.available ? `${report.blas?.library} ${report.blas?.coreType}, ${report.threads} threads` : report.reason}`,
);
if (!args.includes('--no-sgemm')) console.log('\nsgemm GFLOP/s (plain | native)');
for (const [batch, m, k, n, tb] of args.includes('--no-sgemm') ? [] : shapes) {
  const a = tf.randomNormal(batch > 1 ? [batch, m, k] : [m, k]);
  const b = tf.randomNormal(batch > 1 ? [batch, tb ? n : k, tb ? k : n] : [k, n]);
  const run = () => tf.matMul(a, b, false, tb).dispose();
  const flop = 2 * batch * m * n * k;
  const plain = timeMs(run, 300, 5);
  let native = NaN;
  if (report.available) {
    registerNativeKernels({ backends: [backend] });
    native = timeMs(run);
    unregisterNativeKernels();
  }
  const g = (ms: number) => (flop / ms / 1e6).toFixed(1).padStart(7);
  console.log(
    `  ${`${batch}x[${m}x${k}]x[${k}x${n}]${tb ? 'T' : ''}`.padEnd(28)} ${g(plain)} | ${g(native)}`,
  );
  tf.dispose([a, b]);
}

if (args.includes('--workload') || args.includes('--plain-workload')) {
  const spec = REFERENCE_SPEC;
  console.log(
    `\nreference step (d ${spec.width}, ${spec.layers} layers, ${spec.heads} heads, T ${spec.seq}, batch ${spec.batch}):`,
  );
  const configs: [string, boolean][] = [];
  if (args.includes('--plain-workload')) configs.push([`${backend} plain`, false]);
  if (report.available) configs.push([`${backend} + native`, true]);
  for (const [label, native] of configs) {
    if (native) registerNativeKernels({ backends: [backend] });
    const model = makeReferenceModel(spec, 1);
    const timed = args.includes('--steps') ? Number(args[args.indexOf('--steps') + 1]) : 3;
    const steps = native ? timed + 1 : 2;
    const times: number[] = [];
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      model.step();
      times.push(performance.now() - t0);
    }
    model.dispose();
    unregisterNativeKernels();
    console.log(
      `  ${label.padEnd(16)} ${median(times.slice(1)).toFixed(0)} ms/step (first ${times[0]!.toFixed(0)}; timed ${times
        .slice(1)
        .map((t) => t.toFixed(0))
        .join(' ')})`,
    );
  }
}
console.log('\n', JSON.stringify(nativeKernelsReport()));
