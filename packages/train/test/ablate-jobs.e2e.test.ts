// `vzero ablate --jobs N`: in-process runs N at a time, each in a process of its own
// (src/ablate/worker.ts). The report is the one of runs made one at a time in this process, and a
// run that fails in its process ends the ablation naming the run and the child's last lines.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ablatePreset, type AblatePreset } from '../src/ablate/presets.js';
import { runAblate } from '../src/ablate/run.js';
import type { AblateReport } from '../src/ablate/report.js';
import { outcome } from './ablate-outcome.js';
import { makeFixture, type Fixture } from './fixture.js';

let f: Fixture;
beforeAll(async () => {
  f = await makeFixture({ train: 6, val: 4, test: 4, 'test-counter-prior': 4 });
}, 120_000);
afterAll(async () => {
  await rm(f.root, { recursive: true, force: true });
});

/** smoke's Base, OPD and V-Zero. */
function spec(): AblatePreset {
  const smoke = ablatePreset('smoke');
  return { ...smoke, arms: smoke.arms.filter((a) => ['base', 'opd', 'vzero'].includes(a.id)) };
}

const ablate = async (name: string, jobs: number, preset = spec()) => {
  const lines: string[] = [];
  const out = join(f.root, name);
  const { report } = await runAblate(
    { preset, out, docs: out, models: f.models, world: f.world, jobs },
    (l) => lines.push(l),
  );
  return { report, lines };
};

describe('vzero ablate --jobs', () => {
  it('makes the report of one run at a time, with runs in processes of their own', async () => {
    const one = await ablate('jobs-1', 1);
    const two = await ablate('jobs-2', 2);
    expect(two.report.runs).toHaveLength(4);
    expect(outcome(two.report)).toEqual(outcome(one.report));
    // The children's log lines reach the log: every run's evaluations, from its own process.
    for (const arm of ['opd', 'vzero'])
      for (const seed of [0, 1])
        expect(two.lines).toContain(`  ${arm} seed ${seed} step 2 val: ${pct(two.report, arm, seed)}%`);
    // A second pass reuses every run without starting a process.
    const again = await ablate('jobs-2', 2);
    expect(again.lines.filter((l) => l.startsWith('  reusing '))).toHaveLength(4);
    expect(outcome(again.report)).toEqual(outcome(two.report));
  }, 300_000);

  it('ends the ablation naming a run that fails in its process', async () => {
    const broken = spec();
    // A learning rate the run's config check refuses, in the run's own process.
    const bad = {
      ...broken,
      arms: broken.arms.map((a) => (a.id === 'opd' ? { ...a, train: { optim: { lr: -1 } } } : a)),
    };
    await expect(ablate('jobs-bad', 2, bad as AblatePreset)).rejects.toThrow(
      /opd-seed[01]: its process exited with 1:[\s\S]*optim\.lr/,
    );
    // The runs still going were stopped and waited for: nothing writes into the folder any more,
    // so it can be removed at once (a child still writing made this fail with ENOTEMPTY).
    await rm(join(f.root, 'jobs-bad'), { recursive: true });
  }, 300_000);
});

function pct(r: AblateReport, arm: string, seed: number): string {
  const run = r.runs.find((x) => x.arm === arm && x.seed === seed);
  return ((run?.curve.find((c) => c.step === 2)?.val ?? Number.NaN) * 100).toFixed(1);
}
