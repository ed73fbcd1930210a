import { describe, expect, it } from 'vitest';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidInputError, UnknownKeyError } from '@vzero/core';
import { applyOverrides, parseTrainConfig, readConfigFile } from '../src/config.js';

describe('train config', () => {
  it('fills documented defaults', () => {
    const c = parseTrainConfig({});
    expect(c.method).toBe('vzero');
    expect(c.rollout.n).toBe(8);
    expect(c.gate.preset).toBe('reference');
    expect(c.loss).toMatchObject({ estimator: 'k1', mode: 'pg', aggregation: 'token-mean', clamp: 10 });
    expect(c.views.negative).toBe('outside-downsampled');
  });

  it('rejects an unknown top-level key by name', () => {
    expect(() => parseTrainConfig({ stpes: 3 })).toThrow(UnknownKeyError);
    expect(() => parseTrainConfig({ stpes: 3 })).toThrow(
      /unknown key "stpes" in config \(did you mean "steps"\?\)/,
    );
  });

  it('rejects an unknown nested key by its path', () => {
    expect(() => parseTrainConfig({ gate: { alhpa: 1 } })).toThrow(
      /unknown key "alhpa" in config\.gate \(did you mean "alpha"\?\)/,
    );
  });

  it('rejects bad values naming the field and value', () => {
    expect(() => parseTrainConfig({ rollout: { n: 0 } })).toThrow(InvalidInputError);
    expect(() => parseTrainConfig({ rollout: { n: 0 } })).toThrow(/config\.rollout\.n = 0/);
    expect(() => parseTrainConfig({ method: 'ppo' })).toThrow(/config\.method = "ppo"/);
    expect(() => parseTrainConfig({ views: { negative: 'inside' } })).toThrow(
      /config\.views\.negative = "inside"/,
    );
  });

  it('rejects the retired views.randomPositive naming its replacement', () => {
    expect(() => parseTrainConfig({ views: { randomPositive: true } })).toThrow(
      /config\.views\.randomPositive = true: this key was replaced: write views\.negative: 'random-positive' instead/,
    );
    expect(parseTrainConfig({ views: { negative: 'random-positive' } }).views.negative).toBe(
      'random-positive',
    );
  });

  it('applies key.path=value overrides before validation', () => {
    const raw = applyOverrides({ gate: { preset: 'paper' } }, [
      'gate.alpha=0.25',
      'loss.estimator=k3',
      'steps=4',
      'eval.splits=[val, test]',
    ]);
    const c = parseTrainConfig(raw);
    expect(c.gate).toMatchObject({ preset: 'paper', alpha: 0.25 });
    expect(c.loss.estimator).toBe('k3');
    expect(c.steps).toBe(4);
    expect(c.eval.splits).toEqual(['val', 'test']);
    expect(() => applyOverrides({}, ['steps'])).toThrow(/--set = "steps": expected key.path=value/);
    expect(() => parseTrainConfig(applyOverrides({}, ['optim.lrr=1']))).toThrow(
      /unknown key "lrr" in config\.optim/,
    );
  });

  it('reads YAML and JSON files and names a broken one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vzero-config-'));
    await writeFile(join(dir, 'a.yaml'), 'method: opd\nrollout:\n  n: 4\n');
    await writeFile(join(dir, 'b.json'), '{"method": "sft"}');
    await writeFile(join(dir, 'c.json'), '{"method": ');
    expect(parseTrainConfig(await readConfigFile(join(dir, 'a.yaml')))).toMatchObject({
      method: 'opd',
      rollout: { n: 4 },
    });
    expect(parseTrainConfig(await readConfigFile(join(dir, 'b.json'))).method).toBe('sft');
    await expect(readConfigFile(join(dir, 'c.json'))).rejects.toThrow(
      /--config = ".*c\.json": not valid JSON/,
    );
    await expect(readConfigFile(join(dir, 'missing.yaml'))).rejects.toThrow(
      /cannot read the file \(ENOENT\)/,
    );
  });
});

describe('config keys and sizes from a hostile user', () => {
  it.each([
    '__proto__.x=1',
    'constructor.prototype.x=1',
    'gate.__proto__.polluted=1',
    'prototype=1',
    'a..b=1',
  ])('rejects --set %s and leaves Object.prototype alone', (entry) => {
    expect(() => applyOverrides({}, [entry])).toThrow(InvalidInputError);
    expect(() => applyOverrides({}, [entry])).toThrow(/--set/);
    expect(({} as Record<string, unknown>)['x']).toBeUndefined();
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('a config file with a "__proto__" key is an unknown key, not a prototype', () => {
    const raw = JSON.parse('{"__proto__": {"steps": 99}}') as unknown;
    expect(() => parseTrainConfig(applyOverrides(raw, []))).toThrow(/__proto__/);
    expect(({} as Record<string, unknown>)['steps']).toBeUndefined();
  });

  it('rejects rollout.n beyond what a step holds, naming the key, at validation', () => {
    expect(() => parseTrainConfig({ rollout: { n: 100000 } })).toThrow(/config\.rollout\.n.*at most 1024/);
    expect(() => parseTrainConfig({ rollout: { n: 1024 }, optim: { promptsPerStep: 32 } })).toThrow(
      /rollout\.n x optim\.promptsPerStep is 32768/,
    );
    expect(parseTrainConfig({ rollout: { n: 1024 }, optim: { promptsPerStep: 16 } }).rollout.n).toBe(1024);
  });

  it('checks the gate settings as the step resolves them, at validation (before any model loads)', () => {
    expect(() => parseTrainConfig({ gate: { wMin: 3, wMax: 1 } })).toThrow(
      /config\.gate\.wMin = 3: expected wMin <= wMax \(wMax = 1\)/,
    );
    // The preset's wMax (2) against an override's wMin.
    expect(() => parseTrainConfig({ gate: { preset: 'paper', wMin: 2.5 } })).toThrow(/gate\.wMin = 2\.5/);
    expect(parseTrainConfig({ gate: { wMin: 0.5, wMax: 1.5 } }).gate.wMax).toBe(1.5);
  });

  it('rejects a split listed twice in eval.splits, naming it', () => {
    expect(() => parseTrainConfig({ eval: { splits: ['val', 'test', 'val'] } })).toThrow(
      /config\.eval\.splits\.2.*"val" is listed twice/,
    );
    expect(() => parseTrainConfig({ eval: { splits: [''] } })).toThrow(/config\.eval\.splits\.0/);
    expect(parseTrainConfig({ eval: { splits: ['val', 'test'] } }).eval.splits).toEqual(['val', 'test']);
  });
});

describe('config files with a byte-order mark', () => {
  it.each(['c.json', 'c.yaml'])('%s reads its first key as written', async (name) => {
    const dir = await mkdtemp(join(tmpdir(), 'vzero-bom-config-'));
    const file = join(dir, name);
    await writeFile(file, name.endsWith('.json') ? '\uFEFF{"steps": 7}' : '\uFEFFsteps: 7\n');
    expect(parseTrainConfig(await readConfigFile(file)).steps).toBe(7);
  });
});
