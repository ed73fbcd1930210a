import { beforeAll, describe, expect, it } from 'vitest';
import {
  InvalidInputError,
  selectBackend,
  type Prompt,
  type ScoreRequest,
  type ScoreResult,
  type Trajectory,
} from '@vzero/core';
import { LocalPolicy, Tokenizer } from '@vzero/model';
import { AlignmentError, replay, type ReplayViews } from '../src/index.js';
import { WORDS, examples, rollouts, studentPolicy, teacherPolicy, tokenizer } from './fixtures.js';

/** The real teacher, recording every score call (requests and options) it serves. */
class RecordingTeacher extends LocalPolicy {
  readonly calls: { requests: readonly ScoreRequest[]; topK: number | undefined }[] = [];
  override score(
    requests: readonly ScoreRequest[],
    options: { readonly topK?: number } = {},
  ): Promise<ScoreResult[]> {
    this.calls.push({ requests, topK: options.topK });
    return super.score(requests, options);
  }
}

function recordingTeacher(): RecordingTeacher {
  const t = teacherPolicy();
  return new RecordingTeacher(t.model, t.tokenizer, { name: t.name });
}

/** The teacher's tokens for a prompt: image prefix + <bos> + words (for the context check). */
function promptLength(teacher: LocalPolicy) {
  return (p: Prompt): number => teacher.model.prefixLength + teacher.encodePrompt(p).tokenIds.length;
}

function viewsOf(ex: ReturnType<typeof examples>, negative = true): Map<string, ReplayViews> {
  return new Map(
    ex.map((e) => [
      e.student.id,
      negative ? { positive: e.positive, negative: e.negative } : { positive: e.positive },
    ]),
  );
}

function close(a: Float32Array, b: Float32Array, tol = 2e-4): void {
  expect(a.length).toBe(b.length);
  a.forEach((x, i) => expect(Math.abs(x - (b[i] ?? Number.NaN))).toBeLessThan(tol));
}

describe('replay with real tiny models', () => {
  let trajectories: Trajectory[];
  const ex = examples(3);
  const G = 3;

  beforeAll(async () => {
    await selectBackend({ prefer: 'cpu' });
    const student = studentPolicy();
    trajectories = await rollouts(
      student,
      ex.map((e) => e.student),
      G,
    );
    student.model.dispose();
  });

  it('returns l+ equal to teacher.score of [positive view + response], in trajectory order', async () => {
    const teacher = recordingTeacher();
    // Shuffle the trajectory order: results must follow it, whatever the grouping inside.
    const order = [4, 0, 8, 2, 6, 1, 7, 3, 5];
    const shuffled = order.map((b) => trajectories[b]!);
    const scores = await replay(teacher, shuffled, viewsOf(ex), {
      studentTokenizerId: tokenizer.id,
      negative: true,
      promptLength: promptLength(teacher),
    });
    expect(scores).toHaveLength(shuffled.length);
    const reference = teacherPolicy();
    for (const [b, t] of shuffled.entries()) {
      const e = ex.find((x) => x.student.id === t.promptId)!;
      const [pos] = await reference.score([{ prompt: e.positive, responseTokenIds: t.tokenIds }]);
      const [neg] = await reference.score([{ prompt: e.negative, responseTokenIds: t.tokenIds }]);
      close(scores[b]!.positive, pos!.logprobs);
      close(scores[b]!.negative!, neg!.logprobs);
      // The negative view changes the crop only, and with it the log-probs.
      expect(Array.from(scores[b]!.negative!)).not.toEqual(Array.from(scores[b]!.positive));
      expect(scores[b]!.topK).toBeUndefined();
    }
    reference.model.dispose();
    teacher.model.dispose();
  });

  it('gives l- = l+ when the negative view is the positive view', async () => {
    const teacher = teacherPolicy();
    const same = new Map(
      ex.map((e) => [
        e.student.id,
        { positive: e.positive, negative: { ...e.positive, id: `${e.positive.id}-copy` } },
      ]),
    );
    const scores = await replay(teacher, trajectories, same, {
      studentTokenizerId: tokenizer.id,
      negative: true,
    });
    for (const s of scores) close(s.negative!, s.positive, 1e-6);
    teacher.model.dispose();
  });

  it("groups each prompt's rollouts and both views into one score call per chunk of prompts", async () => {
    const teacher = recordingTeacher();
    await replay(teacher, trajectories, viewsOf(ex), {
      studentTokenizerId: tokenizer.id,
      negative: true,
      batchSize: 2,
    });
    expect(teacher.calls).toHaveLength(2);
    const first = teacher.calls[0]!.requests.map((r) => r.prompt.id);
    expect(first).toEqual([
      'q0+',
      'q0+',
      'q0+',
      'q0-',
      'q0-',
      'q0-',
      'q1+',
      'q1+',
      'q1+',
      'q1-',
      'q1-',
      'q1-',
    ]);
    expect(teacher.calls[1]!.requests.map((r) => r.prompt.id)).toEqual([
      'q2+',
      'q2+',
      'q2+',
      'q2-',
      'q2-',
      'q2-',
    ]);
    // Both views of a prompt share the full image's id: the policy can encode it once.
    for (const call of teacher.calls) {
      for (const r of call.requests) expect(r.prompt.images[0]!.id).toBe(`full-${r.prompt.id.slice(1, -1)}`);
    }
    teacher.model.dispose();
  });

  it('makes no negative replay in plain OPD mode', async () => {
    const teacher = recordingTeacher();
    const scores = await replay(teacher, trajectories, viewsOf(ex), { studentTokenizerId: tokenizer.id });
    const requested = teacher.calls.flatMap((c) => c.requests);
    expect(requested).toHaveLength(trajectories.length);
    expect(requested.every((r) => r.prompt.id.endsWith('+'))).toBe(true);
    for (const s of scores) expect(s.negative).toBeUndefined();
    // Views without a negative are fine for OPD, an error when negatives are asked for.
    const positiveOnly = viewsOf(ex, false);
    await expect(
      replay(teacher, trajectories, positiveOnly, { studentTokenizerId: tokenizer.id }),
    ).resolves.toHaveLength(9);
    await expect(
      replay(teacher, trajectories, positiveOnly, { studentTokenizerId: tokenizer.id, negative: true }),
    ).rejects.toThrow(/views\["q0"\]\.negative/);
    teacher.model.dispose();
  });

  it('returns top-K ids and log-probs for the positive view at every response token', async () => {
    const teacher = recordingTeacher();
    const K = 4;
    const scores = await replay(teacher, trajectories, viewsOf(ex), {
      studentTokenizerId: tokenizer.id,
      negative: true,
      topK: K,
    });
    expect(teacher.calls.every((c) => c.topK === K)).toBe(true);
    scores.forEach((s, b) => {
      const T = trajectories[b]!.tokenIds.length;
      expect(s.topK!.ids).toHaveLength(T);
      expect(s.topK!.logprobs).toHaveLength(T);
      for (let k = 0; k < T; k++) {
        expect(s.topK!.ids[k]).toHaveLength(K);
        const lps = Array.from(s.topK!.logprobs[k]!);
        expect(lps).toHaveLength(K);
        // Sorted, and the best is at least the sampled token's log-prob.
        expect([...lps].sort((x, y) => y - x)).toEqual(lps);
        expect(lps[0]!).toBeGreaterThanOrEqual(s.positive[k]! - 1e-6);
      }
    });
    teacher.model.dispose();
  });

  it('rejects a student with another tokenizer', async () => {
    const teacher = teacherPolicy();
    const other = Tokenizer.fromWords([...WORDS, 'blue']);
    await expect(
      replay(teacher, trajectories, viewsOf(ex), { studentTokenizerId: other.id }),
    ).rejects.toThrow(AlignmentError);
    await expect(
      replay(teacher, trajectories, viewsOf(ex), { studentTokenizerId: other.id }),
    ).rejects.toThrow(/options\.studentTokenizerId/);
    teacher.model.dispose();
  });

  it('rejects a response that does not fit the teacher context after the prompt', async () => {
    const teacher = teacherPolicy();
    const used = promptLength(teacher)(ex[0]!.positive);
    const room = teacher.contextLength - used;
    const make = (len: number): Trajectory => ({
      ...trajectories[0]!,
      tokenIds: Array.from({ length: len }, () => tokenizer.tokenId('red')),
      logprobs: new Float32Array(len),
      samplingLogprobs: new Float32Array(len),
      mask: new Uint8Array(len).fill(1),
    });
    const opts = { studentTokenizerId: tokenizer.id, promptLength: promptLength(teacher) };
    await expect(replay(teacher, [make(room + 1)], viewsOf(ex), opts)).rejects.toThrow(
      new RegExp(`response of ${room + 1} tokens after a ${used}-token prompt`),
    );
    const [fits] = await replay(teacher, [make(room)], viewsOf(ex), opts);
    expect(fits!.positive).toHaveLength(room);
    // Without a prompt-length function, only the whole context bounds the response.
    await expect(
      replay(teacher, [make(teacher.contextLength + 1)], viewsOf(ex), { studentTokenizerId: tokenizer.id }),
    ).rejects.toThrow(AlignmentError);
    teacher.model.dispose();
  });

  it('rejects missing views and bad options by name', async () => {
    const teacher = teacherPolicy();
    const missing = new Map([...viewsOf(ex)].slice(1));
    await expect(
      replay(teacher, trajectories, missing, { studentTokenizerId: tokenizer.id }),
    ).rejects.toThrow(/views\["q0"\]/);
    await expect(
      replay(teacher, trajectories, viewsOf(ex), { studentTokenizerId: tokenizer.id, topK: 0 }),
    ).rejects.toThrow(InvalidInputError);
    await expect(
      replay(teacher, trajectories, viewsOf(ex), { studentTokenizerId: tokenizer.id, batchSize: 1.5 }),
    ).rejects.toThrow(/options\.batchSize/);
    // Views may also be a plain record.
    const record = Object.fromEntries(viewsOf(ex));
    await expect(
      replay(teacher, trajectories, record, { studentTokenizerId: tokenizer.id }),
    ).resolves.toHaveLength(9);
    teacher.model.dispose();
  });
});

/** A server that answers with one log-prob too few per response (an off-by-one bug). */
class TruncatingServer extends LocalPolicy {
  override async score(
    requests: readonly ScoreRequest[],
    options: { readonly topK?: number } = {},
  ): Promise<ScoreResult[]> {
    const out = await super.score(requests, options);
    return out.map((r) => ({ logprobs: r.logprobs.subarray(1) }));
  }
}

describe('replay refuses misaligned teacher output', () => {
  let trajectories: Trajectory[];
  const ex = examples(2);

  beforeAll(async () => {
    await selectBackend({ prefer: 'cpu' });
    const student = studentPolicy();
    trajectories = await rollouts(
      student,
      ex.map((e) => e.student),
      2,
    );
    student.model.dispose();
  });

  it('errors on a score whose length differs from the response, never shifting it', async () => {
    const t = teacherPolicy();
    const server = new TruncatingServer(t.model, t.tokenizer, { name: 'off-by-one' });
    const n = trajectories[0]!.tokenIds.length;
    await expect(
      replay(server, trajectories, viewsOf(ex), { studentTokenizerId: tokenizer.id }),
    ).rejects.toThrow(
      new RegExp(
        `trajectory 0 \\(prompt q0, rollout 0\\) positive view: teacher returned ${n - 1} log-probs for a response of ${n} tokens`,
      ),
    );
    t.model.dispose();
  });

  it('errors on a non-finite teacher log-prob at a real token, naming trajectory and position', async () => {
    const teacher = teacherPolicy();
    // A corrupt negative view (NaN pixels, e.g. a failed decode) makes every l- NaN.
    const nan = { width: 8, height: 8, channels: 3, data: new Float32Array(8 * 8 * 3).fill(Number.NaN) };
    const views = new Map(
      ex.map((e) => [
        e.student.id,
        {
          positive: e.positive,
          negative: {
            ...e.negative,
            images: [e.negative.images[0]!, { id: 'nan', role: 'crop' as const, pixels: nan }],
          },
        },
      ]),
    );
    await expect(
      replay(teacher, trajectories, views, { studentTokenizerId: tokenizer.id, negative: true }),
    ).rejects.toThrow(
      /trajectory 0 \(prompt q0, rollout 0\) negative view, position 0: teacher log-prob is NaN/,
    );
    teacher.model.dispose();
  });
  it('zeroes scores at masked positions instead of passing them on', async () => {
    const teacher = teacherPolicy();
    const masked = trajectories.map((t) => ({
      ...t,
      mask: Uint8Array.from(t.tokenIds.map((_x, k) => (k === 0 ? 1 : 0))),
    }));
    const scores = await replay(teacher, masked, viewsOf(ex), { studentTokenizerId: tokenizer.id });
    for (const s of scores) expect(Array.from(s.positive.subarray(1)).every((x) => x === 0)).toBe(true);
    teacher.model.dispose();
  });
});
