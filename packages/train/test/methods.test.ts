// The method registry: what the app derives from each method's spec, what registerMethod
// refuses, and that every config section (a registered method's too) is checked before a run
// loads a model or writes its folder.
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { InvalidInputError } from '@vzero/core';
import {
  METHODS,
  currentTrainConfigSchema,
  parseTrainConfig,
  trainConfigSchema,
  type TrainConfig,
} from '../src/config.js';
import {
  BUILTIN_METHODS,
  defineMethod,
  methodNames,
  methodSpec,
  registerMethod,
  registeredMethods,
  unregisterMethod,
  type MethodSpec,
} from '../src/methods/index.js';
import { trainRemote } from '../src/remote/train.js';
import { runInputs } from '../src/run/run-dir.js';
import { configWarnings } from '../src/sanity.js';
import { train } from '../src/trainer.js';

/** A method whose step must never run: the tests here stop before any step. */
const toy = defineMethod({
  name: 'toy',
  description: 'a method for the registry tests',
  data: 'labelled',
  config: {
    key: 'toy',
    schema: z.strictObject({ low: z.number().default(0), high: z.number().default(1) }),
    check: (config, issue) => {
      const t = (config as TrainConfig & { toy: { low: number; high: number } }).toy;
      if (t.low > t.high) issue(['toy', 'low'], `above toy.high (${t.high})`, t.low);
    },
  },
  step: () => Promise.reject(new Error('the toy step ran')),
});

afterEach(() => {
  for (const m of registeredMethods())
    if (!(METHODS as readonly string[]).includes(m.name)) unregisterMethod(m.name);
});

describe('the built-in methods, from the registry', () => {
  it('METHODS and the config are derived from the specs, in their order', () => {
    expect(METHODS).toEqual(BUILTIN_METHODS.map((m) => m.name));
    expect(METHODS).toEqual(['vzero', 'opd', 'sft', 'grpo']);
    expect(methodNames()).toEqual(['vzero', 'opd', 'sft', 'grpo']);
    expect(() => parseTrainConfig({ method: 'ppo' })).toThrow('expected one of "vzero"|"opd"|"sft"|"grpo"');
    // V-Zero's section is its spec's.
    expect(methodSpec('vzero').config?.key).toBe('gate');
    expect(Object.keys(parseTrainConfig({}))).toEqual([
      'method',
      'seed',
      'steps',
      'out',
      'checkpointEvery',
      'checkpointKeep',
      'checkpointBest',
      'data',
      'models',
      'tinker',
      'views',
      'rollout',
      'gate',
      'loss',
      'optim',
      'eval',
      'inspect',
    ]);
  });

  it("each spec says its data, its teacher's views and its remote trainer", () => {
    const described = Object.fromEntries(
      BUILTIN_METHODS.map((m: MethodSpec) => [
        m.name,
        [m.data, m.teacher?.views ?? 'no teacher', m.remote ?? '-'],
      ]),
    );
    expect(described).toEqual({
      vzero: ['label-free', ['positive', 'negative'], 'opd'],
      opd: ['label-free', ['positive'], 'opd'],
      sft: ['labelled', 'no teacher', '-'],
      grpo: ['labelled', 'no teacher', '-'],
    });
  });

  it('a run reads models.teacher exactly when its method has a teacher', () => {
    const models = { student: 's', teacher: 't' };
    for (const m of registeredMethods()) {
      const fields = runInputs({ method: m.name, models }).map((p) => p.field);
      expect(fields.includes('models.teacher'), m.name).toBe(m.teacher !== undefined);
    }
    // A served teacher is not a folder the run reads; an unknown method has no teacher.
    expect(runInputs({ method: 'vzero', models: { ...models, teacherUrl: 'http://x' } })).toEqual([
      { field: 'models.student', path: 's' },
    ]);
    expect(runInputs({ method: 'nope', models }).map((p) => p.field)).toEqual(['models.student']);
  });

  it("the warnings are each method's own", () => {
    const warned = (method: string) => configWarnings(parseTrainConfig({ method, rollout: { n: 1 } }));
    expect(warned('vzero')).toEqual([expect.stringMatching(/^rollout\.n = 1 with method vzero/)]);
    expect(warned('grpo')).toEqual([expect.stringMatching(/^rollout\.n = 1 with method grpo/)]);
    expect(warned('opd')).toEqual([]);
    expect(warned('sft')).toEqual([]);
    expect(configWarnings(parseTrainConfig({ method: 'vzero' }))).toEqual([]);
  });

  it('a remote student is refused the methods without a remote trainer, named from the specs', () => {
    const remote = { models: { student: 'tinker://m' }, tinker: { tokenizer: 'tok' } };
    expect(() => parseTrainConfig({ ...remote, method: 'grpo' })).toThrow(
      'config.method = "grpo": a remote student (tinker://) trains with vzero or opd',
    );
    expect(parseTrainConfig({ ...remote, method: 'opd' }).method).toBe('opd');
  });
});

describe('registerMethod', () => {
  it("adds the method's name and section (after the built-in ones), with its defaults and check", () => {
    expect(currentTrainConfigSchema()).toBe(trainConfigSchema);
    registerMethod(toy);
    expect(currentTrainConfigSchema()).not.toBe(trainConfigSchema);
    expect(methodNames()).toEqual(['vzero', 'opd', 'sft', 'grpo', 'toy']);
    const c = parseTrainConfig({ method: 'toy' }) as TrainConfig & { toy: unknown };
    expect(c.method).toBe('toy');
    expect(c.toy).toEqual({ low: 0, high: 1 });
    const keys = Object.keys(c);
    expect(keys.slice(keys.indexOf('gate'), keys.indexOf('loss') + 1)).toEqual(['gate', 'toy', 'loss']);
    // Its section is checked whatever the method, as the gate's is.
    expect(() => parseTrainConfig({ method: 'vzero', toy: { low: 2 } })).toThrow(
      'config.toy.low = 2: above toy.high (1)',
    );
    expect(() => parseTrainConfig({ toy: { hihg: 2 } })).toThrow(/did you mean "high"/);
    expect(unregisterMethod('toy')).toBe(true);
    expect(currentTrainConfigSchema()).toBe(trainConfigSchema);
    expect(() => parseTrainConfig({ toy: {} })).toThrow(/toy/);
  });

  it('refuses a spec the app cannot run, naming the field', () => {
    const refused = (spec: object, message: RegExp) => {
      expect(() => registerMethod({ ...toy, ...spec } as typeof toy)).toThrow(InvalidInputError);
      expect(() => registerMethod({ ...toy, ...spec } as typeof toy)).toThrow(message);
    };
    refused({ name: 'Toy Method' }, /registerMethod\(Toy Method\)\.name = "Toy Method": expected lower case/);
    refused({ name: 'base' }, /name = "base": reserved/);
    refused({ name: 'vzero' }, /name = "vzero": a built-in method has this name/);
    refused({ data: 'labels' }, /\.data = "labels": expected one of label-free, labelled/);
    refused({ teacher: { views: ['negative'] } }, /teacher\.views.*list 'positive'/);
    refused(
      { teacher: { views: ['positive', 'crop'] } },
      /teacher\.views.*expected a list of positive, negative/,
    );
    refused(
      { remote: 'opd' },
      /remote = "opd": the remote OPD trainer runs label-free methods with a teacher/,
    );
    refused(
      { config: { ...toy.config, key: 'optim' } },
      /config\.key = "optim": a section every method shares/,
    );
    refused({ config: { ...toy.config, key: 'gate' } }, /config\.key = "gate": method vzero has a section/);
    refused(
      { config: { key: 'toy', schema: z.strictObject({ need: z.number() }) } },
      /a default for every key\): toy\.need/,
    );
    refused({ step: undefined }, /\.step = undefined: expected the step function/);
    registerMethod(toy);
    refused({}, /name = "toy": a method of this name is registered/);
    expect(() => unregisterMethod('vzero')).toThrow(/built-in/);
    expect(() => methodSpec('nope')).toThrow(
      'method = "nope": not a registered method (registered: vzero, opd',
    );
  });
});

describe('every section is checked before a run loads or writes anything', () => {
  const missing = (root: string) => ({
    student: join(root, 'no-student'),
    teacher: join(root, 'no-teacher'),
  });

  it('train() refuses a config built in code with a bad section, before loading the student', async () => {
    const root = await mkdtemp(join(tmpdir(), 'vzero-methods-'));
    const valid = parseTrainConfig({ out: join(root, 'run'), models: missing(root) });
    // A bad gate pair, as the step would only find it after rollouts.
    await expect(train({ ...valid, gate: { ...valid.gate, wMin: 3, wMax: 1 } })).rejects.toThrow(
      /config\.gate\.w(Min|Max) = /,
    );
    await expect(train({ ...valid, rollout: { ...valid.rollout, n: 0 } })).rejects.toThrow(
      'config.rollout.n = 0',
    );
    // A registered method's section too.
    registerMethod(toy);
    const bad = { ...valid, method: 'toy', toy: { low: 5, high: 1 } } as TrainConfig;
    await expect(train(bad)).rejects.toThrow('config.toy.low = 5: above toy.high (1)');
    expect(existsSync(join(root, 'run'))).toBe(false);
    // The same config, valid, gets as far as the missing student.
    await expect(train({ ...bad, toy: { low: 0, high: 1 } } as TrainConfig)).rejects.toThrow(
      /models\.student/,
    );
  });

  it('trainRemote() refuses a method without a remote trainer before connecting', async () => {
    const root = await mkdtemp(join(tmpdir(), 'vzero-methods-'));
    const valid = parseTrainConfig({
      out: join(root, 'run'),
      models: { student: 'tinker://m', teacher: 't' },
      tinker: { baseUrl: 'http://127.0.0.1:1', tokenizer: 'tok' },
    });
    await expect(trainRemote({ ...valid, method: 'sft' })).rejects.toThrow(
      'config.method = "sft": a remote student (tinker://) trains with vzero or opd',
    );
    expect(existsSync(join(root, 'run'))).toBe(false);
  });
});
