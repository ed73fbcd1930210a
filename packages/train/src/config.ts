// The training app's config: one typed schema with documented defaults (like TRL's *_config
// files). User config is validated at the boundary; an unknown key is an error naming the key.
// A default that a package owns is that package's (the loss's, the rollout's, AdamW's, the
// views'), read from it rather than written again here; the app's own choices (a 12-token
// answer cap, 1e-3 learning rate, ...) are written here.
// The sections every method shares are here; the method names, and each method's own section
// (V-Zero's `gate`), come from the method registry (methods/), so a registered method's section
// is validated with the rest.
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { InvalidInputError, UnknownKeyError } from '@vzero/core';
import { ADAMW_DEFAULTS } from '@vzero/model';
import { AGGREGATIONS, DEFAULT_OPD_LOSS_CONFIG, ESTIMATORS, LOSS_MODES } from '@vzero/opd-loss';
import { DEFAULT_ROLLOUT_OPTIONS } from '@vzero/rollout';
import { DEFAULT_VIEW_SPEC, NEGATIVE_VIEW_MODES } from '@vzero/views';
import { BUILTIN_METHODS, registeredMethods, registryVersion } from './methods/registry.js';
import type { AnyMethodSpec, ConfigIssue } from './methods/spec.js';
import { DEFAULT_CROP_PADDING } from './view-settings.js';

type BuiltinMethod = (typeof BUILTIN_METHODS)[number];

/** The built-in methods' names (methods/registry.ts); registered ones are in methodNames(). */
export const METHODS = BUILTIN_METHODS.map((m) => m.name) as unknown as NamesOf<typeof BUILTIN_METHODS>;
type NamesOf<T extends readonly unknown[]> = {
  readonly [I in keyof T]: T[I] extends { readonly name: infer N } ? N : never;
};
/** A built-in method's name. */
export type Method = BuiltinMethod['name'];
/** The name of any method: a built-in one or one registered at run time (registerMethod). */
export type MethodName = Method | (string & Record<never, never>);

// The option lists of views and loss are those of the packages that implement them (the gate's:
// methods/opd.ts).
/** The modes of views.negative: @vzero/views' list (with 'random-positive', the "Rand." ablation). */
export { NEGATIVE_VIEW_MODES };
/** @deprecated Renamed NEGATIVE_VIEW_MODES. */
export const NEGATIVE_MODES = NEGATIVE_VIEW_MODES;

const positive = z.number().positive();
const nonNegative = z.number().min(0);
const int = (min: number) => z.number().int().min(min);

const dataSchema = z.strictObject({
  /** Dataset folder written by `vzero world generate` (manifest + images; labels kept apart). */
  dir: z.string().default('runs/world'),
  split: z.string().default('train'),
  /** Use only the first N samples of the split (0 = all). */
  limit: int(0).default(0),
});

const viewsSchema = z.strictObject({
  /**
   * Negative view for the gate (docs/METHOD.md): the paper's default is outside-downsampled;
   * 'random-positive' is the paper's "Rand." ablation (random crops for both views).
   */
  negative: z.enum(NEGATIVE_VIEW_MODES).default(DEFAULT_VIEW_SPEC.negative),
  /** Downsampling factor of the negative view. */
  factor: positive.default(DEFAULT_VIEW_SPEC.factor),
  /** Padding around the target box, as a fraction of the box size (see DEFAULT_CROP_PADDING). */
  padding: nonNegative.default(DEFAULT_CROP_PADDING),
  /** Side of the crop views sent to a remote teacher (a local teacher uses its crop slot size). */
  cropSize: int(8).default(32),
});

/** Most rollouts per prompt: a step holds every rollout of every prompt in memory at once. */
export const MAX_ROLLOUTS_PER_PROMPT = 1024;
/** Most rollout rows in one step (rollout.n x optim.promptsPerStep). */
export const MAX_ROLLOUT_ROWS = 16384;

const rolloutSchema = z.strictObject({
  /** G: rollouts per prompt. */
  n: int(1)
    .max(MAX_ROLLOUTS_PER_PROMPT, {
      message: `at most ${MAX_ROLLOUTS_PER_PROMPT} rollouts per prompt (every rollout of a step is held in memory at once)`,
    })
    .default(DEFAULT_ROLLOUT_OPTIONS.n),
  temperature: nonNegative.default(DEFAULT_ROLLOUT_OPTIONS.temperature),
  topP: z.number().gt(0).max(1).default(DEFAULT_ROLLOUT_OPTIONS.topP),
  topK: int(0).default(DEFAULT_ROLLOUT_OPTIONS.topK),
  /** Longest response (the app's short answers; the rollout package's own default is 2048). */
  maxTokens: int(1).default(12),
});

const lossSchema = z.strictObject({
  estimator: z.enum(ESTIMATORS).default(DEFAULT_OPD_LOSS_CONFIG.estimator),
  mode: z.enum(LOSS_MODES).default(DEFAULT_OPD_LOSS_CONFIG.mode),
  aggregation: z.enum(AGGREGATIONS).default(DEFAULT_OPD_LOSS_CONFIG.aggregation),
  clamp: positive.default(DEFAULT_OPD_LOSS_CONFIG.clamp),
  /** Teacher top-K for the forward-KL estimator. */
  topK: int(1).default(8),
});

const optimSchema = z.strictObject({
  lr: positive.default(1e-3),
  beta1: z.number().min(0).lt(1).default(ADAMW_DEFAULTS.beta1),
  beta2: z.number().min(0).lt(1).default(ADAMW_DEFAULTS.beta2),
  /**
   * Adam's epsilon. Where a gradient is far below it the first steps are lr * g / eps; far above,
   * lr * sign(g): a tiny eps turns gradients at the level of float rounding into lr-sized moves.
   */
  eps: positive.default(ADAMW_DEFAULTS.epsilon),
  weightDecay: nonNegative.default(ADAMW_DEFAULTS.weightDecay),
  gradClip: positive.default(1),
  /** Prompts per step (the reference: 32). */
  promptsPerStep: int(1).default(8),
  /** Mini-batches per step (the reference: 2, one PPO epoch). */
  miniBatches: int(1).default(2),
  /**
   * Encode each prompt's images once per mini-batch in the update instead of once per rollout
   * (the G rollouts of a prompt share them). Same forward values (a few ulp with the native
   * kernels), gradients up to the order of float sums; off by default until the results are
   * regenerated with it (docs/PERFORMANCE.md, "The update's shared image prefix").
   */
  sharePrefix: z.boolean().default(false),
});

/**
 * The training service of a remote student (models.student: tinker://BASE_MODEL): the hosted
 * Tinker API, a SkyRL Tinker server, or `vzero serve --api tinker`. docs/SCALE.md.
 */
const tinkerSchema = z.strictObject({
  /** The service's origin (the client adds /api/v1/...). */
  baseUrl: z.string().url().default('http://127.0.0.1:8000'),
  /** The environment variable that holds the API key (sent as the SDK sends it; never logged). */
  apiKeyEnv: z.string().min(1).default('TINKER_API_KEY'),
  /** How prompts become the service's model input: the toolkit's own models, or Qwen3-VL. */
  renderer: z.enum(['toolkit', 'qwen3-vl']).default('toolkit'),
  /**
   * toolkit: the served model's checkpoint folder (its tokenizer and image slot); qwen3-vl: a
   * folder with the model's tokenizer.json (and tokenizer_config.json).
   */
  tokenizer: z.string().optional(),
  /**
   * A teacher at the service (models.teacher: tinker://BASE_MODEL) with the toolkit renderer: its
   * checkpoint folder (tokenizer and image slots). Qwen3-VL teachers share the student's.
   */
  teacherTokenizer: z.string().optional(),
  /** qwen3-vl: side of the student's square full-image view, in pixels. */
  imageSize: int(32).default(448),
  /** LoRA rank of the trained model (a service that trains fully records it). */
  loraRank: int(1).default(32),
  /** Wire encoding: 'auto' asks the server (protobuf where it takes it), or force one. */
  encoding: z.enum(['auto', 'json', 'protobuf']).default('auto'),
  /** Retries of a failed request (connection lost, 408, 429, 5xx), with exponential backoff. */
  retries: int(0).default(10),
  /** Longest one call (its retries, and the wait for its result) may take, in seconds. */
  timeoutSeconds: positive.default(300),
});

const modelsSchema = z.strictObject({
  /**
   * Folder of the student's starting checkpoint (built by `vzero pretrain student`), or a student
   * at a training service: tinker://BASE_MODEL, or tinker://MODEL_ID/weights/NAME (see tinker).
   */
  student: z.string().default('runs/models/student'),
  /** Folder of the frozen teacher (built by `vzero pretrain teacher`). */
  teacher: z.string().default('runs/models/teacher'),
  /**
   * An OpenAI-compatible server for the teacher instead of the folder (e.g. `vzero serve` or
   * vLLM): base URL such as http://127.0.0.1:8000/v1, or a list of replicas of one model (requests
   * spread over them; a failing one's requests retried on the others). The API key comes from
   * $VZERO_API_KEY.
   */
  teacherUrl: z.union([z.string().url(), z.array(z.string().url()).min(1)]).optional(),
  /**
   * A teacher made of the student's own weights instead of models.teacher (Vision-OPD's set-up):
   * 'frozen' (a copy of the starting student) or 'ema' (a moving average of the student's
   * weights, rate selfTeacherEma). It reads the crop, or the negative view, in its image slot.
   */
  selfTeacher: z.enum(['off', 'frozen', 'ema']).default('off'),
  /** EMA rate r of selfTeacher 'ema': teacher <- r * teacher + (1 - r) * student after each update. */
  selfTeacherEma: z.number().gt(0).lt(1).default(0.95),
  /** Served model name of the remote teacher (default: the first model the server lists). */
  teacherModel: z.string().optional(),
});

const evalSchema = z.strictObject({
  splits: z
    .array(z.string().min(1, { message: 'a split name is not empty' }))
    .superRefine((splits, ctx) => {
      const seen = new Set<string>();
      for (const [i, s] of splits.entries()) {
        if (seen.has(s))
          ctx.addIssue({
            code: 'custom',
            path: [i],
            message: `"${s}" is listed twice; each split is evaluated once per evaluation`,
          });
        seen.add(s);
      }
    })
    .default(['val']),
  /** Evaluate every N steps (0 = only before and after). */
  every: int(0).default(0),
  limit: int(0).default(0),
});

/**
 * What `vzero inspect` shows, recorded during V-Zero/OPD training: the first `prompts` prompts
 * of step 1 and of every `every`-th step (0 = never), with their views, rollouts, per-token
 * teacher log-probs and gate weights, under <out>/inspect/; the newest `keep` steps are kept.
 * Recording does not change what a step computes, so a resume may change these freely.
 */
const inspectSchema = z.strictObject({
  every: int(0).default(10),
  prompts: int(1).default(2),
  keep: int(1).default(20),
});

/** The sections before the methods' own (the resolved config keeps this order). */
const SHARED_HEAD = {
  seed: int(0).default(0),
  steps: int(1).default(20),
  /** Run folder: resolved config, metrics.jsonl, checkpoints. */
  out: z.string().default('runs/train'),
  checkpointEvery: int(0).default(10),
  /** Checkpoints kept: the newest N (0 = all), plus the best by checkpointBest. */
  checkpointKeep: int(0).default(3),
  /** Also keep the checkpoint with the lowest step loss, the best accuracy on eval.splits[0], or none. */
  checkpointBest: z.enum(['loss', 'accuracy', 'none']).default('loss'),
  data: dataSchema.prefault({}),
  models: modelsSchema.prefault({}),
  tinker: tinkerSchema.prefault({}),
  views: viewsSchema.prefault({}),
  rollout: rolloutSchema.prefault({}),
};

/** The sections after the methods' own. */
const SHARED_TAIL = {
  loss: lossSchema.prefault({}),
  optim: optimSchema.prefault({}),
  eval: evalSchema.prefault({}),
  inspect: inspectSchema.prefault({}),
};

/** Top-level keys of the config that no method's section may take. */
export const SHARED_CONFIG_KEYS: readonly string[] = [
  'method',
  ...Object.keys(SHARED_HEAD),
  ...Object.keys(SHARED_TAIL),
];

type SectionOf<M extends BuiltinMethod> = NonNullable<M['config']>;
/** The built-in methods' sections, typed: { gate: V-Zero's gate schema }. */
type BuiltinSections = {
  [M in BuiltinMethod as SectionOf<M>['key']]: z.ZodPrefault<SectionOf<M>['schema']>;
};

/** Each method's section, keyed by its config key, filled in with its defaults when absent. */
function methodSections(methods: readonly AnyMethodSpec[]): Record<string, z.ZodType> {
  return Object.fromEntries(
    methods.flatMap((m) => (m.config ? [[m.config.key, m.config.schema.prefault({})] as const] : [])),
  );
}

/**
 * Checks across sections, derived from the methods: a remote student trains only with a method
 * that has a remote trainer; each method's section check runs (whatever method is chosen, as
 * every section is validated); and one step's rollouts must fit.
 */
function checksAcross(methods: readonly AnyMethodSpec[]) {
  const remote = methods.filter((m) => m.remote !== undefined).map((m) => m.name);
  return (c: TrainConfig, ctx: z.RefinementCtx): void => {
    const no: ConfigIssue = (path, message, input) =>
      ctx.addIssue({ code: 'custom', path: [...path], message, ...(input !== undefined ? { input } : {}) });
    if (c.models.student.startsWith('tinker://')) {
      if (!remote.includes(c.method))
        no(['method'], `a remote student (tinker://) trains with ${remote.join(' or ')}`);
      if (c.models.selfTeacher !== 'off')
        no(['models', 'selfTeacher'], 'a remote student has no local weights to copy');
      if (c.loss.estimator === 'forward-kl-topk')
        no(
          ['loss', 'estimator'],
          'a remote student trains with k1, abs, k2 or k3 (top-K needs the service to score K ids per position)',
        );
      if (
        c.models.teacher.startsWith('tinker://') &&
        c.tinker.renderer === 'toolkit' &&
        c.tinker.teacherTokenizer === undefined
      )
        no(['tinker', 'teacherTokenizer'], 'a toolkit teacher at the service needs its checkpoint folder');
      if (c.tinker.tokenizer === undefined)
        no(
          ['tinker', 'tokenizer'],
          'a remote student needs its tokenizer: the served checkpoint folder (toolkit) or a tokenizer.json folder (qwen3-vl)',
        );
    }
    for (const m of methods) m.config?.check?.(c, no);
    const rows = c.rollout.n * c.optim.promptsPerStep;
    if (rows > MAX_ROLLOUT_ROWS)
      ctx.addIssue({
        code: 'custom',
        path: ['rollout', 'n'],
        message: `rollout.n x optim.promptsPerStep is ${rows} rollouts per step; at most ${MAX_ROLLOUT_ROWS} fit one step`,
      });
  };
}

/**
 * The train config's schema with the built-in methods: what the config's type is inferred from.
 * Once further methods are registered, parsing goes through currentTrainConfigSchema().
 */
export const trainConfigSchema = z
  .strictObject({
    method: z.enum(METHODS).default('vzero'),
    ...SHARED_HEAD,
    ...(methodSections(BUILTIN_METHODS) as BuiltinSections),
    ...SHARED_TAIL,
  })
  .superRefine((c, ctx) => checksAcross(BUILTIN_METHODS)(c, ctx));

/** The schema for a list of methods (their names, their sections after `rollout`, their checks). */
function trainConfigSchemaFor(methods: readonly AnyMethodSpec[]) {
  const names = methods.map((m) => m.name) as [string, ...string[]];
  return z
    .strictObject({
      method: z.enum(names).default('vzero'),
      ...SHARED_HEAD,
      ...methodSections(methods),
      ...SHARED_TAIL,
    })
    .superRefine((c, ctx) => checksAcross(methods)(c as TrainConfig, ctx));
}

let registeredSchema: { readonly version: number; readonly schema: unknown } | undefined;

/**
 * The train config's schema with every registered method: trainConfigSchema itself while only
 * the built-in methods are registered. Typed as trainConfigSchema: a registered method's section
 * is an extra key its own step reads (as its `settings`).
 */
export function currentTrainConfigSchema(): typeof trainConfigSchema {
  const methods = registeredMethods();
  if (methods.length === BUILTIN_METHODS.length) return trainConfigSchema;
  if (registeredSchema?.version !== registryVersion())
    registeredSchema = { version: registryVersion(), schema: trainConfigSchemaFor(methods) };
  return registeredSchema.schema as typeof trainConfigSchema;
}

/** The schema of the config with `extra` registered too (registerMethod checks a spec with it). */
export function trainConfigSchemaWith(extra: AnyMethodSpec): z.ZodType {
  return trainConfigSchemaFor([...registeredMethods(), extra]);
}

/** A validated train config (every default filled in). */
export type TrainConfig = Omit<z.infer<typeof trainConfigSchema>, 'method'> & { method: MethodName };
export type TrainConfigInput = Omit<z.input<typeof trainConfigSchema>, 'method'> & {
  method?: MethodName | undefined;
};

/** Validates a raw config object; unknown keys and bad values become typed errors naming the key. */
export function parseTrainConfig(raw: unknown, where = 'config'): TrainConfig {
  const retired = retiredRandomPositive(raw);
  if (retired !== undefined) {
    throw new InvalidInputError(
      `${where}.views.randomPositive`,
      retired,
      `this key was replaced: write views.negative: ${retired === true ? "'random-positive'" : '<mode>'} instead ` +
        '(random crops for both views is now a negative mode of its own)',
    );
  }
  const result = currentTrainConfigSchema().safeParse(raw ?? {});
  if (result.success) return result.data;
  throw configError(result.error.issues, raw, where);
}

/**
 * Checks a config object as parseTrainConfig does (every section, the registered methods' too),
 * throwing the same typed errors; train() calls it before it loads anything, so a config built
 * in code rather than parsed is held to the same rules.
 */
export function checkTrainConfig(config: TrainConfig, where = 'config'): void {
  const result = currentTrainConfigSchema().safeParse(config);
  if (!result.success) throw configError(result.error.issues, config, where);
}

/** The typed error of a config's first issue: the key that is unknown, or the value that is bad. */
function configError(issues: readonly z.core.$ZodIssue[], raw: unknown, where: string): Error {
  const issue = issues[0];
  if (!issue) return new InvalidInputError(where, raw, 'invalid config');
  const path = [where, ...issue.path.map(String)].join('.');
  if (issue.code === 'unrecognized_keys') {
    const parentShape = shapeAt(issue.path.map(String));
    return new UnknownKeyError(path, issue.keys[0] ?? '?', parentShape);
  }
  return new InvalidInputError(path, valueAt(raw, issue.path.map(String)), issue.message);
}

/** The value of the retired views.randomPositive key, or undefined when the config has none. */
function retiredRandomPositive(raw: unknown): unknown {
  const views = valueAt(raw, ['views']);
  return views !== null && typeof views === 'object' && 'randomPositive' in views
    ? (views as Record<string, unknown>)['randomPositive']
    : undefined;
}

/**
 * A train config saved by an older version (a run folder's config.json), brought up to date so
 * that its run resumes: views.randomPositive true becomes views.negative 'random-positive' (what
 * it meant), false is dropped. Returns the config (a copy when changed) and a one-line notice.
 */
export function migrateSavedTrainConfig(saved: unknown): { config: unknown; notice?: string } {
  const value = retiredRandomPositive(saved);
  if (value === undefined) return { config: saved };
  const config = structuredClone(saved) as { views: Record<string, unknown> };
  delete config.views['randomPositive'];
  if (value === true) config.views['negative'] = 'random-positive';
  return {
    config,
    notice:
      `views.randomPositive: ${JSON.stringify(value)} (an older version's key) read as ` +
      (value === true
        ? "views.negative: 'random-positive'"
        : `views.negative: ${JSON.stringify(config.views['negative'])}`),
  };
}

/**
 * A train config with every key it lacks filled in with its default. A config saved before a key
 * existed (gate.level, optim.eps) gets the default, which is what that version did, so resuming it
 * is not a config change. Anything that does not read as a train config is returned as it is.
 */
export function withTrainDefaults(saved: unknown): unknown {
  const parsed = currentTrainConfigSchema().safeParse(saved);
  return parsed.success ? parsed.data : saved;
}

function shapeAt(path: readonly string[]): string[] {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let shape: any = currentTrainConfigSchema().shape;
  for (const key of path) {
    let inner = shape?.[key];
    while (inner && !inner.shape && inner.def?.innerType) inner = inner.def.innerType;
    shape = inner?.shape;
  }
  return shape ? Object.keys(shape) : [];
}

function valueAt(raw: unknown, path: readonly string[]): unknown {
  let v = raw;
  for (const key of path)
    v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
  return v;
}

/** Reads a JSON or YAML config file. */
export async function readConfigFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new InvalidInputError(
      '--config',
      path,
      `cannot read the file (${(error as NodeJS.ErrnoException).code})`,
    );
  }
  // A UTF-8 byte-order mark (Windows editors write one) is not part of the first key.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  try {
    return path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new InvalidInputError(
      '--config',
      path,
      `not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(error as Error).message}`,
    );
  }
}

/** Keys that reach an object's prototype when assigned: never accepted from a user. */
export const UNSAFE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Throws when a user-given key path has an empty part or one of UNSAFE_KEYS (assigning
 * `__proto__.x` would change the prototype of every object in the process).
 */
export function assertSafeKeyPath(field: string, value: unknown, keys: readonly string[]): void {
  for (const key of keys) {
    if (UNSAFE_KEYS.has(key))
      throw new InvalidInputError(
        field,
        value,
        `"${key}" is not a config key (it names an object's prototype)`,
      );
    if (key === '') throw new InvalidInputError(field, value, 'a key path has an empty part');
  }
}

/**
 * Applies `key.path=value` overrides (values parsed as YAML scalars: numbers, booleans, strings,
 * [lists]) onto a raw config object, before validation.
 */
export function applyOverrides(raw: unknown, overrides: readonly string[]): Record<string, unknown> {
  const out = structuredClone((raw ?? {}) as Record<string, unknown>);
  for (const entry of overrides) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new InvalidInputError('--set', entry, 'expected key.path=value');
    const keys = entry.slice(0, eq).split('.');
    assertSafeKeyPath('--set', entry, keys);
    const value: unknown = parseYaml(entry.slice(eq + 1));
    let node: Record<string, unknown> = out;
    for (const key of keys.slice(0, -1)) {
      const next = node[key];
      if (next === undefined) node[key] = {};
      else if (next === null || typeof next !== 'object')
        throw new InvalidInputError('--set', entry, `${key} is not a section`);
      node = node[key] as Record<string, unknown>;
    }
    node[keys[keys.length - 1] as string] = value;
  }
  return out;
}
