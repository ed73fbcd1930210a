// Faults on loopback: the server closed and restarted mid-run, slow responses past the timeout,
// malformed JSON, 429 storms, persistent 5xx, misaligned prompt log-probs, and the API key. In
// every case the client retries or fails with a clear error, and stats() and the results show
// that no rollout or score was lost or counted twice.
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend, type Prompt, type SamplingOptions } from '@vzero/core';
import type { LocalPolicy } from '@vzero/model';
import { startServer, type RunningServer } from '@vzero/serve';
import { RemoteAlignmentError, RemoteError, RemotePolicy } from '../src/index.js';
import {
  STUDENT_PRESET,
  TEACHER_PRESET,
  checkpoint,
  examples,
  startProxy,
  tempRoot,
  type ProxyAction,
} from './fixtures.js';

const OPTIONS: SamplingOptions = { n: 3, temperature: 1, topP: 1, topK: 0, maxTokens: 5, seed: 17 };
const FAST = { backoffMs: 20, maxBackoffMs: 200 } as const;

describe('RemotePolicy under faults', () => {
  let cleanup: () => Promise<void>;
  let local: LocalPolicy;
  let teacherLocal: LocalPolicy;
  let studentDir: string;
  let teacherDir: string;
  let server: RunningServer;
  let prompts: Prompt[];
  let teacherPrompts: Prompt[];

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
    server = await startServer({ checkpoint: s.dir, port: 0 });
    const ex = await examples(8);
    prompts = ex.map((e) => e.student);
    teacherPrompts = ex.map((e) => e.positive);
  });

  afterAll(async () => {
    await server?.close();
    local?.model.dispose();
    teacherLocal?.model.dispose();
    await cleanup?.();
  });

  async function expectLocalSamples(remote: RemotePolicy, some: readonly Prompt[]): Promise<void> {
    const want = await local.sample(some, OPTIONS);
    const got = await remote.sample(some, OPTIONS);
    expect(got.length).toBe(some.length);
    got.forEach((group, i) => {
      expect(group.length).toBe(OPTIONS.n);
      group.forEach((r, g) => expect(r.tokenIds).toEqual(want[i]![g]!.tokenIds));
    });
  }

  /** One successful forward per request id, and attempts = calls + retries. */
  function expectAccounted(
    remote: RemotePolicy,
    seen: { id: string; status: number }[],
    calls: number,
  ): void {
    const s = remote.stats();
    expect(s.calls).toBe(calls);
    expect(s.succeeded).toBe(calls);
    expect(s.failed).toBe(0);
    expect(s.inFlight).toBe(0);
    expect(s.attempts).toBe(s.calls + s.retries);
    const ok = seen.filter((x) => x.status === 200);
    expect(new Set(ok.map((x) => x.id)).size).toBe(ok.length);
  }

  it('survives the server closing and restarting on the same port mid-run', async () => {
    const lines: string[] = [];
    let first: () => void = () => {};
    const started = new Promise<void>((ok) => (first = ok));
    let restartable = await startServer({
      checkpoint: studentDir,
      port: 0,
      logger: (l) => {
        if (l.startsWith('POST')) first();
      },
    });
    const port = restartable.port;
    const remote = await RemotePolicy.connect({
      baseUrl: restartable.url,
      model: 'student',
      concurrency: 2,
      maxRetries: 30,
      ...FAST,
      logger: (l) => lines.push(l),
    });
    const run = remote.sample(prompts, OPTIONS);
    await started;
    await restartable.close(); // finishes the requests in flight, then refuses connections
    await new Promise((ok) => setTimeout(ok, 300));
    restartable = await startServer({ checkpoint: studentDir, port });
    try {
      const got = await run;
      const want = await local.sample(prompts, OPTIONS);
      got.forEach((group, i) => group.forEach((r, g) => expect(r.tokenIds).toEqual(want[i]![g]!.tokenIds)));
      const s = remote.stats();
      expect(s.retries).toBeGreaterThan(0);
      expect(s.failures.network).toBeGreaterThan(0);
      expect(s.calls).toBe(1 + prompts.length);
      expect(s.succeeded).toBe(s.calls);
      expect(s.attempts).toBe(s.calls + s.retries);
      expect(lines.some((l) => l.startsWith('retry'))).toBe(true);
    } finally {
      await restartable.close();
    }
  });

  it('retries through a 429 storm, honouring Retry-After', async () => {
    const proxy = await startProxy(server.url, (n): ProxyAction =>
      n < 5 ? { kind: 'status', status: 429, retryAfter: 0 } : { kind: 'forward' },
    );
    try {
      const remote = await RemotePolicy.connect({
        baseUrl: proxy.url,
        model: 'student',
        concurrency: 2,
        ...FAST,
      });
      await expectLocalSamples(remote, prompts.slice(0, 3));
      expect(remote.stats().failures['http-429']).toBe(5);
      expect(remote.stats().retries).toBe(5);
      expectAccounted(remote, proxy.seen, 1 + 3);
      expect(proxy.seen.filter((x) => x.path === '/v1/chat/completions').length).toBe(3 + 5);
    } finally {
      await proxy.close();
    }
  });

  it('retries malformed (truncated) JSON responses', async () => {
    const proxy = await startProxy(server.url, (n): ProxyAction =>
      n < 2 ? { kind: 'corrupt' } : { kind: 'forward' },
    );
    try {
      const remote = await RemotePolicy.connect({ baseUrl: proxy.url, model: 'student', ...FAST });
      await expectLocalSamples(remote, prompts.slice(0, 3));
      expect(remote.stats().failures['malformed-response']).toBe(2);
      expectAccounted(remote, [], 1 + 3);
    } finally {
      await proxy.close();
    }
  });

  it('times out slow responses and retries them; the late answer is not counted', async () => {
    const proxy = await startProxy(server.url, (n): ProxyAction =>
      n < 1 ? { kind: 'delay', ms: 1500 } : { kind: 'forward' },
    );
    try {
      const remote = await RemotePolicy.connect({
        baseUrl: proxy.url,
        model: 'student',
        timeoutMs: 600,
        ...FAST,
      });
      await expectLocalSamples(remote, prompts.slice(0, 2));
      expect(remote.stats().failures.timeout).toBe(1);
      expectAccounted(remote, [], 1 + 2);
    } finally {
      await proxy.close();
    }
  });

  it('fails with a clear error after its retries when the server keeps failing', async () => {
    const proxy = await startProxy(server.url, (): ProxyAction => ({ kind: 'status', status: 503 }));
    try {
      const remote = await RemotePolicy.connect({
        baseUrl: proxy.url,
        model: 'student',
        maxRetries: 2,
        ...FAST,
      });
      const error = await remote.sample(prompts.slice(0, 1), OPTIONS).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RemoteError);
      const e = error as RemoteError;
      expect(e.message).toMatch(
        /\/v1\/chat\/completions \(request vzero-[0-9a-f]+-\d+\) failed after 3 attempt\(s\): HTTP 503: proxy says 503/,
      );
      expect(e.status).toBe(503);
      expect(e.attempts).toBe(3);
      const s = remote.stats();
      expect(s).toMatchObject({ calls: 2, succeeded: 1, failed: 1, retries: 2, attempts: 4, inFlight: 0 });
      expect(proxy.seen.filter((x) => x.id === e.requestId).length).toBe(3);
    } finally {
      await proxy.close();
    }
  });

  it('fails at once on a 4xx, with the server message naming the field', async () => {
    const remote = await RemotePolicy.connect({ baseUrl: server.url, model: 'student', ...FAST });
    const bad = { ...prompts[0]!, text: 'what is zebra ?' };
    const error = await remote.sample([bad], OPTIONS).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as RemoteError).message).toMatch(/HTTP 400: messages\[0\]\.content\[1\]\.text.*zebra/);
    expect(remote.stats()).toMatchObject({ retries: 0, failed: 1 });
  });

  it('reports misaligned prompt log-probs as RemoteAlignmentError naming request and position', async () => {
    const teacherServer = await startServer({ checkpoint: teacherDir, port: 0 });
    const drop = (json: unknown): unknown => {
      const j = json as { choices: { prompt_logprobs: Record<string, unknown>[] }[] };
      const entries = j.choices[0]!.prompt_logprobs;
      const last = entries.at(-1)!;
      for (const key of Object.keys(last)) if (key === '7') delete last[key];
      return j;
    };
    const proxy = await startProxy(teacherServer.url, (_n, path): ProxyAction =>
      path === '/v1/completions' ? { kind: 'rewrite', rewrite: drop } : { kind: 'forward' },
    );
    try {
      const remote = await RemotePolicy.connect({ baseUrl: proxy.url, model: 'teacher', ...FAST });
      const error = await remote
        .score([
          { prompt: teacherPrompts[0]!, responseTokenIds: [5, 6] },
          { prompt: teacherPrompts[1]!, responseTokenIds: [5, 6, 7] },
        ])
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RemoteAlignmentError);
      expect((error as RemoteAlignmentError).message).toMatch(
        /^requests\[1\], position 2 \(request vzero-[0-9a-f]+-\d+\): no log-prob for response token 7/,
      );
      expect((error as RemoteAlignmentError).position).toBe(2);
    } finally {
      await proxy.close();
      await teacherServer.close();
    }
  });

  it('sends the API key from the environment and never shows it in errors, logs or inspection', async () => {
    const key = 'sk-vzero-TEST-9f8e7d6c5b4a';
    const serverLines: string[] = [];
    const locked = await startServer({
      checkpoint: studentDir,
      port: 0,
      apiKey: key,
      logger: (l) => serverLines.push(l),
    });
    const clientLines: string[] = [];
    try {
      const remote = await RemotePolicy.connect({
        baseUrl: locked.url,
        model: 'student',
        env: { VZERO_API_KEY: key },
        logger: (l) => clientLines.push(l),
        ...FAST,
      });
      await expectLocalSamples(remote, prompts.slice(0, 1));
      const failing = await remote
        .sample([{ ...prompts[0]!, text: 'zebra' }], OPTIONS)
        .catch((e: unknown) => e);
      expect(failing).toBeInstanceOf(RemoteError);

      const wrong = await RemotePolicy.connect({
        baseUrl: locked.url,
        model: 'student',
        apiKeyEnv: 'MY_KEY',
        env: { MY_KEY: `${key}-wrong` },
        logger: (l) => clientLines.push(l),
      }).catch((e: unknown) => e);
      expect(wrong).toBeInstanceOf(RemoteError);
      expect((wrong as RemoteError).status).toBe(401);

      const texts = [
        ...clientLines,
        ...serverLines,
        (failing as Error).message,
        (failing as Error).stack ?? '',
        (wrong as Error).message,
        (wrong as Error).stack ?? '',
        inspect(remote, { depth: 10, showHidden: true }),
        JSON.stringify(remote),
      ];
      expect(clientLines.length).toBeGreaterThan(0);
      expect(serverLines.length).toBeGreaterThan(0);
      for (const t of texts) expect(t).not.toContain('9f8e7d6c5b4a');
    } finally {
      await locked.close();
    }
  });
});
