// What per-prompt seeding costs: rollout's sample() on a policy without samplingSeedScope
// (one policy call per prompt) against one batched policy call over the same prompts.
// Run: cd packages/rollout && npx tsx bench/sample.bench.ts [preset] [prompts] [n] [maxTokens]
import { cpus } from 'node:os';
import { formatBackendReport, selectBackend, type Prompt } from '@vzero/core';
import { LocalPolicy, MODEL_PRESETS, Tokenizer, createModel, type ModelPresetName } from '@vzero/model';
import { sample } from '../src/index.js';

const [presetName = 'student', promptCount = '16', n = '8', maxTokens = '16'] = process.argv.slice(2);
const words = [
  'what',
  'colour',
  'is',
  'the',
  'sign',
  '?',
  'A',
  'B',
  'C',
  'D',
  'red',
  'green',
  'blue',
  'yellow',
];

const report = await selectBackend();
const tokenizer = Tokenizer.fromWords(words);
const preset = MODEL_PRESETS[presetName as ModelPresetName];
const policy = new LocalPolicy(createModel({ ...preset, vocabSize: tokenizer.size }), tokenizer);
const prompts: Prompt[] = Array.from({ length: Number(promptCount) }, (_, i) => ({
  id: `q${i}`,
  images: preset.images.map((slot, k) => ({
    id: `img-${i}-${k}`,
    role: slot.role,
    pixels: {
      width: slot.size,
      height: slot.size,
      channels: 3,
      data: new Float32Array(slot.size * slot.size * 3).map((_v, j) => ((i * 7 + j) % 13) / 13),
    },
  })),
  text: 'what colour is the sign ? A red B green C blue D yellow',
}));
// A long stop-free run: every rollout decodes maxTokens tokens.
const options = { n: Number(n), temperature: 1, topP: 1, topK: 0, maxTokens: Number(maxTokens), seed: 1 };

async function time(label: string, run: () => Promise<unknown>): Promise<void> {
  await run(); // warm-up
  const runs: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    await run();
    runs.push(performance.now() - t0);
  }
  runs.sort((a, b) => a - b);
  console.log(`${label}: median ${(runs[1]! / 1000).toFixed(2)} s (min ${(runs[0]! / 1000).toFixed(2)} s)`);
}

console.log(formatBackendReport(report));
console.log(
  `${cpus().length} cores (${cpus()[0]?.model}); preset ${presetName}, ${prompts.length} prompts x n=${n}, maxTokens ${maxTokens}`,
);
await time('rollout sample(), one policy call per prompt', () => sample(policy, prompts, options));
await time('one batched policy.sample call', () => policy.sample(prompts, options));
policy.model.dispose();
