import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { join } from 'node:path';
import { resolveModelConfig, MODEL_PRESETS } from '@vzero/model';
import { loadLabelled } from '@vzero/world';
import { run } from './cli-run.js';
import { promptsForModel } from '../src/prompts.js';
import { makeFixture, type Fixture } from './fixture.js';

let f: Fixture;
beforeAll(async () => {
  f = await makeFixture({ train: 6, val: 3 });
});

describe('vzero pretrain with negative views', () => {
  it('adds the negative-view examples of the chosen fraction and writes a checkpoint', async () => {
    const out = join(f.root, 'teacher-neg');
    const common = ['--data', f.world, '--steps', '2', '--batch-size', '2', '--limit', '2'];
    const all = await run(['pretrain', 'teacher', ...common, '--out', out, '--negative-fraction', '1']);
    expect(all.code, all.err).toBe(0);
    expect(all.err).toMatch(/12 examples \(6 with the negative view\)/);
    expect(existsSync(join(out, 'weights.bin'))).toBe(true);
    const none = await run(['pretrain', 'teacher', ...common, '--out', join(f.root, 'teacher-pos')]);
    expect(none.code, none.err).toBe(0);
    expect(none.err).toMatch(/6 examples, 2 steps/);
  });

  it('saves its options as resolved-config.yaml, which --config reruns with the same tokenizer', async () => {
    const out = join(f.root, 'student-words');
    const args = ['--data', f.world, '--steps', '1', '--batch-size', '2', '--limit', '2'];
    const first = await run(['pretrain', 'student', ...args, '--out', out, '--tokenizer', 'words']);
    expect(first.code, first.err).toBe(0);
    const saved = parse(await readFile(join(out, 'resolved-config.yaml'), 'utf8')) as Record<string, unknown>;
    expect(saved).toMatchObject({
      data: f.world,
      out,
      steps: 1,
      batchSize: 2,
      split: 'val',
      limit: 2,
      tokenizer: 'words',
    });
    const again = join(f.root, 'student-words-again');
    const rerun = await run([
      'pretrain',
      'student',
      '--config',
      join(out, 'resolved-config.yaml'),
      '--out',
      again,
    ]);
    expect(rerun.code, rerun.err).toBe(0);
    const tokenizer = async (dir: string) =>
      (JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as { tokenizer: unknown }).tokenizer;
    expect(await tokenizer(again)).toEqual(await tokenizer(out));
    expect(await tokenizer(out)).toMatchObject({ type: 'vzero-word', byteFallback: true });
    const bad = await run([
      'pretrain',
      'student',
      ...args,
      '--out',
      join(f.root, 'x'),
      '--tokenizer',
      'letters',
    ]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/--tokenizer.*letters/);
  });

  it('rejects a fraction outside [0, 1] and negatives for the student, naming the setting', async () => {
    const args = ['--data', f.world, '--out', join(f.root, 'x'), '--steps', '1'];
    const bad = await run(['pretrain', 'teacher', ...args, '--negative-fraction', '1.5']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/negativeFraction = 1\.5/);
    const student = await run(['pretrain', 'student', ...args, '--negative-fraction', '0.5']);
    expect(student.code).toBe(1);
    expect(student.err).toMatch(/negativeFraction = 0\.5.*only the teacher/);
  });

  it('builds the negative prompt from the same full image and another crop', async () => {
    const config = resolveModelConfig(MODEL_PRESETS.tiny, { vocabSize: 10 });
    const { promptFor, negativeFor } = promptsForModel(config, 0);
    const [sample] = await loadLabelled(f.world, 'train');
    const pos = await promptFor(sample!);
    const neg = await negativeFor(sample!);
    expect(neg.id).toBe(`${sample!.id}:neg`);
    expect(neg.text).toBe(pos.text);
    expect(neg.images[0]!.pixels!.data).toEqual(pos.images[0]!.pixels!.data);
    expect(neg.images[1]!.pixels!.data).not.toEqual(pos.images[1]!.pixels!.data);
    const student = resolveModelConfig(MODEL_PRESETS.student, { vocabSize: 10 });
    expect(() => promptsForModel(student, 0).negativeFor(sample!)).toThrow(/only a model with a crop slot/);
  });
});
