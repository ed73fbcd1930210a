// Several replicas of one model behind one RemotePolicy: requests spread by least outstanding
// requests, a replica that stops answering is marked unhealthy and its requests go elsewhere, it
// is probed and taken back once it answers; the results equal one server's, and the accounting
// (calls, attempts, retries, per-replica counters) adds up. Real `vzero serve` servers on loopback.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError, selectBackend, type Prompt, type SamplingOptions } from '@vzero/core';
import type { LocalPolicy } from '@vzero/model';
import { startServer, type RunningServer } from '@vzero/serve';
import { RemoteError, RemotePolicy, type RemoteStats } from '../src/index.js';
import { STUDENT_PRESET, TEACHER_PRESET, checkpoint, examples, tempRoot } from './fixtures.js';

const OPTIONS: SamplingOptions = { n: 2, temperature: 1, topP: 1, topK: 0, maxTokens: 5, seed: 23 };
const FAST = { backoffMs: 20, maxBackoffMs: 200, probeIntervalMs: 50 } as const;

function expectExact(s: RemoteStats, calls: number): void {
  expect(s.calls).toBe(calls);
  expect(s.succeeded).toBe(calls);
  expect(s.failed).toBe(0);
  expect(s.inFlight).toBe(0);
  expect(s.attempts).toBe(s.calls + s.retries);
  expect(s.replicas.reduce((a, r) => a + r.attempts, 0)).toBe(s.attempts);
  expect(s.replicas.reduce((a, r) => a + r.succeeded, 0)).toBe(s.succeeded);
  expect(s.replicas.reduce((a, r) => a + r.failed, 0)).toBe(s.retries);
}

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('RemotePolicy over several replicas', () => {
  let cleanup: () => Promise<void>;
  let local: LocalPolicy;
  let teacherLocal: LocalPolicy;
  let studentDir: string;
  let teacherDir: string;
  let prompts: Prompt[];
  const servers: RunningServer[] = [];
  const posts: number[] = [0, 0, 0];

  async function serve(i: number, port = 0): Promise<RunningServer> {
    const s = await startServer({
      checkpoint: studentDir,
      port,
      logger: (l) => {
        if (l.startsWith('POST')) posts[i] = (posts[i] ?? 0) + 1;
      },
    });
    servers[i] = s;
    return s;
  }

  beforeAll(async () => {
    await selectBackend({ prefer: 'cpu' });
    const tmp = await tempRoot();
    cleanup = tmp.cleanup;
    const s = await checkpoint(tmp.root, 'student', STUDENT_PRESET);
    const t = await checkpoint(tmp.root, 'teacher', TEACHER_PRESET);
    local = s.local;
    teacherLocal = t.local;
    studentDir = s.dir;
    teacherDir = t.dir;
    for (let i = 0; i < 3; i++) await serve(i);
    prompts = (await examples(12)).map((e) => e.student);
  });

  afterAll(async () => {
    for (const s of servers) await s?.close();
    local?.model.dispose();
    teacherLocal?.model.dispose();
    await cleanup?.();
  });

  it('spreads requests over the replicas and gives the one-server results', async () => {
    posts.fill(0);
    const remote = await RemotePolicy.connect({
      baseUrl: servers.map((s) => s.url),
      model: 'student',
      concurrency: 2,
    });
    const got = await remote.sample(prompts, OPTIONS);
    const want = await local.sample(prompts, OPTIONS);
    got.forEach((group, i) => group.forEach((r, g) => expect(r.tokenIds).toEqual(want[i]![g]!.tokenIds)));
    const s = remote.stats();
    expectExact(s, 3 + prompts.length); // one GET /v1/models per replica, one POST per prompt
    expect(s.retries).toBe(0);
    // 12 requests, at most 2 in flight per replica, least outstanding first: every replica
    // serves some, and each server saw exactly the POSTs the client counted for it.
    expect(posts).toEqual(s.replicas.map((r) => r.attempts - 1));
    expect(Math.min(...posts)).toBeGreaterThanOrEqual(2);
    expect(s.replicas.every((r) => r.healthy)).toBe(true);
    remote.close();
  });

  it('moves the requests of a replica that goes down, probes it, and takes it back when it answers', async () => {
    const lines: string[] = [];
    posts.fill(0);
    let firstOnB: () => void = () => {};
    const reachedB = new Promise<void>((ok) => (firstOnB = ok));
    const b = servers[1] as RunningServer;
    const port = b.port;
    await b.close();
    // B again, telling us when its first POST arrives.
    servers[1] = await startServer({
      checkpoint: studentDir,
      port,
      logger: (l) => {
        if (l.startsWith('POST')) firstOnB();
      },
    });
    const remote = await RemotePolicy.connect({
      baseUrl: servers.map((s) => s.url),
      model: 'student',
      concurrency: 1,
      ...FAST,
      logger: (l) => lines.push(l),
    });
    const run = remote.sample(prompts, OPTIONS);
    await reachedB;
    await (servers[1] as RunningServer).close(); // finishes what it holds, then refuses connections
    const got = await run;
    const want = await local.sample(prompts, OPTIONS);
    got.forEach((group, i) => group.forEach((r, g) => expect(r.tokenIds).toEqual(want[i]![g]!.tokenIds)));
    let s = remote.stats();
    expectExact(s, 3 + prompts.length);
    expect(s.replicas[1]?.healthy).toBe(false);
    expect(s.replicas[1]?.markedUnhealthy).toBe(1);
    expect(s.failures.network).toBeGreaterThan(0);
    expect(lines.some((l) => l.includes(`replica ${servers[1]?.url} unhealthy`))).toBe(true);

    // Back on the same port: the probe finds it and it takes requests again.
    await serve(1, port);
    posts.fill(0);
    await until('the replica to be taken back', () => remote.stats().replicas[1]?.healthy === true);
    s = remote.stats();
    expect(s.replicas[1]?.recovered).toBe(1);
    expect(s.replicas[1]?.probes).toBeGreaterThan(0);
    const before = s.replicas.map((r) => r.attempts);
    const again = await remote.sample(prompts, OPTIONS);
    again.forEach((group, i) => group.forEach((r, g) => expect(r.tokenIds).toEqual(want[i]![g]!.tokenIds)));
    s = remote.stats();
    expectExact(s, 3 + 2 * prompts.length);
    const added = s.replicas.map((r, i) => r.attempts - (before[i] ?? 0));
    expect(added.reduce((a, x) => a + x, 0)).toBe(prompts.length);
    expect(Math.min(...added)).toBeGreaterThanOrEqual(2);
    expect(posts[1]).toBe(added[1]);
    expect(lines.some((l) => l.includes('answers again'))).toBe(true);
    remote.close();
  });

  it('scores (teacher replay) the same through three replicas as through one', async () => {
    const teacherServers = [
      await startServer({ checkpoint: teacherDir, port: 0 }),
      await startServer({ checkpoint: teacherDir, port: 0 }),
    ];
    try {
      const ex = await examples(6);
      const requests = ex.map((e, i) => ({ prompt: e.positive, responseTokenIds: [3 + (i % 4), 4, 5] }));
      const one = await RemotePolicy.connect({ baseUrl: teacherServers[0]!.url, model: 'teacher' });
      const two = await RemotePolicy.connect({
        baseUrl: teacherServers.map((s) => s.url),
        model: 'teacher',
        concurrency: 1,
      });
      const a = await one.score(requests, { topK: 3 });
      const b = await two.score(requests, { topK: 3 });
      expect(b.map((r) => Array.from(r.logprobs))).toEqual(a.map((r) => Array.from(r.logprobs)));
      expect(b.map((r) => r.topK)).toEqual(a.map((r) => r.topK));
      const s = two.stats();
      expect(s.replicas.every((r) => r.succeeded > 1)).toBe(true);
      expectExact(s, s.calls);
    } finally {
      for (const s of teacherServers) await s.close();
    }
  });

  it('starts with a replica that does not answer (unhealthy, probed) and fails when none answers', async () => {
    const lines: string[] = [];
    const down = 'http://127.0.0.1:9';
    const remote = await RemotePolicy.connect({
      baseUrl: [down, servers[0]!.url],
      model: 'student',
      maxRetries: 1,
      ...FAST,
      logger: (l) => lines.push(l),
    });
    expect(remote.stats().replicas.map((r) => r.healthy)).toEqual([false, true]);
    const got = await remote.sample(prompts.slice(0, 2), OPTIONS);
    expect(got).toHaveLength(2);
    expect(remote.stats().replicas[0]?.attempts).toBe(2); // the connect attempts only
    remote.close();
    await expect(
      RemotePolicy.connect({ baseUrl: [down, 'http://127.0.0.1:7'], model: 'student', maxRetries: 0 }),
    ).rejects.toBeInstanceOf(RemoteError);
  });

  it('names the replica that serves something else, and rejects a URL listed twice', async () => {
    const teacher = await startServer({ checkpoint: teacherDir, port: 0 });
    try {
      const err = await RemotePolicy.connect({
        baseUrl: [servers[0]!.url, teacher.url],
        model: 'student',
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidInputError);
      expect((err as Error).message).toMatch(
        /options\.model = "student": student is not served at http:\/\/127\.0\.0\.1:\d+; served: teacher/,
      );
      const twice = await RemotePolicy.connect({
        baseUrl: [servers[0]!.url, `${servers[0]!.url}/v1/`],
        model: 'student',
      }).catch((e: unknown) => e);
      expect((twice as Error).message).toMatch(/options\.baseUrl\[1\] = .*listed twice/);
    } finally {
      await teacher.close();
    }
  });

  it('picks the first served model when none is named', async () => {
    const remote = await RemotePolicy.connect({ baseUrl: [servers[0]!.url, servers[2]!.url] });
    expect(remote.model).toBe('student');
    expect(remote.server.vzero_image_slots).toEqual([{ role: 'full', size: 16 }]);
    remote.close();
  });
});
