// Ablation spec files: one YAML (or JSON) file holds everything `vzero ablate` runs (worlds,
// starting models, training settings, seeds, and the arms compared). The shipped presets are
// such files in packages/train/presets/; `vzero ablate --print-spec NAME` prints one to start
// from, `--spec FILE` runs a user's. A file is validated with zod before anything runs: an
// unknown key is named with its path (and the keys known there), a bad value with its path and
// value. A spec may build on another with `extends: NAME-OR-PATH` and give only what differs
// (resolveExtends, below; the rules are in packages/train/README.md, "Ablations as files"). What is
// returned is the file's own object, or for an extending spec the merged one (key order kept, no
// defaults added), so that the ablation's reuse of finished runs, keyed on these settings, sees
// exactly what was written; the work folder's spec.yaml is that resolved spec. The one change is
// `plugins:`, modules that register training methods: a path in it is made absolute (against the
// folder of the spec file that lists it), so that the spec.yaml a work folder keeps loads them
// too. readAblateSpec imports them before it checks the spec, whose arms may then name the
// methods they register (the spec is checked against the methods registered at that time).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { basename, dirname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { InvalidInputError, UnknownKeyError } from '@vzero/core';
import { DEFAULT_WORLD_CONFIG, resolveWorldConfig, type WorldConfig } from '@vzero/world';
import { MODEL_PRESETS, resolveModelConfig, type ModelPresetName } from '@vzero/model';
import { METHODS, currentTrainConfigSchema, trainConfigSchema } from '../config.js';
import { parseWithSchema } from '../validate.js';
import type { MethodName, TrainConfigInput } from '../config.js';
import { methodNames } from '../methods/index.js';
import { registryVersion } from '../methods/registry.js';
import { isPluginPath, loadPlugins, loadedPlugins, pluginKey } from '../methods/plugins.js';
import type { PretrainSpec } from './pretrain.js';
import type { TeacherCheck } from './starting-check.js';

/** One compared method: a training method plus the config keys that make it this arm. */
export interface AblateArm {
  readonly id: string;
  readonly label: string;
  /** A registered method (a plug-in's too), or 'base': the starting student without training. */
  readonly method: MethodName | 'base';
  readonly train?: TrainConfigInput;
}

/** An arm's id: names its runs (runs/<id>-seed<k>); 'base' is the starting student, untrained. */
export type ArmId = string;

export interface AblatePreset {
  readonly name: string;
  readonly description: string;
  /**
   * Modules that register training methods (registerMethod), imported before the spec is
   * checked (readAblateSpec) and by every run process: paths (absolute once read) or packages.
   */
  readonly plugins?: readonly string[];
  readonly world: {
    /** WorldConfig overrides shared by both worlds. */
    readonly config: Partial<WorldConfig>;
    /**
     * Further overrides for the teacher's own pre-training world (e.g. weaker priors, so that
     * the teacher learns to read the crop rather than lean on the prior); the student's
     * pre-training world and the comparison use `config` alone.
     */
    readonly teacherConfig?: Partial<WorldConfig>;
    /** Further overrides for the student's own pre-training world (its last phase). */
    readonly studentConfig?: Partial<WorldConfig>;
    /** Labelled world the starting models are pre-trained on (seed `pretrainSeed`). */
    readonly pretrain: { readonly train: number; readonly val: number };
    readonly pretrainSeed: number;
    /** World of the comparison (seed `seed`): label-free train data, val for choosing, test splits. */
    readonly main: {
      readonly train: number;
      readonly val: number;
      readonly test: number;
      readonly 'test-counter-prior': number;
    };
    readonly seed: number;
  };
  readonly models: { readonly teacher: PretrainSpec; readonly student: PretrainSpec };
  /** Training config shared by every arm (method, seed, out, data and models are set per run). */
  readonly train: TrainConfigInput;
  readonly steps: number;
  /** Evaluate every N steps (val for choosing the checkpoint; test splits reported at that step). */
  readonly evalEvery: number;
  readonly seeds: number;
  readonly arms: readonly AblateArm[];
  /**
   * Paired comparisons to report (A minus B, by arm id). Default: the paper's pairs among the
   * arms present (compare.ts, COMPARISONS), and every other arm against Base, OPD and V-Zero.
   */
  readonly comparisons?: readonly (readonly [ArmId, ArmId])[];
  /** Conditions on the starting models, checked on val before any arm runs (./starting-check.ts). */
  readonly checks?: { readonly teacher?: TeacherCheck };
}

/** Where the shipped spec files are (packages/train/presets, from src/ablate or dist/ablate). */
export const SHIPPED_SPEC_DIR = fileURLToPath(new URL('../../presets/', import.meta.url));

const int = (min: number) => z.number().int().min(min);

/**
 * Runs a package's own check of a settings object and reports its first error as an issue at
 * `at`: an unknown key as such, a bad value (an InvalidInputError naming `<prefix>.<key>`) at
 * that key, so the message names the spec's path and the value.
 */
function checkWith(ctx: z.RefinementCtx, at: readonly string[], prefix: string, check: () => void): void {
  try {
    check();
  } catch (error) {
    if (error instanceof UnknownKeyError) {
      ctx.addIssue({ code: 'unrecognized_keys', keys: [error.key], path: [...at] });
    } else if (error instanceof InvalidInputError) {
      const field = error.field.startsWith(`${prefix}.`)
        ? error.field
            .slice(prefix.length + 1)
            .split(/[.[\]]+/)
            .filter(Boolean)
        : [];
      const reason = error.message.slice(error.message.indexOf(': ') + 2);
      ctx.addIssue({ code: 'custom', path: [...at, ...field], message: reason, input: error.value });
    } else throw error;
  }
}

/** Keys of an object schema whose values are checked by `check` (unknown keys named by zod). */
const keysOf = (keys: readonly string[]) =>
  z.strictObject(Object.fromEntries(keys.map((k) => [k, z.unknown().optional()])));

/** Overrides of the world's settings (@vzero/world's WorldConfig), checked by resolveWorldConfig. */
const worldOverrides = keysOf(Object.keys(DEFAULT_WORLD_CONFIG)).superRefine((v, ctx) =>
  checkWith(ctx, [], 'world', () => resolveWorldConfig(v)),
);

const modelOverrides = keysOf(Object.keys(MODEL_PRESETS.student));

/** A starting model: `vzero pretrain` of a model preset with overrides (see ./pretrain.ts). */
const pretrainSpec = z
  .strictObject({
    preset: z.enum(Object.keys(MODEL_PRESETS) as [ModelPresetName, ...ModelPresetName[]]),
    overrides: modelOverrides.optional(),
    warmup: z.strictObject({ world: worldOverrides, steps: int(1) }).optional(),
    steps: int(1),
    batchSize: int(1),
    lr: z.number().positive(),
    negativeFraction: z.number().min(0).max(1).optional(),
    initFrom: z.string().optional(),
  })
  .superRefine((spec, ctx) =>
    checkWith(ctx, ['overrides'], 'config', () =>
      resolveModelConfig(spec.preset, { ...spec.overrides, vocabSize: 64 }),
    ),
  );

/** The spec's schema, with these methods for its arms and this schema for its training config. */
function specSchema(methods: readonly string[], train: typeof trainConfigSchema) {
  const armSchema = z.strictObject({
    /** Names the arm's runs (runs/<id>-seed<k>) and its rows; 'base' is the untrained student. */
    id: z.string().regex(/^[a-z0-9][a-z0-9.-]*$/, 'expected lower-case letters, digits, "-" and "."'),
    label: z.string().min(1),
    method: z.enum([...methods, 'base']),
    /** Training config keys that make this arm (merged over the spec's `train`, one level deep). */
    train: train.optional(),
  });
  return z
    .strictObject({
      name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected a name usable as a folder'),
      description: z.string(),
      /** Modules that register training methods, imported before the spec is checked. */
      plugins: z.array(z.string().min(1)).optional(),
      world: z.strictObject({
        config: worldOverrides,
        teacherConfig: worldOverrides.optional(),
        studentConfig: worldOverrides.optional(),
        pretrain: z.strictObject({ train: int(1), val: int(1) }),
        pretrainSeed: int(0),
        main: z.strictObject({ train: int(1), val: int(1), test: int(1), 'test-counter-prior': int(1) }),
        seed: int(0),
      }),
      models: z.strictObject({ teacher: pretrainSpec, student: pretrainSpec }),
      train,
      steps: int(1),
      evalEvery: int(1),
      seeds: int(1),
      arms: z.array(armSchema).min(1),
      /** Paired comparisons (A minus B, arm ids); default: the paper's and each other arm's (compare.ts). */
      comparisons: z.array(z.tuple([z.string(), z.string()])).optional(),
      /** Conditions on the starting models, checked on val before any arm runs. */
      checks: z
        .strictObject({
          teacher: z
            .strictObject({
              minCounterPrior: z.number().min(0).max(1),
              extraSteps: int(1),
              maxExtensions: int(0),
            })
            .optional(),
        })
        .optional(),
    })
    .superRefine((spec, ctx) => {
      const seen = new Set<string>();
      spec.arms.forEach((arm, i) => {
        if (seen.has(arm.id))
          ctx.addIssue({ code: 'custom', path: ['arms', i, 'id'], message: 'appears twice', input: arm.id });
        seen.add(arm.id);
        if ((arm.id === 'base') !== (arm.method === 'base'))
          ctx.addIssue({
            code: 'custom',
            path: ['arms', i, 'method'],
            input: arm.method,
            message: 'the arm "base" (and only it) has method base: the starting student, untrained',
          });
      });
      spec.comparisons?.forEach((pair, i) => {
        pair.forEach((id, j) => {
          if (!seen.has(id))
            ctx.addIssue({
              code: 'custom',
              path: ['comparisons', i, j],
              input: id,
              message: `not an arm of this spec (arms: ${[...seen].join(', ')})`,
            });
        });
        if (pair[0] === pair[1])
          ctx.addIssue({
            code: 'custom',
            path: ['comparisons', i],
            input: pair,
            message: 'compares an arm with itself',
          });
      });
    });
}

/** The schema of a spec with the built-in methods (specs are checked with currentAblateSpecSchema). */
export const ablateSpecSchema = specSchema(METHODS, trainConfigSchema);

let registeredSpecSchema: { readonly version: number; readonly schema: typeof ablateSpecSchema } | undefined;

/** The schema of a spec with every method registered now (plug-ins' too): arms may name any. */
export function currentAblateSpecSchema(): typeof ablateSpecSchema {
  if (registeredSpecSchema?.version !== registryVersion())
    registeredSpecSchema = {
      version: registryVersion(),
      schema: specSchema(methodNames(), currentTrainConfigSchema()),
    };
  return registeredSpecSchema.schema;
}

/**
 * A spec object with the paths in its `plugins` list made absolute against `dir` (the folder of
 * its file): the spec itself when it lists none, else a copy. Package names stay as they are.
 */
function withPluginPaths(raw: unknown, dir: string): unknown {
  if (!isObject(raw) || !Array.isArray(raw['plugins'])) return raw;
  const plugins = (raw['plugins'] as unknown[]).map((p) =>
    typeof p === 'string' && p !== '' && isPluginPath(p) ? pluginKey(p, dir) : p,
  );
  return { ...raw, plugins };
}

/** The key by which a spec builds on another (see resolveExtends). */
const EXTENDS = 'extends';

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Reads a spec file (YAML, or JSON by its extension); `field` names it in the errors. */
function readSpecFile(file: string, field: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new InvalidInputError(
      field,
      file,
      `cannot read the file (${(error as NodeJS.ErrnoException).code})`,
    );
  }
  try {
    return file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new InvalidInputError(
      field,
      file,
      `not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(error as Error).message}`,
    );
  }
}

/**
 * The file a spec's `extends` names: a value with a "/" or ending in .yaml, .yml or .json is a
 * path relative to the folder of the spec that says it; any other value is a shipped preset.
 */
function extendedFile(value: unknown, where: string, dir: string): string {
  const field = `${where}: ${EXTENDS}`;
  if (typeof value !== 'string' || value === '')
    throw new InvalidInputError(field, value, 'expected a shipped preset name or a path to a spec file');
  return resolve(/[\\/]|\.(ya?ml|json)$/.test(value) ? resolve(dir, value) : shippedSpecFile(value, field));
}

/** A spec file as a cycle names it: a shipped preset by its name, any other by its path. */
const specLabel = (file: string) =>
  dirname(file) === resolve(SHIPPED_SPEC_DIR) ? basename(file).replace(/\.yaml$/, '') : file;

/**
 * A spec with its `extends` applied: the spec it names (itself resolved first) with this spec's
 * keys merged over it (mergeOver), the key `extends` dropped. `chain` holds the files on the way
 * here, so that a spec that comes back to itself is named with the whole cycle.
 */
function resolveExtends(given: unknown, where: string, dir: string, chain: readonly string[]): unknown {
  const raw = withPluginPaths(given, dir);
  if (!isObject(raw) || !Object.hasOwn(raw, EXTENDS)) return raw;
  const { [EXTENDS]: value, ...own } = raw;
  const file = extendedFile(value, where, dir);
  if (chain.includes(file))
    throw new InvalidInputError(
      `${where}: ${EXTENDS}`,
      value,
      `the specs extend each other in a cycle: ${[...chain, file].map(specLabel).join(' -> ')}`,
    );
  // Its own name, because the name is the work folder (runs/ablate/<name>): under the base's
  // name its runs, made with other settings, would replace the base's.
  if (own['name'] === undefined)
    throw new InvalidInputError(
      `${where}: name`,
      undefined,
      'a spec that extends another gives its own name (it names the work folder and the report)',
    );
  const base = resolveExtends(readSpecFile(file, `${where}: ${EXTENDS}`), file, dirname(file), [
    ...chain,
    file,
  ]);
  if (isObject(base) && base['name'] === own['name'])
    throw new InvalidInputError(
      `${where}: name`,
      own['name'],
      `is the name of the spec it extends (${specLabel(file)}); give it its own (it names the work folder)`,
    );
  return mergeOver(base, own, where, []);
}

/**
 * `over` merged over `base`: objects key by key, recursively (the base's keys in its order, then
 * keys only `over` has; a key set to null is removed); anything else (a list, a number, a string)
 * replaces the base's value whole. The one exception is `arms` given as a mapping (editArms).
 */
function mergeOver(base: unknown, over: unknown, where: string, path: readonly string[]): unknown {
  if (path.length === 1 && path[0] === 'arms' && isObject(over)) return editArms(base, over, where);
  if (!isObject(over)) return over;
  const from = isObject(base) ? base : {};
  const out: Obj = {};
  for (const [key, value] of Object.entries(from)) {
    if (!Object.hasOwn(over, key)) out[key] = value;
    else if (over[key] !== null) out[key] = mergeOver(value, over[key], where, [...path, key]);
  }
  for (const [key, value] of Object.entries(over)) {
    if (Object.hasOwn(from, key)) continue;
    if (value === null)
      throw new InvalidInputError(
        `${where}: ${[...path, key].join('.')}`,
        null,
        'removes a key that the spec it extends does not have',
      );
    out[key] = mergeOver(undefined, value, where, [...path, key]);
  }
  return out;
}

/**
 * The base's arms edited by id (`arms` given as a mapping instead of a list): `id: null` removes
 * that arm, `id: {...}` merges over the arm with that id (which keeps its place), or adds a new
 * arm with that id at the end.
 */
function editArms(base: unknown, edits: Obj, where: string): unknown[] {
  if (!Array.isArray(base))
    throw new InvalidInputError(
      `${where}: arms`,
      edits,
      'edits arms by id, but the spec it extends has no list of arms',
    );
  const arms: unknown[] = [...base];
  const idOf = (arm: unknown) => (isObject(arm) ? arm['id'] : undefined);
  for (const [id, edit] of Object.entries(edits)) {
    const at = `${where}: arms.${id}`;
    const i = arms.findIndex((arm) => idOf(arm) === id);
    if (edit === null) {
      if (i < 0)
        throw new InvalidInputError(
          at,
          null,
          `removes an arm that the spec it extends does not have (arms: ${arms.map(idOf).join(', ')})`,
        );
      arms.splice(i, 1);
    } else if (!isObject(edit)) {
      throw new InvalidInputError(
        at,
        edit,
        "expected the arm's keys to change or add (label, method, train), or null to remove it",
      );
    } else if (edit['id'] !== undefined && edit['id'] !== id) {
      throw new InvalidInputError(`${at}.id`, edit['id'], `differs from the arm's key ("${id}")`);
    } else if (i >= 0) {
      arms[i] = mergeOver(arms[i], edit, where, ['arms', id]);
    } else {
      arms.push(mergeOver(undefined, { id, ...edit }, where, ['arms', id]));
    }
  }
  return arms;
}

/** Resolves `extends` and validates the whole spec; returns it (see the header). */
/** The spec with its `extends` resolved, and the label its errors go under. */
function resolveSpec(raw: unknown, where: string, dir: string, chain: readonly string[]) {
  const spec = resolveExtends(raw, where, dir, chain);
  // Errors name paths in the spec as resolved, which for an extending spec says so.
  const extending = isObject(raw) && Object.hasOwn(raw, EXTENDS);
  const label = extending ? `${where} (extends ${String(raw[EXTENDS])})` : where;
  return { spec, label };
}

/** The spec's plug-ins as listed (paths absolute), or none. */
function pluginsOf(spec: unknown): unknown[] {
  return isObject(spec) && Array.isArray(spec['plugins']) ? spec['plugins'] : [];
}

/**
 * Validates a resolved spec with the methods registered now. Plug-ins it lists that are not
 * loaded are named first: without them an arm's method may read as unknown.
 */
function checkSpec(spec: unknown, label: string): AblatePreset {
  const loaded = loadedPlugins();
  const missing = pluginsOf(spec).filter((p) => typeof p === 'string' && !loaded.includes(p));
  if (missing.length > 0)
    throw new InvalidInputError(
      `${label}: plugins`,
      missing,
      'are not loaded: read the spec with readAblateSpec (vzero ablate does), which imports them before it checks the spec',
    );
  parseWithSchema(currentAblateSpecSchema(), spec, label);
  return spec as AblatePreset;
}

/**
 * Validates a spec object (its `extends` resolved first: a path in it is relative to `dir`);
 * returns it as written, or as resolved (see the header). Plug-ins it lists must be loaded.
 */
export function parseAblateSpec(raw: unknown, where: string, dir = process.cwd()): AblatePreset {
  const { spec, label } = resolveSpec(raw, where, dir, []);
  return checkSpec(spec, label);
}

/**
 * Reads and validates a spec file (YAML, or JSON by its extension), its `extends` resolved.
 * Plug-ins it lists must be loaded (readAblateSpec loads them).
 */
export function loadAblateSpec(file: string): AblatePreset {
  const path = resolve(file);
  const { spec, label } = resolveSpec(readSpecFile(file, '--spec'), file, dirname(path), [path]);
  return checkSpec(spec, label);
}

/**
 * Reads a spec file as loadAblateSpec does, importing the plug-ins it lists (paths relative to
 * the file that lists them) before it is checked: its arms may name the methods they register.
 */
export async function readAblateSpec(file: string): Promise<AblatePreset> {
  const path = resolve(file);
  const { spec, label } = resolveSpec(readSpecFile(file, '--spec'), file, dirname(path), [path]);
  const plugins = pluginsOf(spec);
  if (plugins.some((p) => typeof p !== 'string' || p === ''))
    parseWithSchema(currentAblateSpecSchema(), spec, label); // names the bad entry
  await loadPlugins(plugins as string[], { from: dirname(path), field: `${label}: plugins` });
  return checkSpec(spec, label);
}

/** Names of the shipped specs (presets/<name>.yaml). */
export function shippedSpecNames(): string[] {
  if (!existsSync(SHIPPED_SPEC_DIR)) return [];
  return readdirSync(SHIPPED_SPEC_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length))
    .sort();
}

/** The file of a shipped spec; an unknown name is named with the names shipped. */
export function shippedSpecFile(name: string, field = '--preset'): string {
  const names = shippedSpecNames();
  if (!names.includes(name)) throw new UnknownKeyError(field, name, names);
  return join(SHIPPED_SPEC_DIR, `${name}.yaml`);
}
