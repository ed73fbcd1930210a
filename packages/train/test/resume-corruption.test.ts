// Property: whatever bytes of a run's checkpoints are damaged, --resume either refuses with one
// clear line (exit code 1) or continues bit-identically to the uninterrupted run (from the
// newest checkpoint that is still intact). Damage is drawn from a seeded generator: random files
// of the checkpoints folder (weights, index, configs, optimizer state, manifests, latest.json),
// 1 to 200 bytes each, in one, two or all three checkpoints.
import { beforeAll, describe, expect, it } from 'vitest';
import { cp, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { Rng } from '@vzero/core';
import { run } from './cli-run.js';
import { makeFixture, tinyConfig, type Fixture } from './fixture.js';

const TRIALS = 12;
let f: Fixture;
let base: string;
let expected: Record<string, unknown>[];

async function stepRecords(dir: string) {
  return (await readFile(join(dir, 'metrics.jsonl'), 'utf8'))
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => r['event'] === undefined)
    .map(({ time: _t, tokensPerSecond: _s, timestamp: _w, ...rest }) => rest);
}

async function config(out: string, steps: number) {
  const file = join(f.root, `config-${steps}-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(file, JSON.stringify(tinyConfig(f, out, { steps, checkpointEvery: 1, checkpointKeep: 0 })));
  return file;
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else out.push(p);
  }
  return out.sort();
}

beforeAll(async () => {
  f = await makeFixture();
  base = join(f.root, 'base');
  expect((await run(['train', '--config', await config(base, 3)])).code).toBe(0);
  const straight = join(f.root, 'straight');
  expect((await run(['train', '--config', await config(straight, 4)])).code).toBe(0);
  expected = await stepRecords(straight);
}, 300_000);

describe('resume after random damage to checkpoints', () => {
  it(`refuses clearly or resumes bit-identically (${TRIALS} seeded trials)`, async () => {
    const rng = new Rng(20240614);
    const outcomes: string[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const dir = join(f.root, `trial-${trial}`);
      await cp(base, dir, { recursive: true });
      // How many checkpoints to damage, newest first: 1 (most trials), 2, or all 3.
      const depth = trial % 4 === 3 ? 3 : trial % 4 === 2 ? 2 : 1;
      const damaged: string[] = [];
      for (let c = 0; c < depth; c++) {
        const folder = join(dir, 'checkpoints', `step-00000${3 - c}`);
        const candidates = await filesUnder(folder);
        if (c === 0) candidates.push(join(dir, 'checkpoints', 'latest.json'));
        const file = candidates[rng.int(0, candidates.length)] as string;
        const bytes = await readFile(file);
        const count = Math.min(bytes.length, rng.int(1, 201));
        for (let i = 0; i < count; i++) {
          const at = rng.int(0, bytes.length);
          bytes[at] = (bytes[at] as number) ^ rng.int(1, 256);
        }
        await writeFile(file, bytes);
        damaged.push(`${relative(dir, file)} (${count} bytes of ${(await stat(file)).size})`);
      }
      const cfg = await config(dir, 3);
      const r = await run(['train', '--config', cfg, '--resume', '--set', 'steps=4']);
      const where = `trial ${trial}: ${damaged.join(', ')}\n${r.err}`;
      if (r.code === 0) {
        expect(await stepRecords(dir), where).toEqual(expected);
        // Damage that leaves a file's bytes as they were cannot happen (every byte is XORed with
        // a non-zero value), so the resumed checkpoint must be one whose files were not touched.
        const from = r.err.match(/resumed from .*(step-\d+)/)?.[1] as string;
        expect(
          damaged.some((d) => d.startsWith(`checkpoints/${from}/`) && !d.includes('manifest.json')),
          where,
        ).toBe(false);
        outcomes.push(`resumed (${from})`);
      } else {
        expect(r.code, where).toBe(1);
        const errors = r.err.split('\n').filter((l) => l.startsWith('error: '));
        expect(errors, where).toHaveLength(1);
        expect(errors[0], where).toMatch(/no intact checkpoint to resume from/);
        outcomes.push('refused');
      }
    }
    // Both outcomes occur over the trials.
    expect(outcomes).toContain('refused');
    expect(outcomes.some((o) => o.startsWith('resumed'))).toBe(true);
  }, 600_000);
});
