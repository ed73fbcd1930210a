// A V-Zero run with the student behind the training API (the toolkit's own server on loopback,
// `vzero serve --api tinker`'s backend) against the same run in-process, same seeds: the same
// rollouts, gate weights and losses at every step, and final weights within float tolerance;
// also for a direct estimator (k3 through cross_entropy). Then --resume from the service's
// saved state continues where an interrupted run stopped.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '@vzero/model';
import { ToolkitTinkerBackend } from '@vzero/serve';
import { createTinkerServer, type TinkerServer } from '@vzero/tinker';
import { parseTrainConfig } from '../src/config.js';
import { REMOTE_STATE_FILE, trainRemote } from '../src/remote/train.js';
import { train, type StepRecord } from '../src/trainer.js';
import { makeFixture, tinyConfig, type Fixture } from './fixture.js';

let f: Fixture;
let server: TinkerServer;
let serviceRoot: string;

beforeAll(async () => {
  f = await makeFixture({ train: 8 });
  serviceRoot = await mkdtemp(join(tmpdir(), 'vzero-service-'));
  const backend = new ToolkitTinkerBackend({ baseModels: { student: f.models.student }, root: serviceRoot });
  server = await createTinkerServer({ backend });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await rm(serviceRoot, { recursive: true, force: true });
  await rm(f.root, { recursive: true, force: true });
});

// Adam's eps well above float-rounding noise in a gradient: the two runs compute the same
// gradients in a different order (float32 rounding differs at 1e-7 relative), and with a tiny eps
// Adam's first step is lr * sign(g), which turns a gradient that is 0 up to rounding into an
// lr-sized move in either direction (see optim.eps).
// lr 1e-3 keeps the PPO ratios of the second mini-batch under the dual clip's 3, which the
// service's ppo does not have (at 1e-2 this tiny model's ratios pass 3 in its first step).
const OPTIM = { promptsPerStep: 3, miniBatches: 2, lr: 1e-3, eps: 1e-4 };

function localConfig(out: string, overrides: Record<string, unknown> = {}) {
  return tinyConfig(f, out, { optim: OPTIM, ...overrides });
}

function remoteConfig(out: string, overrides: Record<string, unknown> = {}) {
  return tinyConfig(f, out, {
    models: { ...f.models, student: 'tinker://student' },
    tinker: { baseUrl: server.url, tokenizer: f.models.student },
    optim: OPTIM,
    ...overrides,
  });
}

/** Largest |a - b| over two checkpoints' weights, and how far `a` moved from `base`. */
async function weightDiff(a: string, b: string, base: string): Promise<{ diff: number; moved: number }> {
  const [x, y, z] = await Promise.all([a, b, base].map((d) => loadCheckpoint(d)));
  let diff = 0;
  let moved = 0;
  x!.model.trainableVariables.forEach((v, i) => {
    const p = v.dataSync();
    const q = (y!.model.trainableVariables[i] as tf.Variable).dataSync();
    const r = (z!.model.trainableVariables[i] as tf.Variable).dataSync();
    for (let k = 0; k < p.length; k++) {
      diff = Math.max(diff, Math.abs((p[k] as number) - (q[k] as number)));
      moved = Math.max(moved, Math.abs((p[k] as number) - (r[k] as number)));
    }
  });
  for (const m of [x, y, z]) m!.model.dispose();
  if (process.env['VZERO_DEBUG_REMOTE'])
    console.log(`weights: max |local - remote| ${diff}, max move ${moved}`);
  return { diff, moved };
}

function expectSameSteps(local: readonly StepRecord[], remote: readonly StepRecord[]): void {
  if (process.env['VZERO_DEBUG_REMOTE'])
    for (const [i, l] of local.entries())
      console.log(
        JSON.stringify({ l: [l.loss, l.gate, l.opd], r: [remote[i]?.loss, remote[i]?.gate, remote[i]?.opd] }),
      );
  expect(remote.map((r) => r.step)).toEqual(local.map((r) => r.step));
  local.forEach((l, i) => {
    const r = remote[i]!;
    expect(r.rollout).toEqual(l.rollout);
    expect(r.negativeModes).toEqual(l.negativeModes);
    expect(r.loss).toBeCloseTo(l.loss, 4);
    for (const key of ['weightMean', 'weightStd', 'weightMin', 'weightMax', 'deltaMean'] as const) {
      expect(r.gate?.[key]).toBeCloseTo(l.gate?.[key] as number, 4);
    }
  });
}

describe('a remote student through the training API', () => {
  it('reproduces the in-process V-Zero run (k1, policy gradient through ppo)', async () => {
    const localOut = join(f.root, 'local-pg');
    const local = await train(parseTrainConfig(localConfig(localOut)));
    local.student.model.dispose();
    const remote = await trainRemote(parseTrainConfig(remoteConfig(join(f.root, 'remote-pg'))));
    expectSameSteps(local.records, remote.records);
    // The gate acted: weights differ within groups.
    expect(local.records.some((r) => (r.gate?.weightStd ?? 0) > 0)).toBe(true);
    // The dual clip (no service counterpart) never acted in this run.
    expect(local.records.every((r) => (r.opd?.clipFractionLower ?? 0) === 0)).toBe(true);
    const servicePath = remote.finalState.replace('tinker://', '');
    const { diff, moved } = await weightDiff(
      join(localOut, 'student'),
      join(serviceRoot, servicePath),
      f.models.student,
    );
    expect(moved).toBeGreaterThan(1e-4);
    expect(diff).toBeLessThan(1e-5);
  });

  it('reproduces a direct estimator (k3 through cross_entropy weights)', async () => {
    const loss = { loss: { estimator: 'k3', mode: 'direct' } };
    const localOut = join(f.root, 'local-k3');
    const local = await train(parseTrainConfig(localConfig(localOut, loss)));
    local.student.model.dispose();
    const remote = await trainRemote(parseTrainConfig(remoteConfig(join(f.root, 'remote-k3'), loss)));
    expectSameSteps(local.records, remote.records);
    const servicePath = remote.finalState.replace('tinker://', '');
    const { diff, moved } = await weightDiff(
      join(localOut, 'student'),
      join(serviceRoot, servicePath),
      f.models.student,
    );
    expect(moved).toBeGreaterThan(1e-4);
    expect(diff).toBeLessThan(1e-5);
  });

  it('reproduces the token-level gate (gate.level token: per-token weights through ppo)', async () => {
    const token = { gate: { level: 'token' } };
    const localOut = join(f.root, 'local-token');
    const local = await train(parseTrainConfig(localConfig(localOut, token)));
    local.student.model.dispose();
    const remote = await trainRemote(parseTrainConfig(remoteConfig(join(f.root, 'remote-token'), token)));
    expectSameSteps(local.records, remote.records);
    const { diff, moved } = await weightDiff(
      join(localOut, 'student'),
      join(serviceRoot, remote.finalState.replace('tinker://', '')),
      f.models.student,
    );
    expect(moved).toBeGreaterThan(1e-4);
    expect(diff).toBeLessThan(1e-5);
  });

  it('takes the teacher from the service too (prompt_logprobs of its base model), with the same run', async () => {
    const root = await mkdtemp(join(tmpdir(), 'vzero-service-teacher-'));
    const both = await createTinkerServer({
      backend: new ToolkitTinkerBackend({
        baseModels: { student: f.models.student, teacher: f.models.teacher },
        root,
      }),
    });
    try {
      const withLocalTeacher = await trainRemote(
        parseTrainConfig(remoteConfig(join(f.root, 'teacher-local'))),
      );
      const withServedTeacher = await trainRemote(
        parseTrainConfig(
          remoteConfig(join(f.root, 'teacher-served'), {
            models: { ...f.models, student: 'tinker://student', teacher: 'tinker://teacher' },
            tinker: { baseUrl: both.url, tokenizer: f.models.student, teacherTokenizer: f.models.teacher },
          }),
        ),
      );
      expectSameSteps(withLocalTeacher.records, withServedTeacher.records);
    } finally {
      await both.close();
      await rm(root, { recursive: true, force: true });
    }
  });

  it('resumes from the service state saved at the last checkpoint', async () => {
    const out = join(f.root, 'remote-resume');
    const whole = await trainRemote(parseTrainConfig(remoteConfig(join(f.root, 'remote-whole'))));
    const controller = new AbortController();
    await expect(
      trainRemote(parseTrainConfig(remoteConfig(out)), {
        hooks: {
          onStep: (r) => (r.step === 2 ? controller.abort('SIGTERM') : undefined),
          signal: controller.signal,
        },
      }),
    ).rejects.toThrow(/stopped \(SIGTERM\) after step 2/);
    const state = JSON.parse(await readFile(join(out, REMOTE_STATE_FILE), 'utf8')) as { step: number };
    expect(state.step).toBe(2);
    const resumed = await trainRemote(parseTrainConfig(remoteConfig(out)), { resume: true });
    expect(resumed.resumedFrom).toBe(2);
    expect(resumed.records.map((r) => r.step)).toEqual([3]);
    expect(resumed.records[0]!.loss).toBeCloseTo(whole.records[2]!.loss, 5);
    const a = join(serviceRoot, whole.finalState.replace('tinker://', ''));
    const b = join(serviceRoot, resumed.finalState.replace('tinker://', ''));
    expect((await weightDiff(a, b, f.models.student)).diff).toBeLessThan(1e-6);
  });

  it('stops with one line naming the endpoint when the service dies, and resumes on a restarted one', async () => {
    // A service of its own (its checkpoints in their own folder), killed during step 3 (after step 2's checkpoint).
    const root = await mkdtemp(join(tmpdir(), 'vzero-service-restart-'));
    const make = (port = 0) =>
      createTinkerServer({
        backend: new ToolkitTinkerBackend({ baseModels: { student: f.models.student }, root }),
        port,
      });
    let first = await make();
    const port = first.port;
    const config = (out: string, url: string) =>
      parseTrainConfig(
        tinyConfig(f, out, {
          models: { ...f.models, student: 'tinker://student' },
          tinker: { baseUrl: url, tokenizer: f.models.student, retries: 1, timeoutSeconds: 20 },
          optim: OPTIM,
          checkpointEvery: 1,
        }),
      );
    const whole = await trainRemote(config(join(f.root, 'restart-whole'), first.url));
    const out = join(f.root, 'restart');
    const failure = await trainRemote(config(out, first.url), {
      hooks: { onStep: (r) => (r.step === 3 ? void first.close() : undefined) },
    }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(failure).toBeInstanceOf(Error);
    const message = failure!.message;
    expect(message.split('\n')).toHaveLength(1);
    expect(message).toMatch(/\/api\/v1\/\w+/);
    // A new server on the same port finds the saved state on disk.
    first = await make(port);
    try {
      const resumed = await trainRemote(config(out, first.url), { resume: true });
      expect(resumed.resumedFrom).toBe(2);
      const a = join(root, whole.finalState.replace('tinker://', ''));
      const b = join(root, resumed.finalState.replace('tinker://', ''));
      expect((await weightDiff(a, b, f.models.student)).diff).toBeLessThan(1e-6);
    } finally {
      await first.close();
      await rm(root, { recursive: true, force: true });
    }
  });

  it('refuses what a remote student cannot do, at setup, naming the key', () => {
    expect(() => parseTrainConfig(remoteConfig('x', { method: 'sft' }))).toThrow(/method/);
    expect(() => parseTrainConfig(remoteConfig('x', { tinker: { baseUrl: 'http://127.0.0.1:1' } }))).toThrow(
      /tinker\.tokenizer/,
    );
    expect(() =>
      parseTrainConfig(remoteConfig('x', { loss: { estimator: 'forward-kl-topk', mode: 'direct' } })),
    ).toThrow(/loss\.estimator/);
  });
});
