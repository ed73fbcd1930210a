// Checkpoints: a folder with config.json (format, model config, tokenizer) and the weights as
// one little-endian float32 file plus a JSON index of names, shapes and offsets. Loading checks
// the stored config against the requested one and names the first field that differs.
// config.json carries SHA-256 checksums of the two weight files and is written last (each file
// through a temporary name and a rename): a torn or bit-flipped checkpoint is refused on load
// instead of training on from garbage.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  InvalidInputError,
  VZeroError,
  ensureWritableDir,
  toFileSystemError,
  writeFileAtomic,
} from '@vzero/core';
import { validateModelConfig } from './config.js';
import type { ModelConfig } from './config.js';
import { VisionLanguageModel } from './model.js';
import { Tokenizer } from './tokenizer.js';

export const CHECKPOINT_FORMAT = 'vzero-model-checkpoint';
export const CONFIG_FILE = 'config.json';
export const WEIGHTS_FILE = 'weights.bin';
export const WEIGHTS_INDEX_FILE = 'weights.json';

/** A stored file does not match the checksum recorded when it was written (or cannot be parsed). */
export class CheckpointCorruptError extends VZeroError {
  readonly path: string;
  constructor(path: string, reason: string) {
    super('CHECKPOINT_CORRUPT', `${path}: ${reason}; the checkpoint is damaged and cannot be trusted`);
    this.path = path;
  }
}

/** Hex SHA-256 of some bytes (the checksum checkpoints record). */
export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A stored checkpoint does not match what the caller asked for; `field` names the difference. */
export class CheckpointMismatchError extends VZeroError {
  readonly field: string;
  constructor(field: string, stored: unknown, requested: unknown) {
    super(
      'CHECKPOINT_MISMATCH',
      `${field}: checkpoint ${JSON.stringify(stored)}, requested ${JSON.stringify(requested)}`,
    );
    this.field = field;
  }
}

interface WeightEntry {
  readonly name: string;
  readonly shape: readonly number[];
  /** Offset in float32 values. */
  readonly offset: number;
}

interface ConfigFile {
  readonly format: typeof CHECKPOINT_FORMAT;
  readonly version: 1;
  readonly config: ModelConfig;
  readonly tokenizer: ReturnType<Tokenizer['toJSON']>;
  readonly tokenizerId: string;
  /** Free-form metadata from the caller (step, loss, source...). */
  readonly metadata?: Record<string, unknown>;
  /** SHA-256 of weights.bin and weights.json (absent in checkpoints written before checksums). */
  readonly checksums?: Readonly<Record<string, string>>;
}

/** Writes config.json, weights.bin and weights.json into `dir` (created if needed). */
export async function saveCheckpoint(
  dir: string,
  model: VisionLanguageModel,
  tokenizer: Tokenizer,
  metadata?: Record<string, unknown>,
): Promise<void> {
  if (model.config.vocabSize !== tokenizer.size) {
    throw new InvalidInputError(
      'tokenizer',
      tokenizer.id,
      `has ${tokenizer.size} tokens, the model ${model.config.vocabSize}`,
    );
  }
  await ensureWritableDir(dir, 'checkpoint');
  const weights = model.getWeights();
  const total = weights.reduce((n, w) => n + w.tensor.size, 0);
  const data = new Float32Array(total);
  const index: WeightEntry[] = [];
  let offset = 0;
  for (const w of weights) {
    data.set(await w.tensor.data<'float32'>(), offset);
    index.push({ name: w.name, shape: w.tensor.shape, offset });
    offset += w.tensor.size;
  }
  const bin = new Uint8Array(littleEndian(data));
  const indexText = `${JSON.stringify({ dtype: 'float32', weights: index }, null, 1)}\n`;
  const config: ConfigFile = {
    format: CHECKPOINT_FORMAT,
    version: 1,
    config: model.config,
    tokenizer: tokenizer.toJSON(),
    tokenizerId: tokenizer.id,
    ...(metadata ? { metadata } : {}),
    checksums: { [WEIGHTS_FILE]: sha256(bin), [WEIGHTS_INDEX_FILE]: sha256(indexText) },
  };
  await writeFileAtomic(join(dir, WEIGHTS_FILE), bin);
  await writeFileAtomic(join(dir, WEIGHTS_INDEX_FILE), indexText);
  // Last: a checkpoint without its config.json is not a checkpoint, so a failure above leaves
  // nothing that a later load would trust.
  await writeFileAtomic(join(dir, CONFIG_FILE), `${JSON.stringify(config, null, 2)}\n`);
}

export interface LoadedCheckpoint {
  readonly model: VisionLanguageModel;
  readonly tokenizer: Tokenizer;
  readonly metadata: Record<string, unknown>;
}

export interface LoadOptions {
  /** Fields the stored config must have (e.g. a preset); a difference is a CheckpointMismatchError. */
  readonly expect?: Partial<ModelConfig>;
  /** The tokenizer id the checkpoint must carry (teacher and student must share one). */
  readonly tokenizerId?: string;
}

/** Loads a checkpoint saved by saveCheckpoint; weights come back bit for bit. */
export async function loadCheckpoint(dir: string, options: LoadOptions = {}): Promise<LoadedCheckpoint> {
  const file = await readJson(join(dir, CONFIG_FILE));
  const cf = file as Partial<ConfigFile>;
  if (cf.format !== CHECKPOINT_FORMAT || cf.version !== 1 || !cf.config || !cf.tokenizer) {
    throw new InvalidInputError(
      join(dir, CONFIG_FILE),
      cf.format,
      `not a ${CHECKPOINT_FORMAT} version 1 file`,
    );
  }
  validateModelConfig(cf.config);
  for (const [key, requested] of Object.entries(options.expect ?? {})) {
    if (requested === undefined) continue;
    const stored = (cf.config as unknown as Record<string, unknown>)[key];
    if (JSON.stringify(stored) !== JSON.stringify(requested)) {
      throw new CheckpointMismatchError(`config.${key}`, stored, requested);
    }
  }
  const tokenizer = Tokenizer.fromJSON(cf.tokenizer);
  if (cf.tokenizerId !== undefined && cf.tokenizerId !== tokenizer.id) {
    throw new CheckpointMismatchError('tokenizerId', cf.tokenizerId, tokenizer.id);
  }
  if (options.tokenizerId !== undefined && options.tokenizerId !== tokenizer.id) {
    throw new CheckpointMismatchError('tokenizerId', tokenizer.id, options.tokenizerId);
  }
  if (cf.config.vocabSize !== tokenizer.size) {
    throw new CheckpointMismatchError('config.vocabSize', cf.config.vocabSize, tokenizer.size);
  }
  const indexText = await readText(join(dir, WEIGHTS_INDEX_FILE));
  const bytes = await readFile(join(dir, WEIGHTS_FILE)).catch((error: unknown) => {
    throw toFileSystemError(error, join(dir, WEIGHTS_FILE), 'read the checkpoint');
  });
  const checksums = cf.checksums;
  if (checksums !== undefined) {
    for (const [file, data] of [
      [WEIGHTS_FILE, bytes],
      [WEIGHTS_INDEX_FILE, indexText],
    ] as const) {
      const expected = checksums[file];
      if (typeof expected !== 'string') {
        throw new CheckpointCorruptError(join(dir, CONFIG_FILE), `no checksum recorded for ${file}`);
      }
      if (sha256(data) !== expected) {
        throw new CheckpointCorruptError(join(dir, file), 'SHA-256 differs from the one in config.json');
      }
    }
  }
  const index = parseJson(indexText, join(dir, WEIGHTS_INDEX_FILE)) as { weights?: WeightEntry[] };
  const values = fromLittleEndian(bytes);
  const model = new VisionLanguageModel(cf.config);
  try {
    const tensors = new Map<string, tf.Tensor>();
    const expected = new Map(model.getWeights().map((w) => [w.name, w.tensor.shape]));
    for (const e of index.weights ?? []) {
      const shape = expected.get(e.name);
      if (!shape) throw new CheckpointMismatchError(`weights.${e.name}`, e.shape, 'no such weight');
      if (shape.join(',') !== e.shape.join(','))
        throw new CheckpointMismatchError(`weights.${e.name}.shape`, e.shape, shape);
      const size = shape.reduce((a, b) => a * b, 1);
      if (e.offset + size > values.length) {
        throw new InvalidInputError(join(dir, WEIGHTS_FILE), values.length, `too short for weight ${e.name}`);
      }
      tensors.set(e.name, tf.tensor(values.subarray(e.offset, e.offset + size), shape));
    }
    for (const name of expected.keys()) {
      if (!tensors.has(name)) throw new CheckpointMismatchError(`weights.${name}`, 'missing', 'present');
    }
    try {
      model.setWeights(tensors);
    } finally {
      for (const t of tensors.values()) t.dispose();
    }
  } catch (error) {
    model.dispose();
    throw error;
  }
  return { model, tokenizer, metadata: cf.metadata ?? {} };
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new InvalidInputError('checkpoint', path, `cannot read: ${(error as Error).message}`);
  }
}

async function readJson(path: string): Promise<unknown> {
  return parseJson(await readText(path), path);
}

function parseJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new InvalidInputError('checkpoint', path, `invalid JSON: ${(error as Error).message}`);
  }
}

function littleEndian(values: Float32Array): ArrayBuffer {
  const buf = new ArrayBuffer(values.length * 4);
  const view = new DataView(buf);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return buf;
}

function fromLittleEndian(bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(Math.floor(bytes.byteLength / 4));
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}
