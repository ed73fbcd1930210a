// The remote Policy against `vzero serve` on loopback gives LocalPolicy's rollouts and teacher
// log-probs on the same checkpoint, through @vzero/rollout's sample() and @vzero/teacher's replay().
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend, type Trajectory } from '@vzero/core';
import type { LocalPolicy } from '@vzero/model';
import { sample, type RolloutOptions } from '@vzero/rollout';
import { startServer, type RunningServer } from '@vzero/serve';
import { replay, type ReplayViews } from '@vzero/teacher';
import { RemotePolicy } from '../src/index.js';
import { STUDENT_PRESET, TEACHER_PRESET, checkpoint, examples, tempRoot, type Example } from './fixtures.js';

const TOL = 1e-4;

function close(a: Float32Array, b: Float32Array): void {
  expect(a.length).toBe(b.length);
  a.forEach((x, i) => expect(Math.abs(x - (b[i] ?? Number.NaN))).toBeLessThanOrEqual(TOL));
}

function sameTrajectories(remote: Trajectory[][], local: Trajectory[][]): void {
  expect(remote.length).toBe(local.length);
  remote.forEach((group, i) => {
    expect(group.length).toBe(local[i]?.length);
    group.forEach((t, g) => {
      const l = local[i]?.[g] as Trajectory;
      expect(t.promptId).toBe(l.promptId);
      expect(t.groupId).toBe(l.groupId);
      expect(t.tokenIds).toEqual(l.tokenIds);
      expect(t.finishReason).toBe(l.finishReason);
      expect(t.text).toBe(l.text);
      close(t.logprobs, l.logprobs);
      close(t.samplingLogprobs, l.samplingLogprobs);
    });
  });
}

describe('RemotePolicy against vzero serve', () => {
  let cleanup: () => Promise<void>;
  let studentLocal: LocalPolicy;
  let teacherLocal: LocalPolicy;
  let studentServer: RunningServer;
  let teacherServer: RunningServer;
  let student: RemotePolicy;
  let teacher: RemotePolicy;
  let ex: Example[];
  const views = new Map<string, ReplayViews>();

  beforeAll(async () => {
    await selectBackend({ prefer: 'cpu' });
    const tmp = await tempRoot();
    cleanup = tmp.cleanup;
    const s = await checkpoint(tmp.root, 'student', STUDENT_PRESET);
    const t = await checkpoint(tmp.root, 'teacher', TEACHER_PRESET);
    studentLocal = s.local;
    teacherLocal = t.local;
    studentServer = await startServer({ checkpoint: s.dir, port: 0 });
    teacherServer = await startServer({ checkpoint: t.dir, port: 0 });
    student = await RemotePolicy.connect({ baseUrl: studentServer.url, model: 'student', concurrency: 4 });
    teacher = await RemotePolicy.connect({
      baseUrl: `${teacherServer.url}/v1`,
      model: 'teacher',
      concurrency: 4,
    });
    ex = await examples(3);
    for (const e of ex) views.set(e.student.id, { positive: e.positive, negative: e.negative });
  });

  afterAll(async () => {
    await studentServer?.close();
    await teacherServer?.close();
    studentLocal?.model.dispose();
    teacherLocal?.model.dispose();
    await cleanup?.();
  });

  it('reads the model, tokenizer and context length from GET /v1/models', () => {
    expect(student.tokenizerId).toBe(studentLocal.tokenizerId);
    expect(teacher.contextLength).toBe(teacherLocal.contextLength);
    expect(student.samplingSeedScope).toBe('prompt-id');
    expect(student.decode([1, 5, 6, 2])).toBe(studentLocal.decode([1, 5, 6, 2]));
  });

  it('samples the same rollouts as LocalPolicy (same seed), through rollout.sample', async () => {
    const prompts = ex.map((e) => e.student);
    for (const options of [
      { n: 4, temperature: 1, topP: 1, topK: 0, maxTokens: 6, seed: 11 },
      { n: 3, temperature: 0.7, topP: 0.9, topK: 5, maxTokens: 5, seed: 12, batchSize: 2 },
    ] satisfies RolloutOptions[]) {
      const local = await sample(studentLocal, prompts, options);
      const before = student.stats();
      const remote = await sample(student, prompts, options);
      sameTrajectories(remote, local);
      const after = student.stats();
      // One request per prompt ('vzero' seeding), no retries, every call accounted for.
      expect(after.calls - before.calls).toBe(prompts.length);
      expect(after.succeeded - before.succeeded).toBe(prompts.length);
      expect(after.retries).toBe(0);
      expect(after.inFlight).toBe(0);
    }
  });

  it('gives the same teacher log-probs (l+, l-, top-K) as LocalPolicy, through teacher.replay', async () => {
    const rollouts = (
      await sample(
        studentLocal,
        ex.map((e) => e.student),
        {
          n: 3,
          temperature: 1,
          topP: 1,
          topK: 0,
          maxTokens: 6,
          seed: 5,
        },
      )
    ).flat();
    // A response ending in <eos> (id 2), as a finished rollout does, and an empty one.
    const base = rollouts[0]!;
    rollouts.push({
      ...base,
      index: 3,
      tokenIds: [5, 6, 2],
      mask: new Uint8Array(3).fill(1),
      logprobs: new Float32Array(3),
      samplingLogprobs: new Float32Array(3),
    });
    rollouts.push({
      ...base,
      index: 4,
      tokenIds: [],
      mask: new Uint8Array(0),
      logprobs: new Float32Array(0),
      samplingLogprobs: new Float32Array(0),
    });
    const options = { studentTokenizerId: studentLocal.tokenizerId, negative: true, topK: 3 };
    const local = await replay(teacherLocal, rollouts, views, options);
    const remote = await replay(teacher, rollouts, views, options);
    expect(remote.length).toBe(local.length);
    remote.forEach((r, b) => {
      close(r.positive, local[b]!.positive);
      close(r.negative!, local[b]!.negative!);
      r.topK!.ids.forEach((ids, k) => expect(Array.from(ids)).toEqual(Array.from(local[b]!.topK!.ids[k]!)));
      r.topK!.logprobs.forEach((lps, k) => close(lps, local[b]!.topK!.logprobs[k]!));
    });
  });

  it('scores through the chat endpoint (response text located by /tokenize) with the same values', async () => {
    const chat = await RemotePolicy.connect({
      baseUrl: teacherServer.url,
      model: 'teacher',
      scoreVia: 'chat',
    });
    const rollouts = (
      await sample(
        studentLocal,
        ex.map((e) => e.student),
        {
          n: 2,
          temperature: 1,
          topP: 1,
          topK: 0,
          maxTokens: 6,
          seed: 8,
        },
      )
    ).flat();
    const base = rollouts[0]!;
    rollouts.push({
      ...base,
      index: 2,
      tokenIds: [5, 10, 2],
      mask: new Uint8Array(3).fill(1),
      logprobs: new Float32Array(3),
      samplingLogprobs: new Float32Array(3),
    });
    const options = { studentTokenizerId: studentLocal.tokenizerId, negative: true };
    const local = await replay(teacherLocal, rollouts, views, options);
    const remote = await replay(chat, rollouts, views, options);
    remote.forEach((r, b) => {
      close(r.positive, local[b]!.positive);
      close(r.negative!, local[b]!.negative!);
    });
  });

  it('per-rollout seeding sends n=1 requests with the rollout seeds and is reproducible', async () => {
    const perRollout = await RemotePolicy.connect({
      baseUrl: studentServer.url,
      model: 'student',
      seeding: 'per-rollout',
    });
    const options = { n: 3, temperature: 1, topP: 1, topK: 0, maxTokens: 5, seed: 21 };
    const prompts = ex.map((e) => e.student);
    const a = await sample(perRollout, prompts, options);
    const b = await sample(perRollout, prompts, options);
    sameTrajectories(a, b);
    expect(perRollout.stats().calls).toBe(1 + 2 * prompts.length * options.n);
  });
});
