// tools/release/prepack.mjs, every package's prepack, on throwaway packages: it builds a package
// whose entry files are missing or older than src/, leaves a fresh build alone, and stops packing
// with the reason when the build fails.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('../prepack.mjs', import.meta.url));
const writeDist = `node -e "require('fs').mkdirSync('dist',{recursive:true});require('fs').writeFileSync('dist/index.js','');require('fs').writeFileSync('dist/index.d.ts','')"`;

async function packageWith(build: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vzero-prepack-'));
  await mkdir(join(dir, 'src'));
  await writeFile(join(dir, 'src', 'index.ts'), 'export const x = 1;\n');
  await writeFile(
    join(dir, 'package.json'),
    JSON.stringify({
      name: '@vzero/throwaway',
      type: 'module',
      main: './dist/index.js',
      exports: {
        '.': { types: './dist/index.d.ts', import: './dist/index.js' },
        './package.json': './package.json',
      },
      scripts: { build },
    }),
  );
  return dir;
}

const prepack = (cwd: string) => spawnSync(process.execPath, [script], { cwd, encoding: 'utf8' });

describe('prepack', () => {
  it('builds a package that has no dist/, then leaves the fresh build alone', async () => {
    const dir = await packageWith(writeDist);
    const first = prepack(dir);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/@vzero\/throwaway: building before packing \(2 of 2 entry files/);
    expect(existsSync(join(dir, 'dist', 'index.js'))).toBe(true);
    const again = prepack(dir);
    expect(again.status).toBe(0);
    expect(again.stderr).toBe('');
  });

  it('rebuilds when src/ is newer than the build', async () => {
    const dir = await packageWith(writeDist);
    expect(prepack(dir).status).toBe(0);
    const later = new Date(Date.now() + 60_000);
    await utimes(join(dir, 'src', 'index.ts'), later, later);
    expect(prepack(dir).stderr).toMatch(/building before packing/);
  });

  it('stops packing with the reason when the build fails', async () => {
    const dir = await packageWith('exit 3');
    const r = prepack(dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /@vzero\/throwaway: not packed: the build failed \(exit 3\); build the workspace first/,
    );
    expect(existsSync(join(dir, 'dist'))).toBe(false);
  });
});
