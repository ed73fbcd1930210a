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
