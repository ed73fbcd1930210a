// Ablation spec files: every shipped spec loads, and a printed copy runs exactly what --preset
// runs (values and key order: finished runs are reused by a key made of them; that the files
// equal the presets the TypeScript built before is checked at commit 8a6c6a4); a bad key is
// named with its path and the keys known there, a bad value with path and value.
// The mistakes are made by reaching into a loaded spec.
/* eslint-disable @typescript-eslint/no-explicit-any */
import { describe, expect, it } from 'vitest';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ABLATE_PRESETS, ablatePreset } from '../src/ablate/presets.js';
import { comparisonPairs } from '../src/ablate/compare.js';
import { loadAblateSpec, parseAblateSpec, shippedSpecFile, shippedSpecNames } from '../src/ablate/spec.js';
import { run } from './cli-run.js';

describe('shipped spec files', () => {
  it('the presets are the files, named by them', () => {
    expect(shippedSpecNames()).toEqual([
      'dense',
      'paper-table',
      'paper-table-60',
      'perceivable',
      'smoke',
      'stem',
    ]);
    expect(Object.keys(ABLATE_PRESETS).sort()).toEqual(shippedSpecNames());
    for (const name of shippedSpecNames()) expect(ablatePreset(name).name).toBe(name);
  });

  it("paper-table-60 is the paper-table at the paper's 60 steps: the same worlds, starting models, training and arms", () => {
    // Its results are read beside RESULTS.md as the same set-up, and its work folder makes the same
    // starting models: a change to paper-table must be made to both.
    const short = ablatePreset('paper-table-60');
    const table = ablatePreset('paper-table');
    expect(short.world).toEqual(table.world);
    expect(short.models).toEqual(table.models);
    expect(short.train).toEqual(table.train);
    expect(short.arms).toEqual(table.arms);
    expect(short.seeds).toBe(table.seeds);
    expect([table.steps, table.evalEvery]).toEqual([180, 60]);
    expect([short.steps, short.evalEvery]).toEqual([60, 30]);
  });

  it.each(shippedSpecNames())(
    '%s: --print-spec gives a file that --spec runs as --preset does (values and key order)',
    async (name) => {
      const r = await run(['ablate', '--print-spec', name]);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(/^# /); // the comments come along
      const copy = join(await mkdtemp(join(tmpdir(), 'vzero-spec-')), `${name}.yaml`);
      await writeFile(copy, r.out);
      const loaded = loadAblateSpec(copy);
      expect(JSON.stringify(loaded)).toBe(JSON.stringify(ablatePreset(name)));
      expect(loaded).toEqual(parse(r.out));
    },
  );
});

describe('vzero ablate --spec', () => {
  it('a bad file fails before anything runs, naming the key; --preset with --spec is refused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vzero-spec-'));
    const file = join(dir, 'mine.yaml');
    const text = (await run(['ablate', '--print-spec', 'smoke'])).out;
    await writeFile(file, text.replace('evalEvery: 1', 'evalEvery: 1\nevalevery: 2'));
    const r = await run(['ablate', '--spec', file, '--out', join(dir, 'out')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/unknown key "evalevery" in .*mine\.yaml \(did you mean "evalEvery"\?\)/);
    const both = await run(['ablate', '--spec', file, '--preset', 'smoke', '--out', join(dir, 'out')]);
    expect(both.code).toBe(1);
    expect(both.err).toMatch(/give --preset NAME or --spec FILE, not both/);
    const unknown = await run(['ablate', '--print-spec', 'paper']);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(
      /unknown key "paper" in --print-spec; known keys: dense, paper-table, paper-table-60/,
    );
  });
});

describe('a spec with a mistake fails before anything runs, naming it', () => {
  const smoke = () =>
    structuredClone(loadAblateSpec(shippedSpecFile('smoke'))) as unknown as Record<string, any>;
  const fails = (edit: (s: Record<string, any>) => void) => {
    const s = smoke();
    edit(s);
    return () => parseAblateSpec(s, 'my.yaml');
  };

  it('an unknown key, at any depth, with its path and the keys known there', () => {
    expect(fails((s) => (s['seed'] = 3))).toThrow(
      /unknown key "seed" in my\.yaml \(did you mean "seeds"\?\); known keys: name, description/,
    );
    expect(fails((s) => (s['world'].config.widht = 3))).toThrow(
      /unknown key "widht" in my\.yaml: world\.config \(did you mean "width"\?\)/,
    );
    expect(fails((s) => (s['models'].student.overrides.patchsize = 8))).toThrow(
      /unknown key "patchsize" in my\.yaml: models\.student\.overrides \(did you mean "patchSize"\?\)/,
    );
    expect(fails((s) => (s['train'].optim.learningRate = 1))).toThrow(
      /unknown key "learningRate" in my\.yaml: train\.optim; known keys: lr/,
    );
    expect(fails((s) => (s['arms'][2].train.views.randomPositive = true))).toThrow(
      /unknown key "randomPositive" in my\.yaml: arms\.2\.train\.views/,
    );
  });

  it('a bad value with its path and the value', () => {
    expect(fails((s) => (s['seeds'] = 0))).toThrow(/my\.yaml: seeds = 0: /);
    expect(fails((s) => (s['steps'] = 'ten'))).toThrow(/my\.yaml: steps = "ten": /);
    expect(fails((s) => (s['world'].config.distractorsMax = 1))).toThrow(
      /my\.yaml: world\.config\.distractorsMax = 1: must be >= distractorsMin \(3\)/,
    );
    expect(fails((s) => (s['models'].teacher.overrides = { patchSize: 5 }))).toThrow(
      /my\.yaml: models\.teacher\.overrides\.images\.0\.size = 16: must be a multiple of config\.patchSize \(5\)/,
    );
    expect(fails((s) => (s['arms'][1].method = 'dpo'))).toThrow(/my\.yaml: arms\.1\.method = "dpo": /);
    expect(fails((s) => (s['arms'][3].train = { views: { negative: 'randomPositive' } }))).toThrow(
      /my\.yaml: arms\.3\.train\.views\.negative = "randomPositive": /,
    );
    expect(fails((s) => (s['arms'][1].id = 'base'))).toThrow(/my\.yaml: arms\.1\.id = "base": appears twice/);
    expect(
      fails(
        (s) =>
          (s['comparisons'] = [
            ['vzero', 'opd'],
            ['vzero', 'vzero-alpha1'],
          ]),
      ),
    ).toThrow(
      /my\.yaml: comparisons\.1\.1 = "vzero-alpha1": not an arm of this spec \(arms: base, opd, rand, vzero/,
    );
    expect(fails((s) => (s['comparisons'] = [['opd', 'opd']]))).toThrow(
      /comparisons\.0 = .*compares an arm with itself/,
    );
  });

  it("comparisons: the paper's pairs by default, and every other arm against V-Zero, OPD and Base", () => {
    const table = ablatePreset('smoke');
    const arms = [...table.arms, { id: 'vzero-alpha1', label: 'V-Zero, alpha 1', method: 'vzero' as const }];
    const pairs = comparisonPairs(arms);
    expect(pairs).toEqual(
      expect.arrayContaining([
        ['vzero', 'opd'],
        ['vzero', 'base'],
      ]),
    );
    expect(pairs.filter(([a]) => a === 'vzero-alpha1')).toEqual([
      ['vzero-alpha1', 'vzero'],
      ['vzero-alpha1', 'opd'],
      ['vzero-alpha1', 'base'],
    ]);
    // Declared pairs replace the defaults.
    expect(comparisonPairs(arms, [['vzero-alpha1', 'rand']])).toEqual([['vzero-alpha1', 'rand']]);
  });

  it('a file that is not there or not YAML is named', () => {
    expect(() => loadAblateSpec('/nonexistent/spec.yaml')).toThrow(
      /--spec = "\/nonexistent\/spec\.yaml": cannot read the file \(ENOENT\)/,
    );
    expect(() => shippedSpecFile('paper-tabel')).toThrow(/did you mean "paper-table"/);
  });
});
