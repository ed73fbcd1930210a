// Loader input a hostile or careless folder holds: empty, corrupt, linked, FIFO-named files and
// byte-order marks. Each failure names the file; only regular files are opened.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { loadHRBench, loadVStarBench } from '../src/index.js';
import { parseJsonl } from '../src/jsonl.js';

const QUESTION = JSON.stringify({
  question: 'What is the color of the cup?',
  options: ['red', 'blue'],
  bbox: [[1, 2, 3, 4]],
});

/** A V* folder with one good sample and `image` as sa_2's image file (written by `make`). */
async function vstar(make: (path: string) => Promise<void>, imageName = 'sa_2.jpg'): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'vzero-hostile-vstar-'));
  const dir = join(root, 'direct_attributes');
  await mkdir(dir);
  await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 1, g: 2, b: 3 } } })
    .png()
    .toFile(join(dir, 'sa_1.png'));
  await writeFile(join(dir, 'sa_1.json'), QUESTION);
  await make(join(dir, imageName));
  await writeFile(join(dir, 'sa_2.json'), QUESTION);
  return root;
}

describe('a V* folder with bad files', () => {
  it.each([
    [
      'a zero-byte image',
      (p: string) => writeFile(p, ''),
      /direct_attributes\/sa_2\.jpg = .*the image file is empty/,
    ],
    [
      'a corrupt image',
      (p: string) => writeFile(p, Buffer.from('\xff\xd8\xff garbage', 'latin1')),
      /direct_attributes\/sa_2\.jpg = .*not a decodable image/,
    ],
    [
      'a link to a text file',
      async (p: string) => {
        const target = `${p}.txt`;
        await writeFile(target, 'not an image');
        await symlink(target, p);
      },
      /direct_attributes\/sa_2\.jpg = .*not a decodable image/,
    ],
    [
      'a broken link',
      (p: string) => symlink('/nonexistent/image.jpg', p),
      /direct_attributes\/sa_2\.jpg = .*file not found \(or a broken link\)/,
    ],
    [
      'a link to a device',
      (p: string) => symlink('/dev/zero', p),
      /direct_attributes\/sa_2\.jpg = .*not a regular file/,
    ],
    [
      'a folder named like an image',
      (p: string) => mkdir(p),
      /direct_attributes\/sa_2\.jpg = .*not a regular file/,
    ],
  ])('%s fails naming the file', async (_name, make, message) => {
    const root = await vstar(make as (p: string) => Promise<void>);
    await expect(loadVStarBench(root)).rejects.toThrow(message);
  });

  it('a FIFO named sa_2.json is refused at once, not read for ever', async () => {
    const root = await mkdtemp(join(tmpdir(), 'vzero-hostile-vstar-'));
    const dir = join(root, 'direct_attributes');
    await mkdir(dir);
    await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 1, g: 2, b: 3 } } })
      .png()
      .toFile(join(dir, 'sa_2.png'));
    execFileSync('mkfifo', [join(dir, 'sa_2.json')]);
    await expect(loadVStarBench(root)).rejects.toThrow(/sa_2\.json.*is not a regular file/);
  });

  it('a JSON file with a byte-order mark loads', async () => {
    const root = await vstar(async (p) => {
      await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 9, g: 9, b: 9 } } })
        .jpeg()
        .toFile(p);
    });
    await writeFile(join(root, 'direct_attributes', 'sa_2.json'), '\uFEFF' + QUESTION);
    const samples = await loadVStarBench(root);
    expect(samples.map((s) => s.question)).toEqual([
      'What is the color of the cup?',
      'What is the color of the cup?',
    ]);
  });
});

describe('byte-order marks', () => {
  it('a JSONL text with a BOM reads its first key as written', () => {
    const rows = parseJsonl('\uFEFF{"id":"a"}\n{"id":"b"}\n', 'm.jsonl');
    expect(rows.map((r) => Object.keys(r.value))).toEqual([['id'], ['id']]);
  });

  it('an HR-Bench TSV with a BOM finds its index column', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vzero-bom-'));
    const png = await sharp({
      create: { width: 4, height: 4, channels: 3, background: { r: 0, g: 0, b: 0 } },
    })
      .png()
      .toBuffer();
    const tsv = join(dir, 'hr.tsv');
    await writeFile(
      tsv,
      '\uFEFFindex\tquestion\tanswer\tA\tB\timage\tcategory\n' +
        `0\tWhich?\tB\tx\ty\t${png.toString('base64')}\tsingle\n`,
    );
    const samples = await loadHRBench(tsv);
    expect(samples.map((s) => [s.id, s.answer])).toEqual([['hrbench-0', 'B']]);
  });

  it('an HR-Bench TSV path that is a FIFO is refused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vzero-fifo-'));
    execFileSync('mkfifo', [join(dir, 'hr.tsv')]);
    await expect(loadHRBench(join(dir, 'hr.tsv'))).rejects.toThrow(/is not a regular file/);
  });
});
