// One flag vocabulary: old spellings still work as hidden aliases with a one-line notice;
// `--config FILE` fills options from a file (validated: unknown keys and bad values named);
// eval prints its resolved options and saves them beside the report, and that file reruns it.
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { buildProgram } from '../src/cli.js';
import { run } from './cli-run.js';
import { makeFixture, type Fixture } from './fixture.js';

let f: Fixture;
beforeAll(async () => {
  f = await makeFixture({ test: 3 });
});

const notice = (err: string) => err.split('\n').filter((l) => l.includes('is deprecated'));
const evalStudent = (...args: string[]) => run(['eval', '--checkpoint', f.models.student, ...args]);
const readYaml = async (file: string) => parse(await readFile(file, 'utf8')) as Record<string, unknown>;

describe('one flag vocabulary', () => {
  it('old spellings are hidden from help', () => {
    const program = buildProgram();
    const help = (name: string) => program.commands.find((c) => c.name() === name)?.helpInformation() ?? '';
    expect(help('eval')).toContain('--data <path>');
    expect(help('eval')).not.toContain('--bench');
    expect(help('pretrain')).toContain('--split <name>');
    expect(help('pretrain')).not.toContain('--eval-split');
    expect(help('gate')).toContain('--out-file <file>');
    for (const name of ['eval', 'demo', 'ablate', 'pretrain', 'train'])
      expect(help(name), name).toContain('--config <file>');
  });

  it('eval --bench works as --data, with one deprecation line', async () => {
    const out = join(f.root, 'eval-old');
    const r = await evalStudent('--bench', f.world, '--split', 'test', '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(notice(r.err)).toEqual([
      'warning: --bench is deprecated, use --data (the old spelling will be removed)',
    ]);
    const saved = await readYaml(join(out, 'resolved-config.yaml'));
    expect(saved['data']).toBe(f.world);
    expect(saved).not.toHaveProperty('bench');
  });

  it("gate --out works as --out-file; pretrain --eval-limit goes through --limit's check", async () => {
    const input = join(f.root, 'in.jsonl');
    await writeFile(input, '{"group":"a","teacher_pos":[-1],"teacher_neg":[-2]}\n');
    const g = await run(['gate', '--in', input, '--out', join(f.root, 'w.jsonl')]);
    expect(g.code, g.err).toBe(0);
    expect(notice(g.err)).toEqual([
      'warning: --out is deprecated, use --out-file (the old spelling will be removed)',
    ]);
    expect(existsSync(join(f.root, 'w.jsonl'))).toBe(true);
    const p = await run(['pretrain', 'student', '--data', f.world, '--out', f.root, '--eval-limit', 'x']);
    expect(p.code).toBe(1);
    expect(p.err).toMatch(/--limit must be an integer, got "x"/);
  });

  it('a missing required option names the flag and --config', async () => {
    const r = await evalStudent();
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /--data = undefined: is required \(on the command line, or as "data:" in --config\)/,
    );
  });

  it('a typo gets the suggestion and a pointer to --help, not the whole help', async () => {
    const command = await run(['trian']);
    expect(command.code).toBe(1);
    expect(command.err).toMatch(
      /unknown command 'trian'\n\(Did you mean train\?\)\n\(add --help for usage\)/,
    );
    const option = await run(['ablate', '--job', '2']);
    expect(option.code).toBe(1);
    expect(option.err).toMatch(/unknown option '--job'\n\(Did you mean --jobs\?\)\n\(add --help for usage\)/);
    for (const r of [command, option]) expect(r.err).not.toMatch(/Usage:/);
  });
});

describe('--config FILE', () => {
  it('eval: options from the file, flags on the command line win; resolved config printed and saved', async () => {
    const out = join(f.root, 'eval-config');
    const file = join(f.root, 'eval.yaml');
    await writeFile(
      file,
      `checkpoint: ${f.models.student}\ndata: ${f.world}\nsplit: test\nlimit: 2\nout: ${join(f.root, 'elsewhere')}\n`,
    );
    const r = await run(['eval', '--config', file, '--out', out]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/\(\d\/2, unanswered/);
    expect(r.err.split('\n')[0]).toBe('resolved config (eval):');
    const saved = await readYaml(join(out, 'resolved-config.yaml'));
    expect(saved).toMatchObject({
      checkpoint: f.models.student,
      data: f.world,
      limit: 2,
      out,
      seed: 0,
      concurrency: 8,
    });
    expect(saved).not.toHaveProperty('config');
    expect(existsSync(join(f.root, 'elsewhere'))).toBe(false);
    // The saved file reruns the same evaluation.
    const again = await run(['eval', '--config', join(out, 'resolved-config.yaml')]);
    expect(again.code, again.err).toBe(0);
    expect(again.out).toBe(r.out);
  });

  it('an unknown key is named with the keys known', async () => {
    const file = join(f.root, 'typo.yaml');
    await writeFile(file, `data: ${f.world}\nlimt: 2\n`);
    const r = await evalStudent('--config', file);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /unknown key "limt" in .*typo\.yaml \(did you mean "limit"\?\); known keys: .*data/,
    );
  });

  it('a bad value is named with its key and value, checked as the flag is', async () => {
    const file = join(f.root, 'bad.yaml');
    await writeFile(file, `data: ${f.world}\nlimit: -3\n`);
    const r = await evalStudent('--config', file);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/bad\.yaml: limit = -3: --limit must be >= 0/);
    await writeFile(file, 'steps: [1, 2]\nfresh: "yes"\n');
    const d = await run(['demo', '--config', file]);
    expect(d.code).toBe(1);
    expect(d.err).toMatch(/bad\.yaml: (steps|fresh) = /);
  });
});

describe('world generate --settings and --config', () => {
  it('world settings come from a file (checked first, unknown keys named); the options are saved and rerun', async () => {
    const settings = join(f.root, 'world-settings.yaml');
    await writeFile(settings, 'width: 96\nheight: 80\npriorStrength: 0.5\n');
    const out = join(f.root, 'world-from-settings');
    const r = await run([
      'world',
      'generate',
      '--out',
      out,
      '--split',
      'val',
      '--n',
      '2',
      '--settings',
      settings,
    ]);
    expect(r.code, r.err).toBe(0);
    expect(r.err.split('\n')[0]).toBe('resolved config (world generate):');
    expect(r.err).toMatch(/world:\n(.|\n)*width: 96\n(.|\n)*priorStrength: 0\.5/);
    const made = JSON.parse(await readFile(join(out, 'val', 'world.json'), 'utf8')) as {
      config: Record<string, unknown>;
    };
    expect(made.config).toMatchObject({ width: 96, height: 80, priorStrength: 0.5 });
    expect(await readYaml(join(out, 'resolved-config.yaml'))).toEqual({
      out,
      split: 'val',
      n: 2,
      seed: 0,
      settings,
    });
    // The saved options rerun: same settings, same world.
    const again = join(f.root, 'world-again');
    const rerun = await run([
      'world',
      'generate',
      '--config',
      join(out, 'resolved-config.yaml'),
      '--out',
      again,
    ]);
    expect(rerun.code, rerun.err).toBe(0);
    const manifest = (dir: string) => readFile(join(dir, 'val', 'manifest.jsonl'), 'utf8');
    expect(await manifest(again)).toBe(await manifest(out));

    await writeFile(settings, 'width: 96\ncanvasColour: red\n');
    const bad = await run([
      'world',
      'generate',
      '--out',
      join(f.root, 'world-bad'),
      '--n',
      '2',
      '--settings',
      settings,
    ]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/canvasColour/);
    expect(existsSync(join(f.root, 'world-bad'))).toBe(false);
  });
});
