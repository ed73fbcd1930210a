// One name for one knob: the served model's name is `--model` for both `vzero serve` (which names
// it) and `vzero eval` (which asks for it); serve's old `--model-name` still works, with a one-line
// deprecation notice. And `vzero eval` given nothing to evaluate names both of its alternatives.
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError } from '@vzero/core';
import { buildProgram } from '../src/cli.js';
import { OneOfRequiredError, runEval } from '../src/commands/eval.js';
import { run } from './cli-run.js';
import { makeFixture, type Fixture } from './fixture.js';
import { serveProcess } from './serve-process.js';

let f: Fixture;
beforeAll(async () => {
  f = await makeFixture({ test: 2 });
});

const deprecations = (lines: readonly string[]) => lines.filter((l) => l.includes('is deprecated'));

describe('--model names the served model, in serve and in eval', () => {
  it('both commands list --model; serve hides the old --model-name', () => {
    const program = buildProgram();
    const help = (name: string) => program.commands.find((c) => c.name() === name)?.helpInformation() ?? '';
    expect(help('serve')).toContain('--model <name>');
    expect(help('serve')).not.toContain('--model-name');
    expect(help('eval')).toContain('--model <name>');
  });

  it('a model served with --model NAME is evaluated with --model NAME', async () => {
    const server = await serveProcess(f.models.student, { args: ['--model', 'tiny-student'] });
    try {
      expect(deprecations(server.lines)).toEqual([]);
      const listed = (await (await fetch(`${server.url}/v1/models`)).json()) as { data: { id: string }[] };
      expect(listed.data.map((m) => m.id)).toEqual(['tiny-student']);
      const r = await run([
        'eval',
        '--url',
        server.url,
        '--model',
        'tiny-student',
        '--data',
        f.world,
        '--split',
        'test',
      ]);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(/^accuracy \d+\.\d% \(\d\/2, /);
      // Another name is refused up front, naming the one served.
      const wrong = await run(['eval', '--url', server.url, '--model', 'student', '--data', f.world]);
      expect(wrong.code).toBe(1);
      expect(wrong.err).toMatch(/student is not served at .*; served: tiny-student/);
    } finally {
      await server.kill();
    }
  }, 120_000);

  it('serve --model-name still names the model, with one deprecation line', async () => {
    const server = await serveProcess(f.models.student, { args: ['--model-name', 'legacy'] });
    try {
      expect(deprecations(server.lines)).toEqual([
        'warning: --model-name is deprecated, use --model (the old spelling will be removed)',
      ]);
      const listed = (await (await fetch(`${server.url}/v1/models`)).json()) as { data: { id: string }[] };
      expect(listed.data.map((m) => m.id)).toEqual(['legacy']);
    } finally {
      await server.kill();
    }
  }, 120_000);
});

describe('vzero eval with neither --checkpoint nor --url', () => {
  it('is a typed error naming both flags, before anything is printed', async () => {
    const lines: string[] = [];
    const error = await runEval({ data: f.world, split: 'test', limit: 0, seed: 0 }, (l) =>
      lines.push(l),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OneOfRequiredError);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as OneOfRequiredError).fields).toEqual(['--checkpoint', '--url']);
    expect((error as Error).message).toMatch(/^one of --checkpoint or --url is required: /);
    expect(lines).toEqual([]);
  });
});
