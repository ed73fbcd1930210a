// Ablation spec files: one YAML (or JSON) file holds everything `vzero ablate` runs (worlds,
// starting models, training settings, seeds, and the arms compared). The shipped presets are
// such files in packages/train/presets/; `vzero ablate --print-spec NAME` prints one to start
// from, `--spec FILE` runs a user's. A file is validated with zod before anything runs: an
// unknown key is named with its path (and the keys known there), a bad value with its path and
// value. What is returned is the file's own object (key order kept, no defaults added), so that
// the ablation's reuse of finished runs, keyed on these settings, sees exactly what was written.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { InvalidInputError, UnknownKeyError } from '@vzero/core';
import { DEFAULT_WORLD_CONFIG, resolveWorldConfig } from '@vzero/world';
import { MODEL_PRESETS, resolveModelConfig, type ModelPresetName } from '@vzero/model';
import { METHODS, trainConfigSchema } from '../config.js';
import { parseWithSchema } from '../validate.js';
import type { AblatePreset } from './presets.js';

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

const armSchema = z.strictObject({
  /** Names the arm's runs (runs/<id>-seed<k>) and its rows; 'base' is the untrained student. */
  id: z.string().regex(/^[a-z0-9][a-z0-9.-]*$/, 'expected lower-case letters, digits, "-" and "."'),
  label: z.string().min(1),
  method: z.enum([...METHODS, 'base']),
  /** Training config keys that make this arm (merged over the spec's `train`, one level deep). */
  train: trainConfigSchema.optional(),
});

export const ablateSpecSchema = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected a name usable as a folder'),
    description: z.string(),
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
    train: trainConfigSchema,
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

/** Validates a spec object; returns it as written (see the header). */
export function parseAblateSpec(raw: unknown, where: string): AblatePreset {
  parseWithSchema(ablateSpecSchema, raw, where);
  return raw as AblatePreset;
}

/** Reads and validates a spec file (YAML, or JSON by its extension). */
export function loadAblateSpec(file: string): AblatePreset {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new InvalidInputError(
      '--spec',
      file,
      `cannot read the file (${(error as NodeJS.ErrnoException).code})`,
    );
  }
  let raw: unknown;
  try {
    raw = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new InvalidInputError(
      '--spec',
      file,
      `not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(error as Error).message}`,
    );
  }
  return parseAblateSpec(raw, file);
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
