// Model configs are plain typed defaults (nanoGPT style). Presets give the student (full image
// only) and the larger teacher (full image, then a crop: the reference's <image> then <crop>).
import { InvalidInputError, resolveConfig } from '@vzero/core';
import type { ImageRole } from '@vzero/core';

/** One image slot of the prefix: its role and the square side, in pixels, it is resampled to. */
export interface ImageSlot {
  readonly role: ImageRole;
  readonly size: number;
}

export interface ModelConfig {
  /** Number of token ids; set it to `tokenizer.size`. */
  readonly vocabSize: number;
  /** Residual stream width d. */
  readonly width: number;
  /** Number of transformer blocks. */
  readonly depth: number;
  readonly heads: number;
  /** Hidden width of each block's MLP. */
  readonly mlpWidth: number;
  /** Side of a square patch in pixels; every slot size must be a multiple of it. */
  readonly patchSize: number;
  /**
   * Side of the sub-patches a shared non-linear stem reads inside each patch (a convolution
   * with kernel = stride = stemPatch, then ReLU); 0 = a plain linear patch encoder. Must divide
   * patchSize. Absent in checkpoints written before the stem existed (read as 0).
   */
  readonly stemPatch?: number;
  /** Features the stem computes per sub-patch (0 when stemPatch is 0). */
  readonly stemChannels?: number;
  /** Image slots in prompt order; the first must be the full image. */
  readonly images: readonly ImageSlot[];
  /** Longest prompt text + response, in tokens (image tokens not included). */
  readonly maxTextLength: number;
  /** Seed of the weight initialisation (core Rng: the same weights on every backend). */
  readonly initSeed: number;
}

/** A preset: everything but the vocabulary size, which comes from the tokenizer. */
export type ModelPreset = Omit<ModelConfig, 'vocabSize'>;

export const MODEL_PRESETS = {
  /** Test-sized model with the teacher's two-slot layout: fast enough for unit tests. */
  tiny: {
    width: 32,
    depth: 1,
    heads: 2,
    mlpWidth: 64,
    patchSize: 8,
    stemPatch: 0,
    stemChannels: 0,
    images: [
      { role: 'full', size: 16 },
      { role: 'crop', size: 16 },
    ],
    maxTextLength: 48,
    initSeed: 1,
  },
  /** The student: full image only, 64 px in 8 px patches (64 image tokens). */
  student: {
    width: 64,
    depth: 2,
    heads: 4,
    mlpWidth: 128,
    patchSize: 8,
    stemPatch: 0,
    stemChannels: 0,
    images: [{ role: 'full', size: 64 }],
    maxTextLength: 64,
    initSeed: 1,
  },
  /** The teacher: wider and deeper, full 64 px image followed by a 32 px crop (80 image tokens). */
  teacher: {
    width: 96,
    depth: 3,
    heads: 4,
    mlpWidth: 192,
    patchSize: 8,
    stemPatch: 0,
    stemChannels: 0,
    images: [
      { role: 'full', size: 64 },
      { role: 'crop', size: 32 },
    ],
    maxTextLength: 64,
    initSeed: 2,
  },
} as const satisfies Record<string, ModelPreset>;

export type ModelPresetName = keyof typeof MODEL_PRESETS;

/**
 * A full config from a preset (by name or value) and overrides; unknown keys are errors naming
 * the key, and the result is validated.
 */
export function resolveModelConfig(
  preset: ModelPresetName | ModelPreset,
  overrides: Partial<ModelConfig> & { readonly vocabSize: number },
): ModelConfig {
  const base: ModelPreset = typeof preset === 'string' ? presetByName(preset) : preset;
  const config = resolveConfig<ModelConfig>({ ...base, vocabSize: 0 }, overrides, 'config');
  validateModelConfig(config);
  return config;
}

function presetByName(name: string): ModelPreset {
  if (!Object.prototype.hasOwnProperty.call(MODEL_PRESETS, name)) {
    throw new InvalidInputError('preset', name, `expected one of ${Object.keys(MODEL_PRESETS).join(', ')}`);
  }
  return MODEL_PRESETS[name as ModelPresetName];
}

function positiveInt(field: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new InvalidInputError(field, value, 'expected a positive integer');
  }
}

/** Throws InvalidInputError naming the first field that cannot build a model. */
export function validateModelConfig(config: ModelConfig): void {
  for (const key of [
    'vocabSize',
    'width',
    'depth',
    'heads',
    'mlpWidth',
    'patchSize',
    'maxTextLength',
  ] as const) {
    positiveInt(`config.${key}`, config[key]);
  }
  if (typeof config.initSeed !== 'number' || !Number.isFinite(config.initSeed)) {
    throw new InvalidInputError('config.initSeed', config.initSeed, 'expected a finite number');
  }
  validateStem(config);
  if (config.width % config.heads !== 0) {
    throw new InvalidInputError('config.heads', config.heads, `must divide config.width (${config.width})`);
  }
  if (!Array.isArray(config.images) || config.images.length === 0) {
    throw new InvalidInputError('config.images', config.images, 'expected at least one image slot');
  }
  config.images.forEach((slot, i) => {
    const field = `config.images[${i}]`;
    if (slot.role !== 'full' && slot.role !== 'crop') {
      throw new InvalidInputError(`${field}.role`, slot.role, 'expected "full" or "crop"');
    }
    if ((i === 0) !== (slot.role === 'full')) {
      throw new InvalidInputError(
        `${field}.role`,
        slot.role,
        'the first slot, and only it, is the full image',
      );
    }
    positiveInt(`${field}.size`, slot.size);
    if (slot.size % config.patchSize !== 0) {
      throw new InvalidInputError(
        `${field}.size`,
        slot.size,
        `must be a multiple of config.patchSize (${config.patchSize})`,
      );
    }
  });
}

/** The stem's settings, 0/0 when the model has none (older configs lack the keys). */
export function stemOf(config: ModelConfig): { readonly patch: number; readonly channels: number } {
  return { patch: config.stemPatch ?? 0, channels: config.stemChannels ?? 0 };
}

function validateStem(config: ModelConfig): void {
  const { patch, channels } = stemOf(config);
  for (const [key, value] of [
    ['stemPatch', patch],
    ['stemChannels', channels],
  ] as const) {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      throw new InvalidInputError(`config.${key}`, value, 'expected an integer >= 0');
    }
  }
  if ((patch === 0) !== (channels === 0)) {
    throw new InvalidInputError(
      'config.stemChannels',
      channels,
      `must be 0 exactly when config.stemPatch is 0 (stemPatch ${patch})`,
    );
  }
  if (patch > 0 && config.patchSize % patch !== 0) {
    throw new InvalidInputError(
      'config.stemPatch',
      patch,
      `must divide config.patchSize (${config.patchSize})`,
    );
  }
}

/** Patches (= prefix tokens) of one slot. */
export function slotTokens(config: ModelConfig, slot: number): number {
  const s = config.images[slot];
  if (!s) throw new InvalidInputError('slot', slot, `the model has ${config.images.length} image slots`);
  return (s.size / config.patchSize) ** 2;
}

/** Image tokens in the whole prefix. */
export function prefixLength(config: ModelConfig): number {
  return config.images.reduce((n, _s, i) => n + slotTokens(config, i), 0);
}
