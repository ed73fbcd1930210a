// Gate throughput at the reference scale: 32 prompts x G = 8 rollouts, responses up to 2048
// tokens (about 3/4 real). Run: npx tsx packages/gate/bench/gate.bench.ts
import { performance } from 'node:perf_hooks';
import { Rng } from '@vzero/core';
import { computeGate, computeTokenGate, type GateSequence } from '../src/index.js';

const prompts = 32;
const g = 8;
const t = 2048;
const rng = new Rng(7);
const batch: GateSequence[] = [];
for (let p = 0; p < prompts; p++) {
  for (let k = 0; k < g; k++) {
    const len = Math.floor(t * (0.5 + 0.5 * rng.float()));
    const positive = new Float32Array(t);
    const negative = new Float32Array(t);
    const mask = new Uint8Array(t);
    for (let i = 0; i < t; i++) {
      positive[i] = -3 * rng.float();
      negative[i] = -3 * rng.float();
      mask[i] = i < len ? 1 : 0;
    }
    batch.push({ group: `prompt-${p}`, positive, negative, mask });
  }
}

for (let i = 0; i < 5; i++) computeGate(batch); // warm-up
const runs = 50;
const start = performance.now();
for (let i = 0; i < runs; i++) computeGate(batch);
const ms = (performance.now() - start) / runs;
const tokens = computeGate(batch).diagnostics.tokens;
console.log(
  `computeGate: ${prompts * g} sequences x ${t} positions (${tokens} real tokens): ${ms.toFixed(2)} ms/batch, ${(((tokens / ms) * 1e3) / 1e6).toFixed(1)} M tokens/s`,
);

for (let i = 0; i < 5; i++) computeTokenGate(batch); // warm-up
const startToken = performance.now();
for (let i = 0; i < runs; i++) computeTokenGate(batch);
const msToken = (performance.now() - startToken) / runs;
console.log(
  `computeTokenGate: the same batch: ${msToken.toFixed(2)} ms/batch, ${(((tokens / msToken) * 1e3) / 1e6).toFixed(1)} M tokens/s`,
);
