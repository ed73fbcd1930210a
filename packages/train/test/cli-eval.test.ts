import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './cli-run.js';
import { makeFixture, type Fixture } from './fixture.js';

let f: Fixture;
beforeAll(async () => {
  f = await makeFixture({ test: 5 });
});

describe('vzero eval', () => {
  it('scores a checkpoint on a world split and writes the report files', async () => {
    const out = join(f.root, 'eval');
    const r = await run([
      'eval',
      '--checkpoint',
      f.models.student,
      '--data',
      f.world,
      '--split',
      'test',
      '--out',
      out,
    ]);
    expect(r.code).toBe(0);
    const m = /accuracy (\d+\.\d)% \((\d+)\/5, unanswered (\d+)\)/.exec(r.out);
    expect(m).not.toBeNull();
    const report = JSON.parse(await readFile(join(out, 'report.json'), 'utf8'));
    expect(report.overall.questions).toBe(5);
    expect(report.overall.correct).toBe(Number(m?.[2]));
    for (const file of ['report.md', 'report.svg', 'report.png'])
      expect(existsSync(join(out, file))).toBe(true);
  });

  it('evaluates a two-slot checkpoint with the positive crop', async () => {
    const r = await run(['eval', '--checkpoint', f.models.teacher, '--data', f.world, '--split', 'test']);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/with the positive crop/);
  });

  it('names the bad argument', async () => {
    const missing = await run(['eval', '--checkpoint', f.models.student, '--data', join(f.root, 'nope')]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/--data = ".*nope": no such file or folder/);
    const noModel = await run(['eval', '--checkpoint', f.world, '--data', f.world]);
    expect(noModel.code).toBe(1);
    expect(noModel.err).toMatch(/--checkpoint = ".*world": no model checkpoint here/);
  });

  it('says what is missing when neither a checkpoint nor a server is given, and what clashes when both are', async () => {
    const neither = await run(['eval', '--data', f.world]);
    expect(neither.code).toBe(1);
    // One line, naming both flags; the resolved config is not printed before it.
    expect(neither.err).toBe(
      'error: one of --checkpoint or --url is required: give --checkpoint DIR to evaluate a local model, or --url URL (repeatable) for a served one\n',
    );
    const both = await run([
      'eval',
      '--checkpoint',
      f.models.student,
      '--url',
      'http://127.0.0.1:9',
      '--data',
      f.world,
    ]);
    expect(both.code).toBe(1);
    expect(both.err).toMatch(/--url http:\/\/127\.0\.0\.1:9 both given/);
  });
});
