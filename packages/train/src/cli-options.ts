// One flag vocabulary across the vzero commands (packages/train/README.md, "Flags"): `--data`
// is what a command reads, `--split` and `--limit` what it evaluates, `--out` always a folder
// (`--out-file` a single file), `--steps`, `--seed` and `--config` wherever they apply. Old
// spellings stay as hidden aliases that print a one-line deprecation notice. `--config FILE`
// fills every option not given on the command line from a YAML or JSON file of the command's
// options, validated with zod (unknown keys and bad values named); the resolved config a long
// command saves is such a file.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { z } from 'zod';
import { InvalidInputError } from '@vzero/core';
import { readConfigFile } from './config.js';
import { parseWithSchema } from './validate.js';

/**
 * Adds `flags` (e.g. '--bench <path>') as a hidden alias of the option whose attribute is
 * `target`: the value goes to `target` (through its parser), and a notice names the new spelling.
 */
export function deprecatedAlias(
  cmd: Command,
  flags: string,
  target: string,
  warn: (line: string) => void,
): Command {
  const to = cmd.options.find((o) => o.attributeName() === target);
  if (!to) throw new Error(`deprecatedAlias: ${cmd.name()} has no option for "${target}"`);
  const alias = new Option(flags).hideHelp();
  cmd.addOption(alias);
  cmd.on(`option:${alias.name()}`, (value: string) => {
    warn(`warning: ${alias.long} is deprecated, use ${to.long} (the old spelling will be removed)`);
    let parsed: unknown = value;
    try {
      if (to.parseArg) parsed = to.parseArg(value, cmd.getOptionValue(target));
    } catch (error) {
      if (!(error instanceof InvalidArgumentError)) throw error;
      cmd.error(`error: option '${alias.flags}' argument '${value}' is invalid. ${error.message}`, {
        exitCode: 1,
        code: 'commander.invalidArgument',
      });
    }
    cmd.setOptionValueWithSource(target, parsed, 'cli');
    cmd.setOptionValue(alias.attributeName(), undefined);
  });
  return cmd;
}

/** The options a config file may set: every visible option but --config itself. */
function fileOptions(cmd: Command): Option[] {
  return cmd.options.filter((o) => !o.hidden && o.attributeName() !== 'config' && o.long !== '--help');
}

/** One option's value in a config file, parsed and checked as on the command line. */
function valueSchema(option: Option, list: boolean): z.ZodType {
  if (option.isBoolean()) return z.boolean();
  const parse = (values: readonly (string | number)[], ctx: z.RefinementCtx): unknown => {
    try {
      if (!option.parseArg) return option.variadic ? values.map(String) : String(values[0]);
      let out: unknown = undefined;
      for (const v of values) out = option.parseArg(String(v), out);
      return out;
    } catch (error) {
      if (!(error instanceof InvalidArgumentError)) throw error;
      ctx.addIssue({ code: 'custom', message: error.message });
      return z.NEVER;
    }
  };
  const scalar = z.union([z.string(), z.number()]);
  const one = scalar.transform((v, ctx) => parse([v], ctx));
  return list || option.variadic ? z.union([one, z.array(scalar).transform(parse)]) : one;
}

/** The zod schema of a command's config file: its options under their camelCase names. */
export function configFileSchema(cmd: Command, lists: readonly string[] = []) {
  return z.strictObject(
    Object.fromEntries(
      fileOptions(cmd).map((o) => [
        o.attributeName(),
        valueSchema(o, lists.includes(o.attributeName())).optional(),
      ]),
    ),
  );
}

/** A command's options as a config file holds them: --config, hidden aliases and unset ones dropped. */
export function optionsOf(cmd: Command): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const o of fileOptions(cmd)) {
    const value: unknown = cmd.getOptionValue(o.attributeName());
    if (value !== undefined) out[o.attributeName()] = value;
  }
  return out;
}

/**
 * Adds `--config FILE` to `cmd`: before the action, options not given on the command line take
 * the file's values (checked like flags). `required` options are checked after that, so a
 * config file may supply them; `lists` are repeatable options, a list in the file.
 */
export function withConfigFile(
  cmd: Command,
  {
    required = [],
    lists = [],
  }: { readonly required?: readonly string[]; readonly lists?: readonly string[] } = {},
): Command {
  cmd.option(
    '--config <file>',
    "YAML or JSON file of this command's options by their camelCase names (e.g. the resolved-config.yaml a run saved); flags on the command line win",
  );
  cmd.hook('preAction', async (c) => {
    const file = c.getOptionValue('config') as string | undefined;
    if (file !== undefined) {
      const raw = await readConfigFile(file);
      const values = parseWithSchema(configFileSchema(c, lists), raw ?? {}, file) as Record<string, unknown>;
      for (const [key, value] of Object.entries(values)) {
        if (value !== undefined && c.getOptionValueSource(key) !== 'cli')
          c.setOptionValueWithSource(key, value, 'config');
      }
    }
    for (const key of required) {
      if (c.getOptionValue(key) === undefined) {
        const flag = c.options.find((o) => o.attributeName() === key)?.long ?? key;
        throw new InvalidInputError(
          flag,
          undefined,
          `is required (on the command line, or as "${key}:" in --config)`,
        );
      }
    }
  });
  return cmd;
}
