// `vzero pretrain --out` and `vzero world generate` never replace what a folder holds without
// --force, and a replacement is swapped in whole: the real CLI on the tiny real set-up.
import { beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './cli-run.js';
import { makeFixture, type Fixture } from './fixture.js';

let f: Fixture;
beforeAll(async () => {
  f = await makeFixture({ train: 4, val: 2 });
});

const hash = async (path: string) =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');

describe('outputs that already exist', () => {
  it('pretrain refuses an --out holding a model unless --force, and --force swaps in the new one', async () => {
    const out = join(f.root, 'student-once');
    const args = [
      'pretrain',
      'student',
      '--data',
      f.world,
      '--steps',
      '1',
      '--batch-size',
      '2',
      '--limit',
      '1',
    ];
    const first = await run([...args, '--out', out, '--seed', '0']);
    expect(first.code, first.err).toBe(0);
    const weights = await hash(join(out, 'weights.bin'));

    const again = await run([...args, '--out', out, '--seed', '1']);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/--out = ".*student-once": already holds a model or other files; pass --force/);
    expect(again.err).not.toMatch(/pretrain student:/); // refused before any work
    expect(await hash(join(out, 'weights.bin'))).toBe(weights);

    const forced = await run([...args, '--out', out, '--seed', '1', '--force']);
    expect(forced.code, forced.err).toBe(0);
    expect(await hash(join(out, 'weights.bin'))).not.toBe(weights);
    // Nothing left beside it: no staging folder, no old copy.
    expect((await readdir(f.root)).filter((n) => n.startsWith('student-once'))).toEqual(['student-once']);
  });

  it('world generate refuses a split the folder holds unless --force; --force replaces it whole', async () => {
    const out = join(f.root, 'world-twice');
    const gen = (extra: string[]) =>
      run(['world', 'generate', '--out', out, '--split', 'val', '--n', '2', ...extra]);
    expect((await gen(['--seed', '1'])).code).toBe(0);
    const manifest = await readFile(join(out, 'val', 'manifest.jsonl'), 'utf8');

    const again = await gen(['--seed', '2', '--n', '3']);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/--out = ".*world-twice.val": already holds a val split; pass --force/);
    expect(await readFile(join(out, 'val', 'manifest.jsonl'), 'utf8')).toBe(manifest);

    // --split all checks every split first: one existing split stops all of them.
    const all = await run(['world', 'generate', '--out', out, '--n', '2']);
    expect(all.code).toBe(1);
    expect(existsSync(join(out, 'train'))).toBe(false);

    const forced = await gen(['--seed', '2', '--n', '3', '--force']);
    expect(forced.code, forced.err).toBe(0);
    const replaced = await readFile(join(out, 'val', 'manifest.jsonl'), 'utf8');
    expect(replaced).not.toBe(manifest);
    expect(replaced.trim().split('\n')).toHaveLength(3);
    // Only the images of the new generation: the old split did not leak into it.
    expect(await readdir(join(out, 'val', 'images'))).toHaveLength(3);
    expect((await readdir(out)).sort()).toEqual(['resolved-config.yaml', 'val']);
  });
});
