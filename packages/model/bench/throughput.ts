// Throughput of the default presets: student rollout tokens/s, teacher-scored tokens/s (two
// views per response, as in V-Zero's replay) and supervised training steps/s, with and without
// the KV cache and prefix sharing, on each backend.
//   npx tsx packages/model/bench/throughput.ts [cpu|wasm ...]
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '@vzero/core';
import type { BackendName, ImagePixels, Prompt, PromptImage } from '@vzero/core';
import { AdamW, LocalPolicy, MODEL_PRESETS, Tokenizer, createModel, supervisedStep } from '../src/index.js';
import type { LocalPolicyOptions, ModelPreset } from '../src/index.js';

const WORDS = Array.from({ length: 120 }, (_, i) => `w${i}`);
const tokenizer = Tokenizer.fromWords(WORDS);
const PROMPTS = 4;
const G = 8;
const RESPONSE = 12;

function pixels(size: number, seed: number): ImagePixels {
  const data = new Float32Array(size * size * 3);
  for (let i = 0; i < data.length; i++) data[i] = ((i * 7919 + seed * 104729) % 251) / 250;
  return { width: size, height: size, channels: 3, data };
}

function prompts(withCrop: boolean, cropSeed = 0): Prompt[] {
  return Array.from({ length: PROMPTS }, (_, i) => {
    const images: PromptImage[] = [{ id: `full${i}`, role: 'full', pixels: pixels(128, i) }];
    if (withCrop)
      images.push({ id: `crop${i}-${cropSeed}`, role: 'crop', pixels: pixels(40, 100 + i + cropSeed) });
    return { id: `p${i}`, images, text: WORDS.slice(i, i + 14).join(' ') };
  });
}

function policy(preset: ModelPreset, options: LocalPolicyOptions): LocalPolicy {
  return new LocalPolicy(createModel({ ...preset, vocabSize: tokenizer.size }), tokenizer, options);
}

async function timed<T>(f: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const t0 = performance.now();
  const value = await f();
  return { value, seconds: (performance.now() - t0) / 1000 };
}

const MODES: [string, LocalPolicyOptions][] = [
  ['cache+share', {}],
  ['cache, no share', { sharePrefix: false }],
  ['no cache', { useCache: false, sharePrefix: false }],
];

async function bench(backend: BackendName): Promise<void> {
  await selectBackend({ prefer: backend });
  console.log(`\n## backend ${backend}`);
  const student = prompts(false);
  for (const [mode, options] of MODES) {
    const p = policy(MODEL_PRESETS.student, options);
    const opts = { n: G, temperature: 1, topP: 1, topK: 0, maxTokens: RESPONSE, seed: 1, stop: [] };
    await p.sample(student.slice(0, 1), { ...opts, n: 1, maxTokens: 2 });
    const { value, seconds } = await timed(() => p.sample(student, opts));
    const tokens = value.flat().reduce((n, r) => n + r.tokenIds.length, 0);
    console.log(
      `student rollout  ${mode.padEnd(16)} ${(tokens / seconds).toFixed(1).padStart(8)} tokens/s (${tokens} tokens, ${seconds.toFixed(2)} s)`,
    );
    p.model.dispose();
  }
  const pos = prompts(true, 0);
  const neg = prompts(true, 1);
  const responses = Array.from({ length: PROMPTS * G }, (_, j) =>
    Array.from({ length: RESPONSE }, (_, t) => 5 + ((j * 13 + t * 7) % WORDS.length)),
  );
  const requests = responses.flatMap((r, j) => [
    { prompt: pos[Math.floor(j / G)]!, responseTokenIds: r },
    { prompt: neg[Math.floor(j / G)]!, responseTokenIds: r },
  ]);
  for (const [mode, options] of MODES) {
    const p = policy(MODEL_PRESETS.teacher, options);
    await p.score(requests.slice(0, 2));
    const { seconds } = await timed(() => p.score(requests));
    const tokens = requests.length * RESPONSE;
    console.log(
      `teacher scoring  ${mode.padEnd(16)} ${(tokens / seconds).toFixed(1).padStart(8)} tokens/s (${requests.length} requests x ${RESPONSE}, ${seconds.toFixed(2)} s)`,
    );
    p.model.dispose();
  }
  for (const [name, preset, ps] of [
    ['student', MODEL_PRESETS.student, student],
    ['teacher', MODEL_PRESETS.teacher, pos],
  ] as const) {
    const p = policy(preset, {});
    const batch = p.batch(
      Array.from({ length: 16 }, (_, i) => ps[i % ps.length]!),
      Array.from({ length: 16 }, (_, i) => responses[i]!),
    );
    const opt = new AdamW(p.model.trainableVariables);
    supervisedStep(p.model, opt, batch, { lr: 1e-3, gradClip: 1 });
    const steps = 3;
    const { seconds } = await timed(async () => {
      for (let i = 0; i < steps; i++) supervisedStep(p.model, opt, batch, { lr: 1e-3, gradClip: 1 });
    });
    console.log(
      `${name} training (batch 16, ${p.model.parameterCount} params) ${(steps / seconds).toFixed(2)} steps/s`,
    );
    opt.dispose();
    p.model.dispose();
  }
  console.log(`tensors alive: ${tf.memory().numTensors}`);
}

const backends = (process.argv.slice(2).length ? process.argv.slice(2) : ['wasm', 'cpu']) as BackendName[];
for (const b of backends) await bench(b);
