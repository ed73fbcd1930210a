// Ablation spec files: every shipped spec loads and is exactly the preset the TypeScript
// definitions built (values and key order: finished runs are reused by a key made of them);
// a bad key is named with its path and the keys known there, a bad value with path and value.
// The mistakes are made by reaching into a loaded spec.
/* eslint-disable @typescript-eslint/no-explicit-any */
import { describe, expect, it } from 'vitest';
import { ABLATE_PRESETS, ARMS } from '../src/ablate/presets.js';
import { loadAblateSpec, parseAblateSpec, shippedSpecFile, shippedSpecNames } from '../src/ablate/spec.js';

describe('shipped spec files', () => {
  it('one per preset', () => {
    expect(shippedSpecNames()).toEqual(Object.keys(ABLATE_PRESETS).sort());
  });

  it.each(Object.keys(ABLATE_PRESETS))('%s loads and equals the preset, key order included', (name) => {
    const preset = ABLATE_PRESETS[name as keyof typeof ABLATE_PRESETS];
    const expected = { ...preset, arms: preset.arms.map((id) => ARMS[id]) };
    const loaded = loadAblateSpec(shippedSpecFile(name));
    expect(loaded).toEqual(expected);
    expect(JSON.stringify(loaded)).toBe(JSON.stringify(expected));
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
  });

  it('a file that is not there or not YAML is named', () => {
    expect(() => loadAblateSpec('/nonexistent/spec.yaml')).toThrow(
      /--spec = "\/nonexistent\/spec\.yaml": cannot read the file \(ENOENT\)/,
    );
    expect(() => shippedSpecFile('paper-tabel')).toThrow(/did you mean "paper-table"/);
  });
});
