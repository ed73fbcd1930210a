// A method from a plug-in module (seqkd-method.ts, which registers SeqKD when imported) reaches
// the command line with nothing edited: `vzero train --plugin MODULE`, `vzero ablate --plugin
// MODULE`, and an ablation spec's `plugins:` list, whose arms may then name the method; with
// `--jobs 2` every run's own process loads the same plug-ins. Real `vzero` processes and the
// in-process CLI on a tiny world and tiny models (the smoke preset's scale).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { loadAblateSpec, readAblateSpec } from '../src/ablate/spec.js';
import { methodNames } from '../src/methods/index.js';
import { expectOneLineError, repoRoot, vzero } from './cli-process.js';
import { run } from './cli-run.js';
import { makeFixture, tinyConfig, type Fixture } from './fixture.js';

const SEQKD = fileURLToPath(new URL('./seqkd-method.ts', import.meta.url));

let f: Fixture;
beforeAll(async () => {
  f = await makeFixture({ train: 6, val: 4 });
}, 120_000);
afterAll(async () => {
  await rm(f.root, { recursive: true, force: true });
});

const records = async (out: string) =>
  (await readFile(join(out, 'metrics.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

async function seqkdConfig(name: string): Promise<{ file: string; out: string }> {
  const out = join(f.root, name);
  const file = join(f.root, `${name}.json`);
  await writeFile(file, JSON.stringify(tinyConfig(f, out, { method: 'seqkd', steps: 2 })));
  return { file, out };
}

describe('vzero train --plugin', () => {
  it('trains with the method the plug-in registers, in a real vzero process', async () => {
    const { file, out } = await seqkdConfig('train-plugin');
    const without = await vzero(['train', '--config', file], 120_000);
    expect(expectOneLineError(without)).toMatch(/\.method = "seqkd": Invalid option/);
    // The path as the README gives it, from the repository root.
    const plugin = relative(repoRoot, SEQKD);
    expect(plugin).toBe('packages/train/test/seqkd-method.ts');
    const r = await vzero(['train', '--plugin', plugin, '--config', file], 240_000);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('trained 2 steps (seqkd)');
    const saved = JSON.parse(await readFile(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(saved['method']).toBe('seqkd');
    expect(saved['seqkd']).toEqual({ temperature: 0, maxTokens: 12 });
    const steps = (await records(out)).filter((r) => r['event'] === undefined);
    expect(steps.map((s) => s['method'])).toEqual(['seqkd', 'seqkd']);
  }, 400_000);

  it('names a plug-in that is not there or does not load, before anything is read', async () => {
    const { file, out } = await seqkdConfig('train-bad-plugin');
    const missing = await run(['train', '--plugin', './no-such-plugin.js', '--config', file]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/--plugin = "\.\/no-such-plugin\.js": no such file: .*no-such-plugin\.js/);
    const broken = join(f.root, 'broken-plugin.mjs');
    await writeFile(broken, "throw new Error('broken on purpose');\n");
    const failed = await run(['train', '--plugin', broken, '--config', file]);
    expect(failed.code).toBe(1);
    expect(failed.err).toMatch(/--plugin = ".*broken-plugin\.mjs": could not be loaded: broken on purpose/);
    expect(existsSync(out)).toBe(false);
    expect(methodNames()).not.toContain('seqkd');
  });
});

/** A tiny spec: the smoke preset's worlds, models and settings; Base and the plug-in's SeqKD. */
function spec(name: string, plugins?: readonly string[]): string {
  return [
    'extends: smoke',
    `name: ${name}`,
    ...(plugins ? ['plugins:', ...plugins.map((p) => `  - ${p}`)] : []),
    'seeds: 2',
    'arms:',
    '  - { id: base, label: Base, method: base }',
    '  - { id: seqkd, label: SeqKD (plug-in), method: seqkd }',
    '',
  ].join('\n');
}

describe('vzero ablate with a plug-in method', () => {
  const specs = () => join(f.root, 'specs');
  const work = () => join(f.root, 'ablate-seqkd');

  it("reads a spec whose plugins: register an arm's method; with --jobs 2 each run's process loads it", async () => {
    await mkdir(specs(), { recursive: true });
    const file = join(specs(), 'seqkd.yaml');
    // A path relative to the spec's own folder.
    await writeFile(file, spec('seqkd-plugin', [relative(specs(), SEQKD)]));
    // Read without its plug-ins loaded, the spec says so rather than that seqkd is unknown.
    expect(() => loadAblateSpec(file)).toThrow(/seqkd\.yaml \(extends smoke\): plugins = .*: are not loaded/);

    const r = await vzero(
      ['ablate', '--spec', file, '--out', work(), '--docs', work(), '--jobs', '2'],
      590_000,
    );
    expect(r.code, r.err.slice(-3000)).toBe(0);
    const report = JSON.parse(await readFile(join(work(), 'results', 'seqkd-plugin.json'), 'utf8')) as {
      runs: { arm: string; seed: number; curve: { step: number }[] }[];
    };
    expect(report.runs.map((x) => [x.arm, x.seed, x.curve.map((c) => c.step)])).toEqual([
      ['seqkd', 0, [0, 1, 2]],
      ['seqkd', 1, [0, 1, 2]],
    ]);
    for (const seed of [0, 1]) {
      const steps = (await records(join(work(), 'runs', `seqkd-seed${seed}`))).filter(
        (x) => x['event'] === undefined,
      );
      expect(steps.map((s) => s['method'])).toEqual(['seqkd', 'seqkd']);
    }
    expect(await readFile(join(work(), 'RESULTS.md'), 'utf8')).toContain('SeqKD (plug-in)');
    // The spec as run keeps the plug-in's path absolute: `--spec <work>/spec.yaml` runs it again.
    const asRun = parse(await readFile(join(work(), 'spec.yaml'), 'utf8')) as { plugins: string[] };
    expect(asRun.plugins).toEqual([SEQKD]);
  }, 600_000);

  it('--plugin on the command line serves a spec that lists none, with --jobs 2', async () => {
    const file = join(specs(), 'seqkd-bare.yaml');
    await writeFile(file, spec('seqkd-bare'));
    // Without the plug-in the arm's method is unknown, named with the spec's path.
    const without = await run(['ablate', '--spec', file, '--out', work(), '--docs', work()]);
    expect(without.code).toBe(1);
    expect(without.err).toMatch(/seqkd-bare\.yaml \(extends smoke\): arms\.1\.method = "seqkd"/);
    // The same world, models and runs as the spec above (reused), and a third seed, made in a
    // process of its own that loads the plug-in given here.
    const r = await run([
      'ablate',
      '--plugin',
      SEQKD,
      '--spec',
      file,
      '--out',
      work(),
      '--docs',
      join(f.root, 'docs-bare'),
      '--seeds',
      '3',
      '--jobs',
      '2',
    ]);
    expect(r.code, r.err.slice(-3000)).toBe(0);
    expect(
      r.err.split('\n').filter((l) => l.startsWith('  reusing ') && l.includes('seqkd-seed')),
    ).toHaveLength(2);
    const steps = (await records(join(work(), 'runs', 'seqkd-seed2'))).filter(
      (x) => x['event'] === undefined,
    );
    expect(steps.map((s) => s['method'])).toEqual(['seqkd', 'seqkd']);
    // The report says how to make it again, plug-in included.
    expect(await readFile(join(f.root, 'docs-bare', 'RESULTS.md'), 'utf8')).toContain(`--plugin ${SEQKD}`);
  }, 600_000);

  it("an extending spec's plug-ins are found from the file that lists them; a bad entry is named", async () => {
    await mkdir(join(specs(), 'mine'), { recursive: true });
    const child = join(specs(), 'mine', 'child.yaml');
    await writeFile(child, 'extends: ../seqkd.yaml\nname: child\n');
    const read = await readAblateSpec(child);
    expect(read.plugins).toEqual([SEQKD]);
    expect(read.arms.map((a) => a.method)).toEqual(['base', 'seqkd']);
    await writeFile(child, 'extends: ../seqkd.yaml\nname: child\nplugins: [3]\n');
    await expect(readAblateSpec(child)).rejects.toThrow(
      /child\.yaml \(extends \.\.\/seqkd\.yaml\): plugins\.0 = 3/,
    );
  });
});
