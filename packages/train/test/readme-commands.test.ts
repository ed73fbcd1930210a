// Every `pnpm vzero ...` line in a shell block of the workspace's READMEs and docs runs as
// written from the workspace root (where `pnpm vzero` runs): the command exists, each option it
// passes is one that command has, a --config file exists and validates (a train config with its
// --set overrides, or another command's options), a --spec file exists and validates, and
// the cheap ones run for real (--version, --print-spec). Long ones (demo, ablate, training) are
// only checked, not run.
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Command } from 'commander';
import { buildProgram } from '../src/cli.js';
import { resolveTrainConfig } from '../src/commands/train.js';
import { configFileSchema } from '../src/commands/options.js';
import { parseWithSchema } from '../src/validate.js';
import { loadAblateSpec } from '../src/ablate/spec.js';
import { parse } from 'yaml';
import { repoRoot } from './cli-process.js';
import { run } from './cli-run.js';

function markdownFiles(): string[] {
  const files = [join(repoRoot, 'README.md')];
  for (const d of readdirSync(join(repoRoot, 'packages'))) {
    const f = join(repoRoot, 'packages', d, 'README.md');
    if (existsSync(f)) files.push(f);
  }
  const docs = join(repoRoot, 'docs');
  for (const f of readdirSync(docs)) if (f.endsWith('.md')) files.push(join(docs, f));
  return files;
}

interface Line {
  readonly where: string;
  readonly args: string[];
}

/** `pnpm vzero` lines inside ```sh / ```bash blocks, comments dropped, split on spaces. */
function vzeroLines(): Line[] {
  const out: Line[] = [];
  for (const file of markdownFiles()) {
    let inShell = false;
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((raw, i) => {
        if (/^```(sh|bash|shell)\s*$/.test(raw)) inShell = true;
        else if (raw.startsWith('```')) inShell = false;
        else if (inShell && raw.startsWith('pnpm vzero')) {
          const text = raw
            .replace(/\s#.*$/, '')
            .replace(/\s&\s*$/, '')
            .trim();
          out.push({ where: `${relative(repoRoot, file)}:${i + 1}`, args: text.split(/\s+/).slice(2) });
        }
      });
  }
  return out;
}

/** The (sub)command an argument list names, and the arguments after it. */
function commandOf(program: Command, args: readonly string[]): { cmd: Command; rest: string[] } {
  let cmd = program;
  let i = 0;
  for (; i < args.length; i++) {
    const sub = cmd.commands.find((c) => c.name() === args[i]);
    if (!sub) break;
    cmd = sub;
  }
  return { cmd, rest: args.slice(i) };
}

const lines = vzeroLines();

describe('the vzero commands in the READMEs and docs run as written', () => {
  it('finds the commands (the train README lists a dozen)', () => {
    expect(lines.filter((l) => l.where.startsWith('packages/train/README.md')).length).toBeGreaterThan(10);
  });

  it.each(lines.filter((l) => !l.args.some((a) => a.startsWith('$'))).map((l) => [l.where, l] as const))(
    '%s',
    async (_where, line) => {
      const program = buildProgram();
      const { cmd, rest } = commandOf(program, line.args);
      if (cmd === program) {
        // No command matched: only program-level options (e.g. --version) may stand there.
        for (const a of rest)
          expect(
            program.options.some((o) => o.long === a || o.short === a),
            `${line.where}: "${a}" is not a vzero command or option`,
          ).toBe(true);
      }
      const known = new Set(cmd.options.flatMap((o) => [o.long, o.short]).filter(Boolean));
      for (const a of rest.filter((x) => x.startsWith('-')))
        expect(
          known.has(a.split('=')[0] as string),
          `${line.where}: "${cmd.name()}" has no option ${a}`,
        ).toBe(true);
      const configAt = rest.indexOf('--config');
      if (configAt >= 0) {
        const file = rest[configAt + 1] as string;
        expect(
          existsSync(join(repoRoot, file)),
          `${line.where}: --config ${file} does not exist from the root`,
        ).toBe(true);
      }
      if (cmd.name() !== 'train' && configAt >= 0) {
        // Another command's --config holds its options: validated as the command will.
        const file = join(repoRoot, rest[configAt + 1] as string);
        expect(() =>
          parseWithSchema(configFileSchema(cmd), parse(readFileSync(file, 'utf8')), file),
        ).not.toThrow();
      }
      const specAt = rest.indexOf('--spec');
      if (specAt >= 0) {
        const file = join(repoRoot, rest[specAt + 1] as string);
        expect(existsSync(file), `${line.where}: --spec ${file} does not exist from the root`).toBe(true);
        expect(loadAblateSpec(file).name).toBeDefined();
      }
      if (rest.includes('--print-spec')) {
        // Cheap: runs for real (a shell redirect after it dropped).
        const args = line.args.includes('>') ? line.args.slice(0, line.args.indexOf('>')) : line.args;
        const r = await run(args);
        expect(r.code, `${line.where}: ${r.err}`).toBe(0);
        expect(r.out).toContain('arms:');
      }
      if (cmd.name() === 'train' && configAt >= 0) {
        const setAt = rest.indexOf('--set');
        const sets: string[] = [];
        for (let i = setAt + 1; setAt >= 0 && i < rest.length && !(rest[i] as string).startsWith('--'); i++)
          sets.push(rest[i] as string);
        const config = await resolveTrainConfig({
          config: join(repoRoot, rest[configAt + 1] as string),
          set: sets,
        });
        expect(config.method).toBeDefined();
      }
    },
  );

  it('the cheap ones run: vzero --version', async () => {
    const r = await run(['--version']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^\d+\.\d+\.\d+/);
  });
});
