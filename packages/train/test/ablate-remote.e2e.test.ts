// `vzero ablate` with the student behind the training API (the toolkit's own server on loopback,
// `vzero serve --api tinker`'s backend): arms whose models.student is tinker://... train through
// the service, are evaluated through its sampler, and may run several at once (--concurrency K).
// The report does not depend on K, and equals the same ablation run in-process.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ToolkitTinkerBackend } from '@vzero/serve';
import { createTinkerServer, type TinkerServer } from '@vzero/tinker';
import { ablatePreset, type AblatePreset } from '../src/ablate/presets.js';
import { runAblate } from '../src/ablate/run.js';
import { outcome } from './ablate-outcome.js';
import { makeFixture, type Fixture } from './fixture.js';

let f: Fixture;
let server: TinkerServer;
let serviceRoot: string;

beforeAll(async () => {
  f = await makeFixture({ train: 6, val: 4, test: 4, 'test-counter-prior': 4 });
  serviceRoot = await mkdtemp(join(tmpdir(), 'vzero-ablate-service-'));
  const backend = new ToolkitTinkerBackend({ baseModels: { student: f.models.student }, root: serviceRoot });
  server = await createTinkerServer({ backend });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await rm(serviceRoot, { recursive: true, force: true });
  await rm(f.root, { recursive: true, force: true });
});

/** smoke's Base, OPD and V-Zero; the student at the service when `remote`. */
function spec(remote: boolean): AblatePreset {
  const smoke = ablatePreset('smoke');
  // Adam's eps above float-rounding noise (see remote-student.e2e.test.ts): the service computes
  // the same gradients in another order.
  const train = { ...smoke.train, optim: { ...smoke.train.optim, lr: 1e-3, eps: 1e-4 } };
  return {
    ...smoke,
    arms: smoke.arms.filter((a) => ['base', 'opd', 'vzero'].includes(a.id)),
    train: remote
      ? {
          ...train,
          models: { student: 'tinker://student' },
          tinker: { baseUrl: server.url, tokenizer: f.models.student },
        }
      : train,
  } as AblatePreset;
}

const ablate = async (name: string, remote: boolean, concurrency?: number) => {
  const lines: string[] = [];
  const out = join(f.root, name);
  const { report } = await runAblate(
    {
      preset: spec(remote),
      out,
      docs: out,
      models: f.models,
      world: f.world,
      ...(concurrency !== undefined ? { concurrency } : {}),
    },
    (l) => lines.push(l),
  );
  return { report, lines };
};

describe('vzero ablate with the student at a training service', () => {
  it('runs remote arms K at once, with the report of one at a time and of the in-process ablation', async () => {
    const local = await ablate('local', false);
    const one = await ablate('remote-1', true);
    const three = await ablate('remote-3', true, 3);

    expect(one.report.runs).toHaveLength(2 * 2);
    // Every run was trained and evaluated through the service: step 0 is its starting student
    // read through the sampler, the same answers as the local starting checkpoint's.
    for (const run of one.report.runs) {
      expect(run.curve.map((c) => c.step)).toEqual([0, 1, 2]);
      expect(run.curve[0]?.correct).toEqual({
        test: one.report.starting.student.test.correct,
        counterPrior: one.report.starting.student['test-counter-prior'].correct,
      });
    }
    expect(one.report.runs.filter((r) => r.arm === 'vzero').every((r) => r.gate !== undefined)).toBe(true);

    // Three at a time: the first three runs started before any finished a step's evaluation...
    const started = (lines: string[]) => lines.filter((l) => /^run \d+\/4: /.test(l));
    const firstEval = three.lines.findIndex((l) => / step 1 /.test(l));
    expect(three.lines.indexOf(started(three.lines)[2] as string)).toBeLessThan(firstEval);
    expect(one.lines.indexOf(started(one.lines)[1] as string)).toBeGreaterThan(
      one.lines.findIndex((l) => / step 2 /.test(l)),
    );
    // ...and the report is the same, in the spec's order.
    expect(outcome(three.report)).toEqual(outcome(one.report));
    // The in-process ablation answers the same questions the same way at every evaluation.
    expect(outcome(one.report).map(({ curve }) => curve)).toEqual(
      outcome(local.report).map(({ curve }) => curve),
    );
  }, 300_000);

  it('names a bad --concurrency', async () => {
    await expect(
      runAblate(
        { preset: spec(true), out: f.root, docs: f.root, models: f.models, world: f.world, concurrency: 0 },
        () => {},
      ),
    ).rejects.toThrow(/--concurrency = 0: expected an integer >= 1/);
  });
});
