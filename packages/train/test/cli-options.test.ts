// A command's options come from its zod schema (commands/options.ts): the flag, its value's check, its
// default and help text, --config file keys, deprecated spellings, required options. Tested on a
// toy command built with the real helper and parsed by commander, then on the vzero commands:
// each one's options are its schema's keys, with the schema's defaults, and the train config's
// defaults are the packages' own.
import { describe, expect, it } from 'vitest';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { z } from 'zod';
import { ADAMW_DEFAULTS, PRETRAIN_DEFAULTS } from '@vzero/model';
import { DEFAULT_OPD_LOSS_CONFIG } from '@vzero/opd-loss';
import { DEFAULT_ROLLOUT_OPTIONS } from '@vzero/rollout';
import { DEFAULT_VIEW_SPEC } from '@vzero/views';
import { buildProgram, runCli } from '../src/cli.js';
import { addCommand, flag, parseOptions, seedValue } from '../src/commands/options.js';
import { parseTrainConfig } from '../src/config.js';
import { EVAL_OPTIONS } from '../src/commands/eval.js';
import { PRETRAIN_OPTIONS } from '../src/commands/pretrain.js';
import { TRAIN_OPTIONS } from '../src/commands/train.js';
import { ABLATE_OPTIONS } from '../src/commands/ablate.js';

const TOY = z.strictObject({
  data: flag(z.string(), 'what it reads', { value: 'dir', deprecated: ['--bench'] }),
  maxTokens: flag(z.number().int().min(1).default(16), 'longest answer', { value: 'n' }),
  seed: flag(seedValue().default(0), 'seed', { value: 'k' }),
  rate: flag(z.number().min(0, 'a negative rate climbs the loss').optional(), 'a rate', { value: 'x' }),
  mode: flag(z.enum(['fast', 'slow']).default('fast'), 'how', { value: 'm' }),
  url: flag(z.array(z.string()).optional(), 'a server; repeat for more', { value: 'url' }),
  set: flag(z.array(z.string()).default([]), 'overrides', { value: 'k=v', variadic: true }),
  plugins: flag(z.array(z.string()).optional(), 'a plug-in', { value: 'module', flag: 'plugin' }),
  dryRun: flag(z.boolean().optional(), 'only say what it would do'),
});

/** Runs the toy command on `args`; returns what its action got, its exit code and its stderr. */
async function toy(args: string[], configFile = true) {
  let err = '';
  const warn = (line: string) => (err += line + '\n');
  let got: unknown;
  const program = new Command('toy').exitOverride().configureOutput({ writeErr: (t) => (err += t) });
  const cmd = addCommand(
    program,
    { name: 'go', description: 'a toy', options: TOY, configFile },
    warn,
    (o) => {
      got = o;
    },
  );
  cmd.exitOverride();
  try {
    await program.parseAsync(['go', ...args], { from: 'user' });
    return { got, err, code: 0, help: cmd.helpInformation() };
  } catch (error) {
    return { got, err: err + String((error as Error).message), code: 1, help: cmd.helpInformation() };
  }
}

describe('a schema as command-line options', () => {
  it('each key is a flag in kebab case, with its value name, default, choices and help text', async () => {
    const { help } = await toy(['--help']);
    expect(help).toContain('--data <dir>');
    expect(help).toMatch(/--max-tokens <n>\s+longest answer \(default: 16\)/);
    expect(help).toMatch(/--mode <m>\s+how \(choices: "fast", "slow", default: "fast"\)/);
    expect(help).toContain('--set <k=v...>');
    expect(help).toContain('--plugin <module>');
    expect(help).toContain('--dry-run');
    expect(help).toContain('--config <file>');
    expect(help).not.toContain('--bench');
  });

  it('parses values by the schema, fills defaults, collects lists; the action gets the typed options', async () => {
    const r = await toy([
      '--data',
      'd',
      '--max-tokens',
      '4',
      '--url',
      'a',
      '--url',
      'b',
      '--set',
      'x=1',
      'y=2',
      '--plugin',
      'p.js',
      '--dry-run',
    ]);
    expect(r.err).toBe('');
    expect(r.got).toEqual({
      data: 'd',
      maxTokens: 4,
      seed: 0,
      mode: 'fast',
      url: ['a', 'b'],
      set: ['x=1', 'y=2'],
      plugins: ['p.js'],
      dryRun: true,
    });
  });

  it('a bad value names the flag, the bound and its reason from the schema, and the value', async () => {
    expect((await toy(['--data', 'd', '--max-tokens', '0'])).err).toMatch(/--max-tokens must be >= 1, got 0/);
    expect((await toy(['--data', 'd', '--max-tokens', '2.5'])).err).toMatch(
      /--max-tokens must be an integer, got "2\.5"/,
    );
    expect((await toy(['--data', 'd', '--seed', '-1'])).err).toMatch(
      /--seed must be >= 0 \(seeds are non-negative\), got -1/,
    );
    expect((await toy(['--data', 'd', '--rate', 'fast'])).err).toMatch(
      /--rate must be a finite number, got "fast"/,
    );
    expect((await toy(['--data', 'd', '--rate', '-1'])).err).toMatch(
      /--rate must be >= 0 \(a negative rate climbs the loss\), got -1/,
    );
    expect((await toy(['--data', 'd', '--mode', 'medium'])).err).toMatch(/Allowed choices are fast, slow/);
    for (const args of [
      ['--max-tokens', '0'],
      ['--mode', 'x'],
    ])
      expect((await toy(['--data', 'd', ...args])).got).toBeUndefined();
  });

  it('a required key (no default, not optional) is checked after --config, naming the flag', async () => {
    const r = await toy([]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /--data = undefined: is required \(on the command line, or as "data:" in --config\)/,
    );
    const without = await toy([], false);
    expect(without.err).toMatch(/--data = undefined: is required$/);
  });

  it('an old spelling works, hidden, with one notice, on the command line and as a --config key', async () => {
    const r = await toy(['--bench', 'old']);
    expect(r.got).toMatchObject({ data: 'old' });
    expect(r.err).toBe('warning: --bench is deprecated, use --data (the old spelling will be removed)\n');
    const dir = await mkdtemp(join(tmpdir(), 'vzero-cli-options-'));
    const file = join(dir, 'old.yaml');
    await writeFile(file, 'bench: from-file\nmaxTokens: 8\nurl: [a, b]\n');
    const f = await toy(['--config', file, '--seed', '3']);
    expect(f.got).toMatchObject({ data: 'from-file', maxTokens: 8, url: ['a', 'b'], seed: 3 });
    expect(f.err).toBe(`warning: ${file}: bench is deprecated, use data (the old name will be removed)\n`);
    await writeFile(file, 'bench: a\ndata: b\n');
    expect((await toy(['--config', file])).err).toMatch(/old\.yaml: bench = "a": is the old name of data/);
    await writeFile(file, 'data: d\nmaxTokens: 0\n');
    expect((await toy(['--config', file])).err).toMatch(
      /old\.yaml: maxTokens = 0: --max-tokens must be >= 1/,
    );
  });

  it('a program gives the same options as an object: defaults filled in, bad values named by flag', () => {
    expect(parseOptions(TOY, { data: 'd' })).toEqual({
      data: 'd',
      maxTokens: 16,
      seed: 0,
      mode: 'fast',
      set: [],
    });
    expect(() => parseOptions(TOY, { data: 'd', seed: -2 })).toThrow(
      /--seed = -2: must be >= 0 \(seeds are non-negative\)/,
    );
    expect(() => parseOptions(TOY, { data: 'd', plugins: [3] })).toThrow(
      /--plugin = \[3\]: must be a string/,
    );
    expect(() => parseOptions(TOY, { data: 'd', maxTokns: 3 })).toThrow(/unknown key "maxTokns".*maxTokens/);
  });

  it('a new key is a new flag, with nothing else written', async () => {
    const options = TOY.extend({ temperature: flag(z.number().min(0).default(1), 'sampling temperature') });
    let got: unknown;
    const program = new Command('toy');
    addCommand(
      program,
      { name: 'go', description: 'a toy', options },
      () => {},
      (o) => {
        got = o;
      },
    );
    await program.parseAsync(['go', '--data', 'd', '--temperature', '0.5'], { from: 'user' });
    expect(got).toMatchObject({ temperature: 0.5 });
  });
});

describe("the vzero commands' options are their schemas'", () => {
  const program = buildProgram({ stdout: () => {}, stderr: () => {} });
  const command = (name: string) => program.commands.find((c) => c.name() === name) as Command;
  const visible = (c: Command) => c.options.filter((o) => !o.hidden).map((o) => o.attributeName());

  it.each([
    ['eval', EVAL_OPTIONS, ['config']],
    ['pretrain', PRETRAIN_OPTIONS, ['config']],
    ['train', TRAIN_OPTIONS, []],
    ['ablate', ABLATE_OPTIONS, ['config']],
  ] as const)('%s: one option per key, the default the schema has', (name, schema, extra) => {
    const cmd = command(name);
    expect(visible(cmd)).toEqual([...Object.keys(schema.shape), ...extra]);
    const required = Object.entries({ data: 'd', out: 'o' }).filter(([k]) => k in schema.shape);
    const defaults = parseOptions(schema, Object.fromEntries(required)) as Record<string, unknown>;
    for (const o of cmd.options.filter((o) => !o.hidden && o.defaultValue !== undefined))
      expect(o.defaultValue, o.long).toEqual(defaults[o.attributeName()]);
  });

  it('pretrain takes its batch size, learning rate and seed defaults from @vzero/model', () => {
    const cmd = command('pretrain');
    const byFlag = (flag: string) => cmd.options.find((o) => o.long === flag)?.defaultValue as unknown;
    expect([byFlag('--batch-size'), byFlag('--lr'), byFlag('--seed')]).toEqual([
      PRETRAIN_DEFAULTS.batchSize,
      PRETRAIN_DEFAULTS.lr,
      PRETRAIN_DEFAULTS.seed,
    ]);
  });

  it("the train config's loss, rollout, optimizer and view defaults are those packages' own", () => {
    const c = parseTrainConfig({});
    expect(c.loss).toMatchObject({
      estimator: DEFAULT_OPD_LOSS_CONFIG.estimator,
      mode: DEFAULT_OPD_LOSS_CONFIG.mode,
      aggregation: DEFAULT_OPD_LOSS_CONFIG.aggregation,
      clamp: DEFAULT_OPD_LOSS_CONFIG.clamp,
    });
    const { n, temperature, topP, topK } = DEFAULT_ROLLOUT_OPTIONS;
    expect(c.rollout).toMatchObject({ n, temperature, topP, topK });
    const { beta1, beta2, epsilon, weightDecay } = ADAMW_DEFAULTS;
    expect(c.optim).toMatchObject({ beta1, beta2, eps: epsilon, weightDecay });
    expect(c.views).toMatchObject({ negative: DEFAULT_VIEW_SPEC.negative, factor: DEFAULT_VIEW_SPEC.factor });
  });

  it('train --allow-config-change without --resume is refused before anything is read', async () => {
    let err = '';
    const code = await runCli(['train', '--allow-config-change', '--config', '/nonexistent.yaml'], {
      stdout: () => {},
      stderr: (t) => (err += t),
    });
    expect(code).toBe(1);
    expect(err).toBe('error: --allow-config-change = true: only applies with --resume\n');
  });
});
