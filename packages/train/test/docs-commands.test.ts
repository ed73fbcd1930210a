// The docs say what the CLI does. Every `vzero ...` / `pnpm vzero ...` command quoted in the
// workspace's READMEs and docs/*.md, in code spans and in fenced blocks, parses with the current
// CLI: its command exists, each option it passes is one that command has (under its current
// spelling, not a deprecated alias), values pass the option's own check (integers, choices), and
// it passes no more arguments than the command takes. Commander's own parser does the parsing
// (parseOptions, with exitOverride); no action runs. Placeholders (DIR, N, <folder>, $VAR) stand
// for a value. A mention that leaves things out (`vzero eval --checkpoint DIR` without --data)
// still passes: only what the docs say is checked, not what they omit.
//
// And the run times: the ablation presets' times in `vzero ablate --help` are the README's, and
// the README's are the ones docs/RESULTS.md and docs/results/*.md recorded when the tables were
// generated.
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CommanderError, type Command } from 'commander';
import { buildProgram } from '../src/cli.js';
import { repoRoot } from './cli-process.js';

function markdownFiles(): string[] {
  const files = [join(repoRoot, 'README.md')];
  for (const d of readdirSync(join(repoRoot, 'packages')).sort()) {
    const f = join(repoRoot, 'packages', d, 'README.md');
    if (existsSync(f)) files.push(f);
  }
  const docs = join(repoRoot, 'docs');
  for (const f of readdirSync(docs).sort()) if (f.endsWith('.md')) files.push(join(docs, f));
  return files;
}

export interface Quoted {
  readonly where: string;
  readonly text: string;
}

const COMMAND = /^(?:[A-Z_][A-Z0-9_]*=\S*\s+)*(?:pnpm\s+(?:-s\s+)?)?vzero(?:\s|$)/;

/** The vzero commands a markdown text quotes: code spans, and lines of fenced blocks. */
export function quotedCommands(markdown: string, file: string): Quoted[] {
  const out: Quoted[] = [];
  const lines = markdown.split('\n');
  let fenced = false;
  let paragraph: { start: number; text: string[] } | undefined;
  const flush = () => {
    if (!paragraph) return;
    const text = paragraph.text.join('\n');
    for (const m of text.matchAll(/(`+)([^`]+?)\1/g)) {
      const span = (m[2] as string).replace(/\s+/g, ' ').trim();
      if (!COMMAND.test(span)) continue;
      const line = paragraph.start + text.slice(0, m.index).split('\n').length - 1;
      out.push({ where: `${file}:${line + 1}`, text: span });
    }
    paragraph = undefined;
  };
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] as string;
    if (/^\s*```/.test(raw)) {
      flush();
      fenced = !fenced;
      continue;
    }
    if (fenced) {
      if (!COMMAND.test(raw.trim())) continue;
      // A command continued over lines with a trailing backslash is one command.
      let text = raw.trim();
      const start = i;
      while (text.endsWith('\\') && i + 1 < lines.length)
        text = `${text.slice(0, -1)} ${(lines[++i] as string).trim()}`;
      out.push({ where: `${file}:${start + 1}`, text: text.replace(/\s#.*$/, '') });
      continue;
    }
    if (raw.trim() === '') flush();
    else {
      paragraph ??= { start: i, text: [] };
      paragraph.text.push(raw);
    }
  }
  flush();
  return out;
}

const PLACEHOLDER = /^(?:[A-Z][A-Z0-9_]*|<[^>]*>)$/;

/** The arguments after `vzero`: shell syntax after the command dropped, placeholders filled in. */
export function argumentsOf(text: string): string[] | undefined {
  const command = text
    .replace(COMMAND, '')
    .replace(/\s(?:&&|\|\||[|>&;]).*$/, '') // pipes, redirections, a trailing &
    .replace(/<[^>]*>/g, (m) => m.replace(/\s+/g, '_'))
    .replace(/\[[^\]]*\.\.\.[^\]]*\]/g, ' ') // [--url ...]: "and so on", left out
    .replace(/[[\]]/g, ' ') // [--jobs N]: an optional part, said in full
    .trim();
  const tokens = command.split(/\s+/).filter((t) => t !== '' && t !== '...' && t !== '|');
  if (tokens.length === 0) return undefined;
  // `pnpm vzero <cmd>`: the command itself is a placeholder.
  if (PLACEHOLDER.test(tokens[0] as string)) return undefined;
  const args: string[] = [];
  for (const t of tokens.map((t) => t.replace(/\.\.\.$/, ''))) {
    if (/^\$\w+$|^\$\{\w+\}$/.test(t)) {
      // $VAR stands for a value after an option that takes one, else for options: left out.
      const prev = args.at(-1);
      if (prev !== undefined && prev.startsWith('-')) args.push('1');
      continue;
    }
    args.push(PLACEHOLDER.test(t) ? '1' : t);
  }
  return args;
}

/** Why `args` does not parse with the CLI as it is, or undefined when it does. */
export function parseProblem(args: readonly string[]): string | undefined {
  const program = buildProgram({ stdout: () => {}, stderr: () => {} });
  let cmd: Command = program;
  let i = 0;
  for (; i < args.length; i++) {
    const sub = cmd.commands.find((c) => c.name() === args[i] || c.aliases().includes(args[i] as string));
    if (!sub) break;
    cmd = sub;
  }
  const rest = args.slice(i);
  for (const a of rest) {
    const flag = a.split('=')[0] as string;
    const option = cmd.options.find((o) => o.long === flag || o.short === flag);
    if (option?.hidden) return `${flag} is a deprecated spelling of "${cmd.name()}"`;
  }
  cmd.exitOverride();
  cmd.configureOutput({ writeOut: () => {}, writeErr: () => {} });
  let parsed: { operands: string[]; unknown: string[] };
  try {
    parsed = cmd.parseOptions([...rest]);
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.version' || error.code === 'commander.helpDisplayed') return undefined;
      return error.message;
    }
    throw error;
  }
  const unknown = parsed.unknown.filter((a) => a !== '--help' && a !== '-h');
  if (unknown.length > 0) return `"${cmd.name()}" has no option ${unknown[0]}`;
  if (cmd.commands.length > 0 && parsed.operands.length > 0)
    return `"${parsed.operands[0]}" is not a command of "${cmd.name()}"`;
  const declared = cmd.registeredArguments;
  const variadic = declared.some((a) => a.variadic);
  if (!variadic && parsed.operands.length > declared.length)
    return `"${cmd.name()}" takes ${declared.length} argument(s), got ${parsed.operands.join(' ')}`;
  return undefined;
}

const quoted = markdownFiles().flatMap((f) => quotedCommands(readFileSync(f, 'utf8'), relative(repoRoot, f)));

describe('the vzero commands quoted in the READMEs and docs parse with the CLI', () => {
  it('finds them, in code spans and in fenced blocks, in README.md and docs/', () => {
    expect(quoted.length).toBeGreaterThan(60);
    expect(quoted.filter((q) => q.where.startsWith('README.md')).length).toBeGreaterThan(8);
    expect(quoted.filter((q) => q.where.startsWith('docs/')).length).toBeGreaterThan(30);
  });

  it.each(quoted.map((q) => [`${q.where}: ${q.text}`, q] as const))('%s', (_name, q) => {
    const args = argumentsOf(q.text);
    if (args === undefined) return;
    expect(parseProblem(args), `${q.where}: ${q.text}`).toBeUndefined();
  });
});

describe('the checker itself', () => {
  it('reads code spans over line breaks, placeholders and continued lines', () => {
    const md = [
      'Run `vzero eval --checkpoint DIR` or `pnpm vzero eval --url URL [--url ...]',
      '--model NAME`, then `pnpm vzero <cmd>`.',
      '',
      '```sh',
      'pnpm vzero train --config a.yaml \\',
      '  --set method=opd   # a comment',
      'FOO=1 pnpm -s vzero doctor --json > out.json',
      'pnpm vzero eval $URLS --model m --data d &',
      '```',
    ].join('\n');
    const found = quotedCommands(md, 'x.md');
    expect(found.map((q) => q.where)).toEqual(['x.md:1', 'x.md:1', 'x.md:2', 'x.md:5', 'x.md:7', 'x.md:8']);
    expect(found.map((q) => argumentsOf(q.text))).toEqual([
      ['eval', '--checkpoint', '1'],
      ['eval', '--url', '1', '--model', '1'],
      undefined,
      ['train', '--config', 'a.yaml', '--set', 'method=opd'],
      ['doctor', '--json'],
      ['eval', '--model', 'm', '--data', 'd'],
    ]);
  });

  it('fails an unknown command or option, a deprecated spelling, a bad value, an extra argument', () => {
    expect(parseProblem(['nope'])).toMatch(/"nope" is not a command of "vzero"/);
    expect(parseProblem(['eval', '--no-such-flag'])).toBe('"eval" has no option --no-such-flag');
    expect(parseProblem(['world', 'make'])).toMatch(/"make" is not a command of "world"/);
    expect(parseProblem(['serve', '--model-name', 'x'])).toMatch(/--model-name is a deprecated spelling/);
    expect(parseProblem(['ablate', '--jobs', 'two'])).toMatch(/--jobs must be an integer, got "two"/);
    expect(parseProblem(['serve', '--api', 'grpc'])).toMatch(/Allowed choices are openai, tinker/);
    expect(parseProblem(['inspect', 'a', 'b'])).toMatch(/takes 1 argument\(s\), got a b/);
    expect(parseProblem(['eval', '--checkpoint'])).toMatch(/argument missing/);
    // And passes what the CLI takes.
    expect(parseProblem(['--version'])).toBeUndefined();
    expect(parseProblem(['ablate', '--help'])).toBeUndefined();
    expect(parseProblem(['compare', 'a', 'b', 'c', '--last', '5'])).toBeUndefined();
    expect(parseProblem(['train', '--set', 'a=1', 'b=2', '--steps', '3'])).toBeUndefined();
  });
});

/** "68.5 min" figures of a text. */
const minutes = (text: string) => [...text.matchAll(/(\d+(?:\.\d+)?) min\b/g)].map((m) => `${m[1]} min`);

describe('the ablation run times agree: vzero ablate --help, the README, docs/results', () => {
  const help = buildProgram()
    .commands.find((c) => c.name() === 'ablate')
    ?.options.find((o) => o.long === '--preset')?.description as string;
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const recorded = [
    readFileSync(join(repoRoot, 'docs', 'RESULTS.md'), 'utf8'),
    ...readdirSync(join(repoRoot, 'docs', 'results'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => readFileSync(join(repoRoot, 'docs', 'results', f), 'utf8')),
  ].join('\n');

  it('the help gives times, each one the README gives', () => {
    expect(minutes(help).length).toBeGreaterThanOrEqual(2);
    for (const t of minutes(help)) expect(readme, `README.md does not say ${t}`).toContain(t);
  });

  it("each of the help's times is the one docs/results recorded for the command it names", () => {
    // "paper-table (...68.5 min...)": each preset's figures sit in its own parentheses.
    for (const [, preset, said] of help.matchAll(/(paper-table(?:-60)?) \(([^)]*)\)/g)) {
      const generated = recorded
        .split('\n')
        .filter((l) =>
          l.includes(
            preset === 'paper-table-60'
              ? 'the set-up that is now `--preset paper-table-60`'
              : 'Generated by `pnpm vzero ablate --preset paper-table` (',
          ),
        )
        .join('\n');
      expect(generated, `no generated record of ${preset}`).not.toBe('');
      for (const t of minutes(said as string))
        expect(generated, `${preset}: ${t} is not what docs/results recorded`).toContain(t);
    }
  });
});
