// Runs the default V-Zero training loop alone (wasm + native unless VZERO_NATIVE_DISABLE=1),
// for profiling its JavaScript side with `node --cpu-prof --import tsx src/train-profile.ts DIR`.
// Prints each step's stage times.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { train } from '@vzero/train';
import { benchTrainConfig, makeFixture, type Fixture } from './fixture.js';
import { SIZES } from './options.js';

const dir = process.argv[2] ?? '/tmp/vzero-train-profile';
const steps = Number(process.argv[3] ?? '4');
const size = SIZES.default;
const fixture: Fixture = existsSync(join(dir, 'fixture.json'))
  ? (JSON.parse(await readFile(join(dir, 'fixture.json'), 'utf8')) as Fixture)
  : await makeFixture(dir, size);
const config = benchTrainConfig(fixture, size, steps, join(dir, `run-${process.pid}`));
const result = await train(config, { hooks: { log: () => undefined } });
for (const r of result.records) {
  const parts = Object.entries(r.time).map(([k, v]) => `${k} ${v.toFixed(0)}`);
  console.log(parts.join(' | '));
}
result.student.model.dispose();
