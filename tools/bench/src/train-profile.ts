// Runs the default V-Zero training loop alone (wasm + native unless VZERO_NATIVE_DISABLE=1),
// for profiling its JavaScript side with `node --cpu-prof --import tsx src/train-profile.ts DIR`.
// Prints each step's stage times.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseTrainConfig, train } from '@vzero/train';
import { makeFixture, type Fixture } from './fixture.js';
import { SIZES } from './options.js';

const dir = process.argv[2] ?? '/tmp/vzero-train-profile';
const steps = Number(process.argv[3] ?? '4');
const size = SIZES.default;
const fixture: Fixture = existsSync(join(dir, 'fixture.json'))
  ? (JSON.parse(await readFile(join(dir, 'fixture.json'), 'utf8')) as Fixture)
  : await makeFixture(dir, size);
const config = parseTrainConfig({
  method: 'vzero',
  steps,
  out: join(dir, `run-${process.pid}`),
  checkpointEvery: 0,
  data: { dir: fixture.world, split: 'train' },
  models: fixture.models,
  rollout: { n: size.g, maxTokens: size.maxTokens },
  optim: { promptsPerStep: size.prompts, miniBatches: size.miniBatches },
  eval: { splits: [] },
});
const result = await train(config, { hooks: { log: () => undefined } });
for (const r of result.records) {
  const parts = Object.entries(r.time).map(([k, v]) => `${k} ${v.toFixed(0)}`);
  console.log(parts.join(' | '));
}
result.student.model.dispose();
