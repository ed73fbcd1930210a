// A method added in one file (seqkd-method.ts, registered with registerMethod) runs through the
// real `vzero train` and `vzero ablate` code paths on tiny real models, with nothing else edited:
// the registry gives the config its name and section, the run its teacher and its data, the
// warnings their line.
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadCheckpoint } from '@vzero/model';
import { runAblate } from '../src/ablate/run.js';
import { ablatePreset, type AblatePreset } from '../src/ablate/presets.js';
import { methodNames, registerMethod, unregisterMethod } from '../src/index.js';
import { run } from './cli-run.js';
import { makeFixture, tinyConfig, type Fixture } from './fixture.js';
import { seqkdMethod } from './seqkd-method.js';

let f: Fixture;
beforeAll(async () => {
  f = await makeFixture({ train: 6, val: 4, test: 4, 'test-counter-prior': 4 });
  // The method is label-free: with the training split's labels gone it still trains.
  await rm(join(f.world, 'train', 'labels.jsonl'));
});

async function weights(dir: string): Promise<Float32Array[]> {
  const { model } = await loadCheckpoint(dir);
  const out = model.getWeights().map((w) => (w.tensor.dataSync() as Float32Array).slice());
  model.dispose();
  return out;
}

async function configFile(name: string, overrides: Record<string, unknown>): Promise<string> {
  const file = join(f.root, `${name}.json`);
  await writeFile(file, JSON.stringify(tinyConfig(f, join(f.root, name), overrides)));
  return file;
}

const records = async (out: string) =>
  (await readFile(join(out, 'metrics.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('a method from one file, through vzero train', () => {
  it('is registered: its name and section are in the config', () => {
    expect(methodNames()).toEqual(['vzero', 'opd', 'sft', 'grpo', 'seqkd']);
  });

  it('trains the student from the teacher, reading no labels, with its section filled in', async () => {
    const out = join(f.root, 'seqkd');
    const file = await configFile('seqkd', {
      method: 'seqkd',
      steps: 3,
      eval: { splits: ['val'], limit: 4 },
    });
    const before = await weights(f.models.student);
    const tensors = tf.memory().numTensors;
    const { code, out: stdout, err } = await run(['train', '--config', file]);
    expect(err).not.toMatch(/error/i);
    expect(code).toBe(0);
    expect(stdout).toContain('trained 3 steps (seqkd)');
    // The command keeps the trained student's weights (its process ends there); nothing else stays.
    expect(tf.memory().numTensors - tensors).toBe(before.length);

    const saved = JSON.parse(await readFile(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(saved['seqkd']).toEqual({ temperature: 0, maxTokens: 12 });
    const steps = (await records(out)).filter((r) => r['event'] === undefined);
    expect(steps.map((r) => [r['step'], r['method']])).toEqual([
      [1, 'seqkd'],
      [2, 'seqkd'],
      [3, 'seqkd'],
    ]);
    for (const r of steps) {
      expect(Number.isFinite(r['loss'])).toBe(true);
      expect(r['gradNorm']).toBeGreaterThan(0);
    }
    const evals = (await records(out)).filter((r) => r['event'] === 'eval');
    expect(evals.map((r) => r['step'])).toEqual([0, 3]);

    // The student moved.
    const after = await weights(join(out, 'student'));
    const moved = after.filter((w, i) => w.some((x, k) => x !== (before[i] as Float32Array)[k])).length;
    expect(moved).toBeGreaterThan(after.length / 2);
  });

  it("loads the teacher because its spec asks for one, and prints the method's warnings", async () => {
    const missing = await configFile('seqkd-no-teacher', {
      method: 'seqkd',
      steps: 1,
      models: { teacher: join(f.root, 'no-such-teacher') },
    });
    const failed = await run(['train', '--config', missing]);
    expect(failed.code).not.toBe(0);
    expect(failed.err).toMatch(/models\.teacher/);

    const self = await configFile('seqkd-self', {
      method: 'seqkd',
      steps: 1,
      models: { selfTeacher: 'frozen' },
    });
    const ran = await run(['train', '--config', self]);
    expect(ran.code).toBe(0);
    expect(ran.err).toContain('warning: models.selfTeacher with method seqkd');
  });

  it('checks its section before anything is loaded or written, naming the key', async () => {
    const file = await configFile('seqkd-bad', { method: 'seqkd', steps: 1 });
    const bad = await run(['train', '--config', file, '--set', 'seqkd.temperature=-1']);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/seqkd-bad\.json\.seqkd\.temperature = -1: Too small/);
    const typo = await run(['train', '--config', file, '--set', 'seqkd.temprature=1']);
    expect(typo.code).not.toBe(0);
    expect(typo.err).toMatch(/temprature.*did you mean "temperature"/s);
    expect(existsSync(join(f.root, 'seqkd-bad'))).toBe(false);
  });

  it('is unknown once unregistered, and registers again', async () => {
    expect(unregisterMethod('seqkd')).toBe(true);
    try {
      const file = await configFile('seqkd-gone', { method: 'seqkd', steps: 1 });
      const gone = await run(['train', '--config', file]);
      expect(gone.code).not.toBe(0);
      expect(gone.err).toMatch(/\.method = "seqkd": Invalid option/);
      // Without the method its section is an unknown key too.
      const section = await configFile('seqkd-section', { method: 'vzero', steps: 1, seqkd: {} });
      expect((await run(['train', '--config', section])).err).toMatch(/seqkd/);
    } finally {
      registerMethod(seqkdMethod);
    }
    expect(methodNames()).toContain('seqkd');
  });
});

describe('a method from one file, through vzero ablate', () => {
  it('is an arm like the built-in ones, with its runs in the report', async () => {
    // The smoke preset's worlds, models and settings, with three arms and the default comparisons.
    const { comparisons: _paired, ...smoke } = ablatePreset('smoke');
    const preset: AblatePreset = {
      ...smoke,
      name: 'seqkd-smoke',
      seeds: 1,
      arms: [
        { id: 'base', label: 'Base', method: 'base' },
        { id: 'opd', label: 'OPD', method: 'opd' },
        // An arm's method is any registered one (ablate/spec.ts).
        { id: 'seqkd', label: 'SeqKD (plug-in)', method: 'seqkd' },
      ],
    };
    const out = join(f.root, 'ablate');
    const result = await runAblate(
      { preset, out, docs: join(f.root, 'docs'), models: f.models, world: f.world },
      () => {},
    );
    const arms = result.report.arms.map((a) => a.arm);
    expect(arms).toEqual(['base', 'opd', 'seqkd']);
    const seqkd = result.report.runs.find((r) => r.arm === 'seqkd');
    expect(seqkd?.curve.map((c) => c.step)).toEqual([0, 1, 2]);
    const metrics = await records(join(out, 'runs', 'seqkd-seed0'));
    expect(metrics.filter((r) => r['method'] === 'seqkd')).toHaveLength(2);
    expect(await readFile(result.markdown, 'utf8')).toContain('SeqKD (plug-in)');
  });
});
