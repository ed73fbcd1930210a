// What the checkpoint checksums cost a training run (issue 14: at most a few percent of a step).
// Trains the demo's model sizes (random init; speed does not depend on the weights) with a
// checkpoint after every step, then times, on the checkpoints it wrote, exactly the work the
// checksums add: hashing the weights in memory when the model is saved, hashing every file of
// the folder for its manifest, and verifying a folder on resume.
//   node --import tsx packages/train/scripts/bench-checksums.ts [steps]
import { mkdtemp, readFile, readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createModel, resolveModelConfig, saveCheckpoint, sha256 } from '@vzero/model';
import { generateWorld } from '@vzero/world';
import { parseTrainConfig } from '../src/config.js';
import { listCheckpoints, verifyCheckpoint } from '../src/run/run-dir.js';
import { setupTensors } from '../src/tensors.js';
import { train } from '../src/trainer.js';
import { tokenizerDefaults, worldTokenizer } from '../src/world-tokenizer.js';

const steps = Number(process.argv[2] ?? 6);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await files(p)));
    else out.push(p);
  }
  return out;
}

const setup = await setupTensors((l) => console.error(l));
const root = await mkdtemp(join(tmpdir(), 'vzero-bench-sum-'));
await generateWorld({ out: join(root, 'world'), split: 'train', n: 32, seed: 1 });
const tokenizer = worldTokenizer(); // what `vzero pretrain` gives a new model
const models = { student: join(root, 'student'), teacher: join(root, 'teacher') };
for (const role of ['student', 'teacher'] as const) {
  const m = createModel(
    resolveModelConfig(role, { ...tokenizerDefaults(tokenizer), vocabSize: tokenizer.size }),
  );
  await saveCheckpoint(models[role], m, tokenizer);
  m.dispose();
}
const out = join(root, 'run');
const config = parseTrainConfig({
  method: 'vzero',
  steps,
  out,
  checkpointEvery: 1,
  checkpointKeep: 0,
  data: { dir: join(root, 'world'), split: 'train' },
  models,
  eval: { splits: [] },
});
const result = await train(config);
result.student.model.dispose();
// The first step pays for heap growth and view caching; the median of the rest is the step.
const stepMs = median(result.records.slice(1).map((r) => r.time['total'] as number));

const saveHash: number[] = [];
const manifestHash: number[] = [];
const verify: number[] = [];
let bytes = 0;
for (const ref of await listCheckpoints({
  root: out,
  metricsPath: '',
  checkpointsDir: join(out, 'checkpoints'),
})) {
  const all = (await files(ref.folder)).filter((p) => !p.endsWith('manifest.json'));
  bytes = (await Promise.all(all.map((p) => stat(p)))).reduce((n, s) => n + s.size, 0);
  const weights = await readFile(join(ref.folder, 'student', 'weights.bin'));
  let t = performance.now();
  sha256(weights);
  sha256(await readFile(join(ref.folder, 'student', 'weights.json'), 'utf8'));
  saveHash.push(performance.now() - t);
  t = performance.now();
  for (const p of all) sha256(await readFile(p));
  manifestHash.push(performance.now() - t);
  t = performance.now();
  const v = await verifyCheckpoint(ref);
  verify.push(performance.now() - t);
  if (v.problem) throw new Error(`${relative(out, ref.folder)}: ${v.problem}`);
}
const perCheckpoint = median(saveHash) + median(manifestHash);
const report = {
  backend: setup.backend.chosen,
  steps,
  stepMs: Number(stepMs.toFixed(1)),
  checkpointMB: Number((bytes / 1e6).toFixed(2)),
  checksumMsPerCheckpoint: Number(perCheckpoint.toFixed(2)),
  verifyMsOnResume: Number(median(verify).toFixed(2)),
  overheadCheckpointEveryStep: `${((100 * perCheckpoint) / stepMs).toFixed(2)}%`,
  overheadCheckpointEvery10: `${((100 * perCheckpoint) / 10 / stepMs).toFixed(3)}%`,
};
console.log(JSON.stringify(report, null, 2));
