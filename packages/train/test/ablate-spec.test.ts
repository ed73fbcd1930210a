// Ablation spec files: every shipped spec loads, and a printed copy runs exactly what --preset
// runs (values and key order: finished runs are reused by a key made of them; that the files
// equal the presets the TypeScript built before is checked at commit 8a6c6a4); a bad key is
// named with its path and the keys known there, a bad value with path and value.
// The mistakes are made by reaching into a loaded spec.
/* eslint-disable @typescript-eslint/no-explicit-any */
import { describe, expect, it } from 'vitest';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ABLATE_PRESETS, ablatePreset } from '../src/ablate/presets.js';
import { comparisonPairs } from '../src/ablate/compare.js';
import { loadAblateSpec, parseAblateSpec, shippedSpecFile, shippedSpecNames } from '../src/ablate/spec.js';
import { InvalidInputError, UnknownKeyError } from '@vzero/core';
import { runAblateCommand } from '../src/commands/ablate.js';
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

  it("paper-table-60 extends paper-table: the same spec but for its name and the paper's 60 steps", async () => {
    // Its results are read beside RESULTS.md as the same set-up, and its work folder makes the same
    // starting models; as a file it says only what differs, so a change to paper-table is its too.
    const file = await readFile(shippedSpecFile('paper-table-60'), 'utf8');
    expect(Object.keys(parse(file) as object)).toEqual([
      'extends',
      'name',
      'description',
      'steps',
      'evalEvery',
    ]);
    const short = ablatePreset('paper-table-60');
    const table = ablatePreset('paper-table');
    expect([table.steps, table.evalEvery]).toEqual([180, 60]);
    // The resolved spec, key order included (finished runs are found by a key made of it).
    expect(JSON.stringify(short)).toBe(
      JSON.stringify({
        ...table,
        name: 'paper-table-60',
        description: short.description,
        steps: 60,
        evalEvery: 30,
      }),
    );
    expect(short.description).toMatch(/^paper-table at the paper's 60 steps/);
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
      // As written (no defaults added); a spec that extends another says only what differs.
      const { extends: base, ...own } = parse(r.out) as Record<string, unknown>;
      if (base === undefined) expect(loaded).toEqual(own);
      else expect(loaded).toMatchObject(own);
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

describe('a spec that extends another', () => {
  const write = async (dir: string, file: string, text: string) => {
    await writeFile(join(dir, file), text);
    return join(dir, file);
  };
  const folder = () => mkdtemp(join(tmpdir(), 'vzero-extends-'));

  it('merges objects key by key, replaces lists and values, removes a key set to null, and edits arms by id', async () => {
    const dir = await folder();
    const smoke = ablatePreset('smoke');
    // A base beside it that itself extends a shipped preset; the spec names it by a relative path.
    await write(
      dir,
      'base.yaml',
      'extends: smoke\nname: my-base\nseeds: 3\nworld:\n  config:\n    width: 200\n',
    );
    const file = await write(
      dir,
      'mine.yaml',
      [
        'extends: ./base.yaml',
        'name: mine',
        'world:',
        '  config:',
        '    distractorsMax: 4',
        'models:',
        '  student:',
        '    overrides:',
        '      images: [{ role: full, size: 32 }]',
        '  teacher:',
        '    lr: 0.001',
        'train:',
        '  rollout:',
        '    n: 2',
        'arms:',
        '  rand: null',
        '  vzero-self: null',
        '  vzero-g4:',
        '    label: V-Zero (G 2)',
        '    train:',
        '      rollout:',
        '        n: 2',
        '  vzero-alpha1:',
        '    label: V-Zero, gate alpha 1',
        '    method: vzero',
        '    train:',
        '      gate:',
        '        alpha: 1',
        'comparisons: [[vzero-alpha1, vzero]]',
      ].join('\n'),
    );
    const mine = loadAblateSpec(file) as unknown as Record<string, any>;
    expect(mine['extends']).toBeUndefined();
    expect(mine['name']).toBe('mine');
    expect(mine['description']).toBe(smoke.description);
    expect(mine['seeds']).toBe(3); // from the base between
    // Deep merge: the keys the spec gives replace the base's, the rest stay (in the base's order).
    expect(mine['world'].config).toEqual({ ...smoke.world.config, width: 200, distractorsMax: 4 });
    expect(Object.keys(mine['world'].config)).toEqual(Object.keys(smoke.world.config));
    expect(mine['models'].teacher).toEqual({ ...smoke.models.teacher, lr: 0.001 });
    expect(mine['train']).toEqual({ ...smoke.train, rollout: { ...smoke.train.rollout, n: 2 } });
    // A list (here the student's images) replaces the base's whole.
    expect(mine['models'].student.overrides).toEqual({ images: [{ role: 'full', size: 32 }] });
    // Arms by id: removed, changed in place (merged), and a new one added at the end.
    const ids = (arms: readonly { id: string }[]) => arms.map((a) => a.id);
    expect(ids(mine['arms'])).toEqual([
      ...ids(smoke.arms).filter((id) => id !== 'rand' && id !== 'vzero-self'),
      'vzero-alpha1',
    ]);
    const g = mine['arms'].find((a: { id: string }) => a.id === 'vzero-g4');
    expect(g).toEqual({
      id: 'vzero-g4',
      label: 'V-Zero (G 2)',
      method: 'vzero',
      train: { rollout: { n: 2 } },
    });
    expect(mine['arms'].at(-1)).toEqual({
      id: 'vzero-alpha1',
      label: 'V-Zero, gate alpha 1',
      method: 'vzero',
      train: { gate: { alpha: 1 } },
    });
    expect(mine['comparisons']).toEqual([['vzero-alpha1', 'vzero']]);
    // A list of arms replaces them all; null removes an optional section.
    const listed = await write(
      dir,
      'listed.yaml',
      'extends: paper-table\nname: listed\nchecks: null\narms:\n  - { id: base, label: Base, method: base }\n  - { id: opd, label: OPD, method: opd }\n',
    );
    const l = loadAblateSpec(listed);
    expect(l.arms).toEqual([
      { id: 'base', label: 'Base', method: 'base' },
      { id: 'opd', label: 'OPD', method: 'opd' },
    ]);
    expect(l.checks).toBeUndefined();
    expect(l.models).toEqual(ablatePreset('paper-table').models);
  });

  it('runs: the work folder keeps the spec resolved in full, which --spec runs again', async () => {
    const dir = await folder();
    const drop = ablatePreset('smoke')
      .arms.filter((a) => a.id !== 'base' && a.id !== 'vzero')
      .map((a) => `  ${a.id}: null`);
    const file = await write(
      dir,
      'tiny.yaml',
      ['extends: smoke', 'name: tiny', 'seeds: 1', 'steps: 1', 'arms:', ...drop].join('\n'),
    );
    const out = join(dir, 'out');
    const r = await runAblateCommand({ spec: file, out }, () => {});
    const saved = await readFile(join(out, 'spec.yaml'), 'utf8');
    expect(saved).not.toMatch(/extends/);
    expect(parse(saved)).toEqual(loadAblateSpec(file));
    expect(JSON.stringify(loadAblateSpec(join(out, 'spec.yaml')))).toBe(JSON.stringify(loadAblateSpec(file)));
    expect(r.report.arms.map((a) => a.arm)).toEqual(['base', 'vzero']);
    expect(r.report.runs.map((x) => `${x.arm} ${x.seed}`)).toEqual(['vzero 0']);
    // Its report in its work folder: no paper ablation, and its only link is the JSON it wrote.
    const md = await readFile(r.markdown, 'utf8');
    expect(md).not.toMatch(/## (Gate ablation|Group size)/);
    expect([...md.matchAll(/\]\(([^)]+)\)/g)].map((m) => m[1])).toEqual(['results/tiny.json']);
    expect(existsSync(join(out, 'results', 'tiny.json'))).toBe(true);
    const again = await runAblateCommand({ spec: join(out, 'spec.yaml'), out }, () => {});
    expect(again.report.runs.map((x) => x.curve)).toEqual(r.report.runs.map((x) => x.curve));
  }, 240_000);

  it("the README's example loads as it says", async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    const text = /```yaml\n(extends: paper-table\n[^`]*)```/.exec(readme)?.[1];
    expect(text).toBeDefined();
    const file = await write(await folder(), 'my-alpha.yaml', text as string);
    const s = loadAblateSpec(file);
    const table = ablatePreset('paper-table');
    expect(s.name).toBe('my-alpha');
    expect(s.train.optim).toEqual({ ...table.train.optim, lr: 0.0005 });
    expect(s.arms.map((a) => a.id)).toEqual([
      ...table.arms.map((a) => a.id).filter((id) => id !== 'vzero-token'),
      'vzero-alpha1',
    ]);
    expect(s.arms.find((a) => a.id === 'vzero-g4')?.train).toEqual({ rollout: { n: 2 } });
  });

  it('a cycle is named with the whole chain', async () => {
    const dir = await folder();
    await write(dir, 'a.yaml', 'extends: b.yaml\nname: a\n');
    await write(dir, 'b.yaml', 'extends: ./c.yaml\nname: b\n');
    await write(dir, 'c.yaml', 'extends: a.yaml\nname: c\n');
    const a = join(dir, 'a.yaml');
    expect(() => loadAblateSpec(a)).toThrow(InvalidInputError);
    expect(() => loadAblateSpec(a)).toThrow(
      `${join(dir, 'c.yaml')}: extends = "a.yaml": the specs extend each other in a cycle: ${a} -> ${join(dir, 'b.yaml')} -> ${join(dir, 'c.yaml')} -> ${a}`,
    );
    const self = await write(dir, 'self.yaml', 'extends: self.yaml\nname: self\n');
    expect(() => loadAblateSpec(self)).toThrow(/cycle: .*self\.yaml -> .*self\.yaml$/);
  });

  it('a mistake is named: unknown keys with their path, the base, the arms edited, the name', async () => {
    const dir = await folder();
    const fails = async (text: string) => {
      const file = await write(dir, 'mine.yaml', `extends: smoke\nname: mine\n${text}`);
      return () => loadAblateSpec(file);
    };
    expect(await fails('evalevery: 2\n')).toThrow(
      /unknown key "evalevery" in .*mine\.yaml \(extends smoke\) \(did you mean "evalEvery"\?\)/,
    );
    expect(await fails('world:\n  config:\n    widht: 3\n')).toThrow(
      /unknown key "widht" in .*mine\.yaml \(extends smoke\): world\.config \(did you mean "width"\?\)/,
    );
    expect(await fails('arms:\n  vzero:\n    train:\n      optim:\n        learningRate: 1\n')).toThrow(
      /unknown key "learningRate" in .*mine\.yaml \(extends smoke\): arms\.3\.train\.optim; known keys: lr/,
    );
    expect(await fails('steps: 0\n')).toThrow(/mine\.yaml \(extends smoke\): steps = 0: /);
    expect(await fails('arms:\n  vzero-token: null\n')).toThrow(
      /mine\.yaml: arms\.vzero-token = null: removes an arm that the spec it extends does not have \(arms: base, opd, rand/,
    );
    expect(await fails('arms:\n  vzero: 3\n')).toThrow(
      /mine\.yaml: arms\.vzero = 3: expected the arm's keys/,
    );
    expect(await fails('arms:\n  vzero:\n    id: opd\n')).toThrow(
      /mine\.yaml: arms\.vzero\.id = "opd": differs from the arm's key \("vzero"\)/,
    );
    expect(await fails('checks: null\n')).toThrow(
      /mine\.yaml: checks = null: removes a key that the spec it extends does not have/,
    );
    // Removing an arm that a comparison names is caught on the resolved spec.
    expect(await fails('comparisons: [[rand, opd]]\narms:\n  rand: null\n')).toThrow(
      /mine\.yaml \(extends smoke\): comparisons\.0\.0 = "rand": not an arm of this spec/,
    );
    expect(await fails('arms:\n  vzero-new:\n    label: New\n')).toThrow(
      /mine\.yaml \(extends smoke\): arms\.9\.method = undefined/,
    );
    const unknown = await write(dir, 'unknown.yaml', 'extends: paper-tabel\nname: x\n');
    expect(() => loadAblateSpec(unknown)).toThrow(UnknownKeyError);
    expect(() => loadAblateSpec(unknown)).toThrow(
      /unknown key "paper-tabel" in .*unknown\.yaml: extends \(did you mean "paper-table"\?\)/,
    );
    const missing = await write(dir, 'missing.yaml', 'extends: ./nothere.yaml\nname: x\n');
    expect(() => loadAblateSpec(missing)).toThrow(
      /missing\.yaml: extends = ".*nothere\.yaml": cannot read the file \(ENOENT\)/,
    );
    const notString = await write(dir, 'bad.yaml', 'extends: 3\nname: x\n');
    expect(() => loadAblateSpec(notString)).toThrow(/bad\.yaml: extends = 3: expected a shipped preset name/);
    // Its own name: the work folder (runs/ablate/<name>) and the report are named by it.
    const nameless = await write(dir, 'nameless.yaml', 'extends: smoke\nsteps: 3\n');
    expect(() => loadAblateSpec(nameless)).toThrow(
      /nameless\.yaml: name = undefined: a spec that extends another gives its own name/,
    );
    const same = await write(dir, 'same.yaml', 'extends: smoke\nname: smoke\n');
    expect(() => loadAblateSpec(same)).toThrow(
      /same\.yaml: name = "smoke": is the name of the spec it extends \(smoke\)/,
    );
  });
});
