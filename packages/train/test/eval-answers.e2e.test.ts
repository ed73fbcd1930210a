// A long `vzero eval` against a server that goes away: answers are appended as they arrive, a
// short outage is ridden out, a long one ends the run with its answers kept and a partial
// report, and --resume asks only the rest, ending with the answers of an uninterrupted run.
// Real servers (vzero serve, in this process) on loopback, stopped and restarted on one port.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { selectBackend } from '@vzero/core';
import { startServer, type RunningServer } from '@vzero/serve';
import { ANSWERS_FILE, runEval, type EvalCommandOptions } from '../src/commands/eval.js';
import { makeFixture, type Fixture } from './fixture.js';

let f: Fixture;
const running: RunningServer[] = [];

beforeAll(async () => {
  await selectBackend({ prefer: 'wasm' });
  f = await makeFixture({ test: 40 });
}, 120_000);

afterAll(async () => {
  for (const s of running) {
    await s.close();
    s.policy.model.dispose();
  }
});

async function serve(port = 0, lines?: string[]): Promise<RunningServer> {
  const s = await startServer({
    checkpoint: f.models.student,
    port,
    modelName: 'student',
    ...(lines ? { logger: (l: string) => lines.push(l) } : {}),
  });
  running.push(s);
  return s;
}

async function stop(s: RunningServer): Promise<void> {
  await s.close();
  s.policy.model.dispose();
  running.splice(running.indexOf(s), 1);
}

const options = (url: string, out: string, extra: Partial<EvalCommandOptions> = {}): EvalCommandOptions => ({
  url: [url],
  data: f.world,
  split: 'test',
  out,
  limit: 0,
  seed: 0,
  concurrency: 1,
  ...extra,
});

async function answerLines(out: string): Promise<number> {
  if (!existsSync(join(out, ANSWERS_FILE))) return 0;
  return (
    (await readFile(join(out, ANSWERS_FILE), 'utf8')).split('\n').filter((l) => l.trim() !== '').length - 1
  );
}

async function waitForAnswers(out: string, n: number): Promise<void> {
  for (let i = 0; i < 6000 && (await answerLines(out)) < n; i++)
    await new Promise((ok) => setTimeout(ok, 10));
}

const predictions = (r: { predictions: readonly { id: string; responses: readonly string[] }[] }) =>
  r.predictions.map((p) => [p.id, p.responses]);

describe('vzero eval keeps its answers through an outage', () => {
  it('stops after --max-outage with answers and a partial report; --resume asks only the rest', async () => {
    const first = await serve();
    const straight = await runEval(options(first.url, join(f.root, 'straight')), () => {});
    expect(straight.overall.questions).toBe(40);
    const port = first.port;

    const out = join(f.root, 'cut');
    const log: string[] = [];
    const evaluating = runEval(options(first.url, out, { maxOutage: 1 }), (l) => log.push(l));
    await waitForAnswers(out, 16);
    expect(await answerLines(out)).toBeLessThan(40);
    await stop(first); // and it does not come back within a second
    const error = (await evaluating.catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(Error);
    const kept = await answerLines(out);
    expect(kept).toBeGreaterThanOrEqual(16);
    expect(kept).toBeLessThan(40);
    expect(error.message).toMatch(
      new RegExp(
        `connection failed.* -- ${kept} of 40 answers are kept in .*answers\\.jsonl and scored in a partial report .*; rerun with --resume`,
      ),
    );
    const partial = JSON.parse(await readFile(join(out, 'report.json'), 'utf8')) as {
      benchmark: string;
      overall: { questions: number };
    };
    expect(partial.benchmark).toMatch(new RegExp(`PARTIAL: ${kept} of 40 questions answered`));
    expect(partial.overall.questions).toBe(kept);

    // Without --resume the kept answers are not overwritten.
    const lines: string[] = [];
    const back = await serve(port, lines);
    await expect(runEval(options(back.url, out), () => {})).rejects.toThrow(
      new RegExp(`holds ${kept} answers of an unfinished evaluation .*pass --resume`),
    );
    // Another evaluation's answers are refused on resume.
    await expect(runEval(options(back.url, out, { resume: true, seed: 1 }), () => {})).rejects.toThrow(
      /answers are of another evaluation \(seed: 0 -> 1\)/,
    );
    const before = lines.filter((l) => l.startsWith('POST')).length;
    const resumed = await runEval(options(back.url, out, { resume: true }), () => {});
    const asked = lines.filter((l) => l.startsWith('POST')).length - before;
    expect(asked).toBe(40 - kept);
    expect(predictions(resumed)).toEqual(predictions(straight));
    expect(resumed.overall).toEqual(straight.overall);
    expect(await answerLines(out)).toBe(40);
  }, 300_000);

  it('rides out an outage shorter than --max-outage and ends with every answer', async () => {
    const first = await serve();
    const port = first.port;
    const straight = await runEval(options(first.url, join(f.root, 'straight-2')), () => {});
    const out = join(f.root, 'ridden');
    const evaluating = runEval(options(first.url, out, { maxOutage: 60 }), () => {});
    await waitForAnswers(out, 16);
    expect(await answerLines(out)).toBeGreaterThanOrEqual(16);
    expect(await answerLines(out)).toBeLessThan(40);
    await stop(first);
    await new Promise((ok) => setTimeout(ok, 2000));
    await serve(port);
    const report = await evaluating;
    expect(report.overall.questions).toBe(40);
    expect(predictions(report)).toEqual(predictions(straight));
  }, 300_000);
});
