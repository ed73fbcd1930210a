// Measures the tokenizers a new model can be pretrained with (docs/results/tokenizer.md): tokens
// per prompt and response on the world's val split, pretraining step time, and val accuracy after
// the same number of steps, for the word vocabulary with the byte fallback, byte-level BPE learned
// from the world's corpus, and plain bytes. Same data, seed, model and steps for each.
//   nice -n 10 node --import tsx packages/train/scripts/measure-tokenizers.ts \
//     [steps] [train n] [val n] [role] [order, e.g. words,bpe,bytes] [seed]
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatPrompt, generateWorld, loadLabelled, referenceResponse } from '@vzero/world';
import { runPretrain } from '../src/commands/pretrain.js';
import { worldTokenizer, type TokenizerChoice } from '../src/world-tokenizer.js';

const steps = Number(process.argv[2] ?? 150);
const nTrain = Number(process.argv[3] ?? 512);
const nVal = Number(process.argv[4] ?? 128);
const role = (process.argv[5] ?? 'student') as 'student' | 'teacher';
// An arm is a tokenizer, or tokenizer@positions for a model with that many text positions
// (default: room for the longest world text, at least the presets' 64).
const arms = (process.argv[6] ?? 'words,bpe,bytes').split(',').map((arm) => {
  const [choice, positions] = arm.split('@');
  return { arm, choice: choice as TokenizerChoice, positions: positions ? Number(positions) : undefined };
});
const seed = Number(process.argv[7] ?? 0);

// Free-form English prompts as V* Bench and HR-Bench write them (options as sentences).
const ENGLISH = [
  {
    question: 'What is the material of the glove?',
    options: ['rubber', 'cotton', 'leather', 'wool'].map((m) => `The material of the glove is ${m}.`),
  },
  {
    question: "What is the color of the woman's shirt?",
    options: ['blue', 'red', 'white', 'black'].map((c) => `The color of the woman's shirt is ${c}.`),
  },
  {
    question: 'Is the red car on the left or right side of the white van?',
    options: ['left', 'right'].map((side) => `The red car is on the ${side} side of the white van.`),
  },
  {
    question: 'What does the sign above the café door say? (Übersetzung)',
    options: ['Geöffnet', 'Closed — 闭', 'Sale!', 'Exit'],
  },
];
for (const { arm, choice } of arms) {
  const t = worldTokenizer(choice);
  console.log(
    `${arm}: free-form English prompts take ${ENGLISH.map((q) => t.encode(formatPrompt(q)).length).join(', ')} tokens`,
  );
}
if (steps === 0) process.exit(0);

const root = await mkdtemp(join(tmpdir(), 'vzero-tokenizers-'));
const data = join(root, 'world');
await generateWorld({ out: data, split: 'train', n: nTrain, seed: 3 });
await generateWorld({ out: data, split: 'val', n: nVal, seed: 3 });
const val = await loadLabelled(data, 'val');
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const rows: string[] = [];
for (const { arm, choice, positions } of arms) {
  const tokenizer = worldTokenizer(choice);
  const prompts = val.map((s) => tokenizer.encode(formatPrompt(s)).length);
  const responses = val.map(
    (s) => tokenizer.encode(referenceResponse(s as Parameters<typeof referenceResponse>[0])).length,
  );
  const longest = Math.max(...val.map((_s, i) => prompts[i]! + responses[i]! + 2));
  const r = await runPretrain(
    {
      role,
      data,
      out: join(root, arm.replace('@', '-')),
      steps,
      batchSize: 16,
      lr: 3e-3,
      seed,
      evalSplit: 'val',
      evalLimit: 0,
      tokenizer: choice,
      // Room for the longest world text (plain bytes need ~150 positions, the others ~35).
      modelOverrides: { maxTextLength: positions ?? Math.max(64, Math.ceil(longest / 16) * 16) },
    },
    (line) => console.error(line),
  );
  const row = [
    arm,
    tokenizer.size,
    mean(prompts).toFixed(1),
    mean(responses).toFixed(1),
    longest,
    ((r.trainSeconds / steps) * 1000).toFixed(0),
    (r.seconds - r.trainSeconds).toFixed(0),
    (r.eval.accuracy * 100).toFixed(1),
    r.finalLoss.toFixed(3),
  ].join(' | ');
  console.log(`| ${row} |`);
  rows.push(`| ${row} |`);
}
console.log(`steps ${steps}, train ${nTrain}, val ${nVal}, role ${role}, seed ${seed}`);
console.log(
  '| tokenizer | vocab | tokens/prompt | tokens/response | longest | ms/step | eval s | val acc % | final loss |',
);
for (const row of rows) console.log(row);
