// A training run whose teacher sits behind three `vzero serve` processes on loopback (one
// killed with SIGKILL mid-step, with requests in flight, and restarted later) completes with the
// same results as the same run against one server; the teacher's requests are spread over the
// replicas, the restarted one is taken back, and every score request was answered once.
process.env['VZERO_BACKEND'] = 'wasm'; // the served children inherit it: one backend everywhere
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { parseTrainConfig } from '../src/config.js';
import { train, type EvalRecord, type TrainHooks } from '../src/trainer.js';
import { makeFixture, tinyConfig, type Fixture } from './fixture.js';
import { serveProcess, served, type ServeProcess } from './serve-process.js';

const SCORE = '/v1/completions';
let f: Fixture;
const replicas: ServeProcess[] = [];

beforeAll(async () => {
  f = await makeFixture({ train: 6 });
  replicas.push(...(await Promise.all([0, 1, 2].map(() => serveProcess(f.models.teacher)))));
}, 180_000);

afterAll(async () => {
  for (const r of replicas) await r.kill();
});

// Plain OPD (as in remote-teacher.e2e.test.ts); an "evaluation" every 2 steps is where the test
// acts between steps (the loop awaits it), and records nothing that depends on the replicas.
const settings = (teacherUrl: string | string[]) => ({
  method: 'opd',
  steps: 6,
  views: { cropSize: 16 },
  models: { teacherUrl },
  eval: { splits: ['val'], every: 2 },
});

function hooks(at: (step: number) => Promise<void>): TrainHooks {
  return {
    evaluate: async (_student, split, step): Promise<EvalRecord> => {
      await at(step);
      return { event: 'eval', step, split, accuracy: 0, n: 0, timestamp: 'fixed' };
    },
  };
}

describe('a teacher behind several replicas', () => {
  it('trains as with one server while a replica is killed mid-step and restarted', async () => {
    const [a, b, c] = replicas as [ServeProcess, ServeProcess, ServeProcess];
    const baseline = served(a, SCORE);
    const one = await train(parseTrainConfig(tinyConfig(f, join(f.root, 'one'), settings(`${a.url}/v1`))), {
      hooks: hooks(async () => {}),
    });
    one.student.model.dispose();
    const oneScores = served(a, SCORE) - baseline;
    expect(oneScores).toBeGreaterThan(0);

    const before = [a, b, c].map((r) => served(r, SCORE));
    let killedAt = -1;
    let restarted: ServeProcess | undefined;
    const three = await train(
      parseTrainConfig(tinyConfig(f, join(f.root, 'three'), settings([a, b, c].map((r) => `${r.url}/v1`)))),
      {
        hooks: hooks(async (step) => {
          if (step === 2) {
            // SIGKILL on B's next answered score request: the others it holds die with it.
            b.watch((line) => {
              if (killedAt < 0 && line.startsWith(`POST ${SCORE} 200`)) {
                killedAt = served(b, SCORE);
                b.child.kill('SIGKILL');
              }
            });
          }
          if (step === 4) {
            await b.exited;
            restarted = await serveProcess(f.models.teacher, { port: b.port });
            replicas.push(restarted);
            // The client probes an unhealthy replica every second.
            await new Promise((ok) => setTimeout(ok, 2500));
          }
        }),
      },
    );
    three.student.model.dispose();

    expect(killedAt).toBeGreaterThan(0);
    expect(b.child.signalCode).toBe('SIGKILL');
    // Same rollouts, same teacher scores, same updates: the run does not see the replicas.
    expect(three.records.map((r) => r.rollout)).toEqual(one.records.map((r) => r.rollout));
    three.records.forEach((r, i) => {
      expect(r.loss).toBeCloseTo(one.records[i]!.loss, 6);
      expect(r.opd?.meanAbsLoss).toBeCloseTo(one.records[i]!.opd?.meanAbsLoss as number, 6);
    });
    // Spread: every replica answered score requests, the restarted one too.
    const perReplica = [a, b, c].map((r, i) => served(r, SCORE) - (before[i] ?? 0));
    const back = served(restarted as ServeProcess, SCORE);
    console.log(
      `score requests per replica: A ${perReplica[0]}, B ${perReplica[1]} (killed), C ${perReplica[2]}, B restarted ${back}; one server: ${oneScores}`,
    );
    expect(perReplica.every((n) => n > 0)).toBe(true);
    expect(back).toBeGreaterThan(0);
    // Each score request answered once: the replicas together answered what one server did.
    expect(perReplica.reduce((s, n) => s + n, 0) + back).toBe(oneScores);
  });

  it('names the config key of a replica that serves another model', async () => {
    const student = await serveProcess(f.models.student);
    replicas.push(student);
    await expect(
      train(
        parseTrainConfig(
          tinyConfig(f, join(f.root, 'mixed'), {
            models: { teacherUrl: [replicas[0]!.url, student.url], teacherModel: 'teacher' },
          }),
        ),
      ),
    ).rejects.toThrow(
      /models\.teacherModel = "teacher": teacher is not served at http:\/\/127\.0\.0\.1:\d+; served: student/,
    );
  });

  it('reads models.teacherUrl as one URL or a list of replicas, naming a bad entry', () => {
    expect(parseTrainConfig({ models: { teacherUrl: 'http://127.0.0.1:8000/v1' } }).models.teacherUrl).toBe(
      'http://127.0.0.1:8000/v1',
    );
    expect(
      parseTrainConfig({ models: { teacherUrl: ['http://127.0.0.1:8000', 'http://127.0.0.1:8001'] } }).models
        .teacherUrl,
    ).toEqual(['http://127.0.0.1:8000', 'http://127.0.0.1:8001']);
    expect(() => parseTrainConfig({ models: { teacherUrl: [] } })).toThrow(/models\.teacherUrl/);
    expect(() => parseTrainConfig({ models: { teacherUrl: ['http://127.0.0.1:8000', 'nope'] } })).toThrow(
      /models\.teacherUrl/,
    );
  });
});
