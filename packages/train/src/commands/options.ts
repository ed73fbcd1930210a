// A command's options come from a zod object schema, written next to the command's handler
// (commands/*.ts): each key is an option, in kebab case on the command line (`maxTokens` ->
// `--max-tokens`) and by its own name in a `--config` file; its type gives the value's check
// (an integer >= 1, a choice, a repeatable list), its `.default()` the default help shows, and
// its help text is the key's `.describe()` (flag() below). So a default is written once, and a
// new key is a new option with nothing else to write.
//
// One flag vocabulary across the vzero commands (packages/train/README.md, "Flags"): `--data`
// is what a command reads, `--split` and `--limit` what it evaluates, `--out` always a folder
// (`--out-file` a single file), `--steps`, `--seed` and `--config` wherever they apply. Old
// spellings stay as hidden aliases that print a one-line deprecation notice. `--config FILE`
// fills every option not given on the command line from a YAML or JSON file of the command's
// options, validated with zod (unknown keys and bad values named); the resolved config a long
// command saves is such a file.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { z } from 'zod';
import { InvalidInputError, UnknownKeyError } from '@vzero/core';
import { readConfigFile } from '../config.js';
import { parseWithSchema } from '../validate.js';

/** What an option needs beyond its key, type, default and help text. */
export interface FlagMeta {
  /** The value's name in help: 'dir' shows `--data <dir>` (a boolean takes no value). */
  readonly value?: string;
  /** The flag's name when it is not the key in kebab case (`plugin` for the list `plugins`). */
  readonly flag?: string;
  /** Earlier spellings ('--bench'): hidden, each works with a one-line deprecation notice. */
  readonly deprecated?: readonly string[];
  /** A list given as one flag with several values (`--set a=1 b=2`) rather than a repeated flag. */
  readonly variadic?: boolean;
}

/** The flag details of option schemas (flag() registers them). */
export const flagDetails = z.registry<FlagMeta>();

/** An option: `schema` with its help text and, where needed, its flag's details. */
export function flag<T extends z.ZodType>(schema: T, description: string, meta: FlagMeta = {}): T {
  const described = schema.describe(description);
  flagDetails.add(described, meta);
  return described;
}

/** A seed option's value: seeds are non-negative integers. */
export const seedValue = () => z.number().int().min(0, 'seeds are non-negative');

/** The object schema of a command's options. */
export type OptionsSchema = z.ZodObject;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnySchema = any;

/** The schema inside optional/default wrappers, whether one is optional, and its default. */
function unwrap(schema: z.ZodType): { inner: AnySchema; optional: boolean; fallback: unknown } {
  let inner: AnySchema = schema;
  let optional = false;
  let fallback: unknown = undefined;
  for (;;) {
    const type = inner.def.type as string;
    if (type === 'optional') optional = true;
    else if (type === 'default' || type === 'prefault') {
      optional = true;
      if (fallback === undefined) fallback = inner.def.defaultValue as unknown;
    } else break;
    inner = inner.def.innerType;
  }
  return { inner, optional, fallback };
}

/** The help text: the outermost `.describe()` on the way in. */
function descriptionOf(schema: z.ZodType): string {
  let s: AnySchema = schema;
  while (s) {
    if (typeof s.description === 'string') return s.description as string;
    s = s.def?.innerType;
  }
  return '';
}

function metaOf(schema: z.ZodType): FlagMeta {
  let s: AnySchema = schema;
  while (s) {
    const meta = flagDetails.get(s as z.ZodType);
    if (meta) return meta;
    s = s.def?.innerType;
  }
  return {};
}

const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
/** A flag's key: '--eval-split' -> 'evalSplit'. */
const camel = (flag: string) =>
  flag.replace(/^--/, '').replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());

/** Every check a zod message fills in itself says this; a message of the schema's own stays. */
const OWN_MESSAGE = '\u0000';

/** A bound's reason in the schema (`.min(0, 'seeds are non-negative')`), said after the bound. */
const why = (issue: z.core.$ZodIssue) => (issue.message !== OWN_MESSAGE ? ` (${issue.message})` : '');

/** What is wrong with a value, from the schema's first issue with it: "must be >= 0 (0 means all)". */
function reason(issue: z.core.$ZodIssue): string {
  if (issue.code === 'too_small')
    return `must be ${issue.inclusive ? '>=' : '>'} ${String(issue.minimum)}${why(issue)}`;
  if (issue.code === 'too_big')
    return `must be ${issue.inclusive ? '<=' : '<'} ${String(issue.maximum)}${why(issue)}`;
  if (issue.code === 'invalid_value')
    return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  if (issue.message !== OWN_MESSAGE) return issue.message;
  return issue.code === 'invalid_type' ? `must be a ${issue.expected}` : 'is not a valid value';
}

/**
 * The parser of one value of `flag` (a string from the command line or a file): numbers are read
 * as numbers, then the schema's own checks run, and a failure names the flag and the value:
 * `--limit must be >= 0 (0 means all), got -1`.
 */
function valueParser(long: string, schema: AnySchema): (value: string) => unknown {
  const type = schema.def.type as string;
  return (value: string) => {
    let v: unknown = value;
    if (type === 'number') {
      const n = Number(value);
      if (value.trim() === '' || !Number.isFinite(n) || (schema.isInt && !Number.isInteger(n)))
        throw new InvalidArgumentError(
          `${long} must be ${schema.isInt ? 'an integer' : 'a finite number'}, got "${value}"`,
        );
      v = n;
    }
    const result = (schema as z.ZodType).safeParse(v, { error: () => OWN_MESSAGE });
    if (result.success) return result.data;
    throw new InvalidArgumentError(
      `${long} ${reason(result.error.issues[0] as z.core.$ZodIssue)}, got ${value}`,
    );
  };
}

/** The flag of a schema key: the key in kebab case, or its FlagMeta.flag. */
function longFlag(schema: OptionsSchema, key: string): string {
  const field = schema.shape[key] as z.ZodType | undefined;
  return `--${(field && metaOf(field).flag) ?? kebab(key)}`;
}

/**
 * A command's options given as an object (by a program, or read from the command line) checked
 * with its schema: every default filled in. An unknown key is named with the keys known, a bad
 * value by its flag (`--limit must be >= 0 (0 means all), got -1`).
 */
export function parseOptions<S extends OptionsSchema>(schema: S, raw: unknown): z.output<S> {
  const result = schema.safeParse(raw ?? {}, { error: () => OWN_MESSAGE });
  if (result.success) return result.data;
  const issue = result.error.issues[0] as z.core.$ZodIssue;
  const key = String(issue.path[0] ?? '');
  if (issue.code === 'unrecognized_keys')
    throw new UnknownKeyError('options', issue.keys[0] ?? '?', Object.keys(schema.shape));
  const value = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>)[key] : raw;
  throw new InvalidInputError(longFlag(schema, key), value, reason(issue));
}

/** An option whose value goes to its schema key whatever the flag is called (`--plugin` -> plugins). */
class KeyedOption extends Option {
  constructor(
    flags: string,
    description: string,
    private readonly key: string,
  ) {
    super(flags, description);
  }
  override attributeName(): string {
    return this.key;
  }
}

/** Options that take a list by repeating the flag (`--url A --url B`): a list in a config file. */
const lists = new WeakSet<Option>();

/** One key of an options schema as a commander option. */
function optionFor(key: string, schema: z.ZodType): { option: Option; meta: FlagMeta; required: boolean } {
  const meta = metaOf(schema);
  const { inner, optional, fallback } = unwrap(schema);
  const long = `--${meta.flag ?? kebab(key)}`;
  const description = descriptionOf(schema);
  const type = inner.def.type as string;
  const value = `<${meta.value ?? 'value'}${type === 'array' && meta.variadic ? '...' : ''}>`;
  const option = new KeyedOption(type === 'boolean' ? long : `${long} ${value}`, description, key);
  if (type === 'array') {
    const parse = valueParser(long, unwrap(inner.def.element as z.ZodType).inner);
    if (!meta.variadic) {
      option.argParser((v: string, previous: unknown) => [
        ...(Array.isArray(previous) ? previous : []),
        parse(v),
      ]);
      lists.add(option);
    }
  } else if (type === 'enum') option.choices(inner.options as string[]);
  else if (type !== 'boolean') option.argParser(valueParser(long, inner));
  if (fallback !== undefined) option.default(fallback);
  return { option, meta, required: !optional };
}

/** A command whose options come from a schema (see the header). */
export interface CommandSpec<S extends OptionsSchema> {
  /** Its name and arguments: 'pretrain <role>', 'compare <runs...>'. */
  readonly name: string;
  readonly description: string;
  readonly options: S;
  /**
   * `--config FILE`: options not given on the command line take the file's values (checked as
   * flags are), before the required ones are checked, so a file may give those.
   */
  readonly configFile?: boolean;
}

/** The commands given --config FILE (their `config` option is the file, not an option value). */
const configFiles = new WeakSet<Command>();

/**
 * Adds the command `spec` to `parent`: its schema's options in the schema's order (each hidden
 * old spelling too, whose use prints a notice through `warn`), --config FILE where asked for, and
 * an action that checks the required options (keys without a default that are not optional),
 * then calls `run` with the options as the schema's output and the command's arguments.
 */
export function addCommand<S extends OptionsSchema>(
  parent: Command,
  spec: CommandSpec<S>,
  warn: (line: string) => void,
  run: (options: GivenOptions<z.output<S>>, args: string[]) => unknown,
): Command {
  const cmd = parent.command(spec.name).description(spec.description);
  const required: string[] = [];
  const aliases: [string, string][] = [];
  for (const [key, field] of Object.entries(spec.options.shape)) {
    const { option, meta, required: needed } = optionFor(key, field as z.ZodType);
    cmd.addOption(option);
    if (needed) required.push(key);
    const value = option.required ? ` <${meta.value ?? 'value'}>` : '';
    for (const old of meta.deprecated ?? []) aliases.push([`${old}${value}`, key]);
  }
  if (spec.configFile) {
    configFiles.add(cmd);
    cmd.option(
      '--config <file>',
      "YAML or JSON file of this command's options by their camelCase names (e.g. the resolved-config.yaml a run saved); flags on the command line win",
    );
  }
  for (const [flags, key] of aliases) deprecatedAlias(cmd, flags, key, warn);
  // In a --config file, an old spelling's key (evalSplit for --eval-split) is read as its option's.
  const renamed = new Map(aliases.map(([flags, key]) => [camel(flags.split(' ')[0] as string), key]));
  cmd.hook('preAction', async () => {
    if (spec.configFile) await fillFromConfigFile(cmd, renamed, warn);
    for (const key of required) {
      if (cmd.getOptionValue(key) === undefined) {
        const flag = cmd.options.find((o) => o.attributeName() === key)?.long ?? key;
        throw new InvalidInputError(
          flag,
          undefined,
          spec.configFile ? `is required (on the command line, or as "${key}:" in --config)` : 'is required',
        );
      }
    }
  });
  cmd.action(async () => {
    await run(optionsFrom(cmd, spec.options), cmd.args);
  });
  return cmd;
}

/**
 * Options not given on the command line take the values of the --config file, when one is
 * given. A key of an old spelling (`renamed`: old key -> key) is read as its option's, with a
 * one-line notice; a file that gives both is refused.
 */
async function fillFromConfigFile(
  cmd: Command,
  renamed: ReadonlyMap<string, string>,
  warn: (line: string) => void,
): Promise<void> {
  const file = cmd.getOptionValue('config') as string | undefined;
  if (file === undefined) return;
  let raw = await readConfigFile(file);
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
    const given: Record<string, unknown> = { ...(raw as Record<string, unknown>) };
    for (const [old, key] of renamed) {
      if (!Object.hasOwn(given, old)) continue;
      if (Object.hasOwn(given, key))
        throw new InvalidInputError(
          `${file}: ${old}`,
          given[old],
          `is the old name of ${key}, which the file gives too`,
        );
      warn(`warning: ${file}: ${old} is deprecated, use ${key} (the old name will be removed)`);
      given[key] = given[old];
      delete given[old];
    }
    raw = given;
  }
  const values = parseWithSchema(configFileSchema(cmd), raw ?? {}, file) as Record<string, unknown>;
  for (const [key, value] of Object.entries(values)) {
    if (value !== undefined && cmd.getOptionValueSource(key) !== 'cli')
      cmd.setOptionValueWithSource(key, value, 'config');
  }
}

/**
 * `T` with its optional keys absent rather than undefined (`x?: number`, not `x?: number |
 * undefined`): what the command-line options are, as no option left unset has a key.
 */
export type GivenOptions<T> = {
  [K in keyof T as undefined extends T[K] ? never : K]: T[K];
} & {
  [K in keyof T as undefined extends T[K] ? K : never]?: Exclude<T[K], undefined>;
};

/**
 * The options of `cmd` as its schema's output: every value given, from a file or by default,
 * checked and typed (an option left unset has no key). A value the schema refuses names its flag.
 */
export function optionsFrom<S extends OptionsSchema>(cmd: Command, schema: S): GivenOptions<z.output<S>> {
  // optionsOf leaves unset options out, and the schema adds no key for them.
  return parseOptions(schema, optionsOf(cmd)) as GivenOptions<z.output<S>>;
}

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

/** The options a config file may set: every visible option but --config FILE itself. */
function fileOptions(cmd: Command): Option[] {
  return cmd.options.filter(
    (o) => !o.hidden && !(o.attributeName() === 'config' && configFiles.has(cmd)) && o.long !== '--help',
  );
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
export function configFileSchema(cmd: Command) {
  return z.strictObject(
    Object.fromEntries(
      fileOptions(cmd).map((o) => [o.attributeName(), valueSchema(o, lists.has(o)).optional()]),
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
