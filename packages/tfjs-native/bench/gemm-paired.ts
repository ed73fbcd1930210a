// Paired comparison of the two GEMMs in one process: OpenBLAS and the built-in one, alternated
// shape by shape and step by step, so that a machine whose speed drifts (shared cores) moves
// both arms alike.
//   npx tsx packages/tfjs-native/bench/gemm-paired.ts [--backend wasm|cpu] [--threads N]
//     [--steps N] [--no-sgemm]
// Prints GFLOP/s per model shape and the reference transformer step (forward + backward + Adam)
// in ms for each arm: medians, and the built-in / OpenBLAS ratio. Needs an addon built with
// OpenBLAS (the built-in GEMM is always there).
import * as tf from '@tensorflow/tfjs-core';
import { cpus, loadavg } from 'node:os';
import { selectBackend } from '@vzero/core';
import {
  nativeKernelsReport,
  registerNativeKernels,
  unregisterNativeKernels,
  type GemmKind,
} from '../src/index.js';
import { makeReferenceModel, REFERENCE_SPEC } from '../src/reference.js';

const args = process.argv.slice(2);
const arg = (name: string, fallback: string) =>
  args.includes(name) ? (args[args.indexOf(name) + 1] ?? fallback) : fallback;
const backend = arg('--backend', 'wasm') as 'cpu' | 'wasm';
const threads = Number(arg('--threads', '2'));
const steps = Number(arg('--steps', '6'));
await selectBackend({ prefer: backend });

const arms: GemmKind[] = ['openblas', 'builtin'];
const use = (gemm: GemmKind) => registerNativeKernels({ backends: [backend], threads, blas: gemm });
const first = use('openblas');
if (!first.available || first.gemm?.kind !== 'openblas') {
  console.error(`needs the addon with OpenBLAS: ${first.reason ?? first.gemm?.reason ?? 'unavailable'}`);
  process.exit(1);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
console.log(
  `machine: ${cpus()[0]?.model ?? 'unknown'} x${cpus().length}; backend ${backend}; ${threads} threads`,
);
console.log(`OpenBLAS core ${first.blas?.coreType}; built-in GEMM ${use('builtin').blas?.coreType}`);
console.log(`load average at start: ${load()}`);

// [batch, m, k, n, transposeA, transposeB]: the reference's projections and their gradients,
// attention-sized batches, and the V-Zero models' shapes (width 64 and 96).
const shapes: [number, number, number, number, boolean, boolean][] = [
  [1, 6144, 128, 384, false, false],
  [1, 6144, 128, 512, false, false],
  [1, 6144, 512, 128, false, false],
  [1, 128, 6144, 384, true, false],
  [1, 6144, 384, 128, false, true],
  [256, 96, 32, 96, false, true],
  [256, 96, 96, 32, false, false],
  [1, 3168, 64, 192, false, false],
  [1, 3168, 256, 64, false, false],
  [1, 64, 96, 288, false, false],
];
if (!args.includes('--no-sgemm')) {
  console.log(
    '\nGFLOP/s, median of alternating rounds (OpenBLAS | built-in | built-in time / OpenBLAS time)',
  );
  for (const [batch, m, k, n, ta, tb] of shapes) {
    const a = tf.randomNormal(batch > 1 ? [batch, ta ? k : m, ta ? m : k] : [ta ? k : m, ta ? m : k]);
    const b = tf.randomNormal(batch > 1 ? [batch, tb ? n : k, tb ? k : n] : [tb ? n : k, tb ? k : n]);
    const flop = 2 * batch * m * n * k;
    const reps = Math.max(1, Math.round(2e8 / flop));
    const times: Record<GemmKind, number[]> = { openblas: [], builtin: [] };
    for (let round = 0; round < 7; round++) {
      for (const gemm of arms) {
        use(gemm);
        tf.matMul(a, b, ta, tb).dispose(); // warm this arm's buffers
        const t0 = performance.now();
        for (let r = 0; r < reps; r++) tf.matMul(a, b, ta, tb).dispose();
        times[gemm].push((performance.now() - t0) / reps);
      }
    }
    const o = median(times.openblas);
    const bi = median(times.builtin);
    const g = (ms: number) => (flop / ms / 1e6).toFixed(1).padStart(6);
    const label = `${batch > 1 ? `${batch}x` : ''}[${m}x${k}]${ta ? 'ᵀ' : ''}x[${k}x${n}]${tb ? 'ᵀ' : ''}`;
    console.log(`  ${label.padEnd(26)} ${g(o)} | ${g(bi)} | ${(bi / o).toFixed(2)}`);
    tf.dispose([a, b]);
  }
}

const spec = REFERENCE_SPEC;
console.log(
  `\nreference step (d ${spec.width}, ${spec.layers} layers, ${spec.heads} heads, T ${spec.seq}, batch ${spec.batch}), ms, arms alternating:`,
);
const model = makeReferenceModel(spec, 1);
const stepTimes: Record<GemmKind, number[]> = { openblas: [], builtin: [] };
for (const gemm of arms) {
  use(gemm);
  model.step(); // warm-up per arm
}
for (let i = 0; i < steps; i++) {
  for (const gemm of i % 2 === 0 ? arms : [...arms].reverse()) {
    use(gemm);
    const t0 = performance.now();
    model.step();
    stepTimes[gemm].push(performance.now() - t0);
  }
}
model.dispose();
unregisterNativeKernels();
const o = median(stepTimes.openblas);
const bi = median(stepTimes.builtin);
const list = (xs: number[]) => xs.map((t) => t.toFixed(0)).join(' ');
console.log(`  OpenBLAS  ${o.toFixed(0)} (${list(stepTimes.openblas)})`);
console.log(`  built-in  ${bi.toFixed(0)} (${list(stepTimes.builtin)})`);
console.log(`  built-in / OpenBLAS: ${(bi / o).toFixed(2)}x`);
console.log(`load average at end: ${load()}`);
console.log(JSON.stringify(nativeKernelsReport().gemm));
