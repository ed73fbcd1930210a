// Supervised pre-training on (prompt, target response) pairs: mean token NLL, AdamW with
// decoupled weight decay, global-norm gradient clipping, linear warm-up. The `vzero pretrain`
// CLI feeds world data into this; it only needs prompts with pixels and target texts.
import * as tf from '@tensorflow/tfjs-core';
import { InvalidInputError, Rng, resolveConfig } from '@vzero/core';
import type { Prompt } from '@vzero/core';
import type { ResponseBatch, VisionLanguageModel } from './model.js';
import type { Tokenizer } from './tokenizer.js';
import { AdamW, clipScale, globalNorm } from './adamw.js';

export { AdamW, ADAMW_DEFAULTS, clipScale, globalNorm, type AdamWOptions, type AdamWState } from './adamw.js';

/** Scales gradients so their global L2 norm is at most `maxNorm`; returns the norm before clipping. */
export function clipByGlobalNorm(
  grads: tf.Tensor[],
  maxNorm: number,
): { clipped: tf.Tensor[]; norm: number } {
  const norm = globalNorm(grads);
  const scale = clipScale(norm, maxNorm);
  if (scale === 1) return { clipped: grads.map((g) => g.clone()), norm };
  return { clipped: grads.map((g) => tf.mul(g, scale)), norm };
}

/** The settings of one supervisedStep: the learning rate and the global-norm gradient clip. */
export interface StepSettings {
  readonly lr: number;
  /** Global L2 norm the gradients are clipped to (0 disables). */
  readonly gradClip: number;
}

/**
 * Spellings of earlier versions, still read with a deprecation warning: each knob has one name
 * across the workspace (`lr` and `gradClip`, as in @vzero/train's config and `vzero pretrain`).
 */
export interface DeprecatedStepSettings {
  /** @deprecated Renamed `lr`. */
  readonly learningRate?: number;
  /** @deprecated Renamed `gradClip`. */
  readonly clipNorm?: number;
}

const RENAMED = { learningRate: 'lr', clipNorm: 'gradClip' } as const;
const warned = new Set<string>();

/**
 * `settings` with the old spellings (learningRate, clipNorm) under their names (lr, gradClip),
 * each old one used warned about once per process; both spellings of one knob is an error.
 */
function renamed<T extends object>(settings: T, where: string): Omit<T, keyof DeprecatedStepSettings> {
  const out: Record<string, unknown> = { ...(settings as Record<string, unknown>) };
  for (const [old, now] of Object.entries(RENAMED)) {
    if (!(old in out)) continue;
    const value = out[old];
    delete out[old];
    if (value === undefined) continue;
    if (out[now] !== undefined)
      throw new InvalidInputError(`${where}.${old}`, value, `is the old name of ${now}, which is given too`);
    out[now] = value;
    if (!warned.has(old)) {
      warned.add(old);
      process.emitWarning(`${where}.${old} is deprecated, use ${now} (the old name will be removed)`, {
        type: 'DeprecationWarning',
        code: `VZERO_${old.toUpperCase()}`,
      });
    }
  }
  return out as Omit<T, keyof DeprecatedStepSettings>;
}

/**
 * One supervised step: loss, gradients, clipping, AdamW. Returns the loss and the gradient
 * norm before clipping. Leaves no tensors behind.
 */
export function supervisedStep(
  model: VisionLanguageModel,
  optimizer: AdamW,
  batch: ResponseBatch,
  given: StepSettings | Required<DeprecatedStepSettings>,
): { loss: number; gradNorm: number } {
  const settings = renamed(given, 'supervisedStep') as StepSettings;
  const vars = model.trainableVariables;
  const { value, grads } = tf.variableGrads(() => model.supervisedLoss(batch), vars);
  const ordered = vars.map((v) => grads[v.name] as tf.Tensor);
  // Clipping is the optimizer's gradient scale: no scaled copies of the gradients.
  const norm = globalNorm(ordered);
  optimizer.step(ordered, settings.lr, clipScale(norm, settings.gradClip));
  const loss = (value.dataSync() as Float32Array)[0] ?? NaN;
  value.dispose();
  tf.dispose(ordered);
  if (!Number.isFinite(loss))
    throw new InvalidInputError('loss', loss, 'training diverged (non-finite loss)');
  return { loss, gradNorm: norm };
}

/** A (prompt, target response) pair; the response is words, <eos> is appended. */
export interface PretrainExample {
  readonly prompt: Prompt;
  readonly response: string;
}

export interface PretrainProgress {
  readonly step: number;
  readonly steps: number;
  readonly loss: number;
  readonly gradNorm: number;
  /** The step's learning rate (warming up to PretrainOptions.lr). */
  readonly lr: number;
  /** @deprecated Renamed `lr`. */
  readonly learningRate: number;
  readonly stepsPerSecond: number;
  readonly elapsedMs: number;
}

export interface PretrainOptions {
  readonly steps: number;
  readonly batchSize: number;
  /** Peak learning rate (reached after the warm-up). */
  readonly lr: number;
  /** Linear warm-up from 0 over this many steps. */
  readonly warmupSteps: number;
  readonly weightDecay: number;
  /** Global-norm gradient clip (0 disables). */
  readonly gradClip: number;
  readonly beta1: number;
  readonly beta2: number;
  /** Seed of the batch order. */
  readonly seed: number;
  /** Called after every step; a returned promise is awaited. */
  readonly onProgress: ((progress: PretrainProgress) => void | Promise<void>) | undefined;
  /** Stops early (after the current step) when aborted. */
  readonly signal: AbortSignal | undefined;
}

export const PRETRAIN_DEFAULTS: PretrainOptions = {
  steps: 300,
  batchSize: 16,
  lr: 3e-3,
  warmupSteps: 20,
  weightDecay: 0.01,
  gradClip: 1,
  beta1: 0.9,
  beta2: 0.999,
  seed: 0,
  onProgress: undefined,
  signal: undefined,
};

export interface PretrainResult {
  /** Loss of every step taken. */
  readonly losses: number[];
  readonly steps: number;
  readonly elapsedMs: number;
}

/**
 * Trains `model` on examples by teacher forcing (mean token NLL of the target responses),
 * shuffling each epoch with a seeded Rng. Unknown words fail up front, naming the example.
 */
export async function pretrain(
  model: VisionLanguageModel,
  tokenizer: Tokenizer,
  examples: readonly PretrainExample[],
  options: Partial<PretrainOptions> & DeprecatedStepSettings = {},
): Promise<PretrainResult> {
  const o = resolveConfig(PRETRAIN_DEFAULTS, renamed(options, 'pretrain'), 'pretrain');
  for (const key of ['steps', 'batchSize'] as const) {
    if (!Number.isInteger(o[key]) || o[key] < 1)
      throw new InvalidInputError(`pretrain.${key}`, o[key], 'expected a positive integer');
  }
  if (!(o.lr > 0)) throw new InvalidInputError('pretrain.lr', o.lr, 'expected a number > 0');
  if (examples.length === 0) throw new InvalidInputError('examples', [], 'expected at least one example');
  if (model.config.vocabSize !== tokenizer.size) {
    throw new InvalidInputError(
      'tokenizer',
      tokenizer.id,
      `has ${tokenizer.size} tokens, the model ${model.config.vocabSize}`,
    );
  }
  const encoded = examples.map((e, i) => {
    const prompt = {
      images: e.prompt.images,
      tokenIds: [tokenizer.bosId, ...tokenizer.encode(e.prompt.text, `examples[${i}].prompt.text`)],
    };
    const response = [...tokenizer.encode(e.response, `examples[${i}].response`), tokenizer.eosId];
    model.checkPrompt(prompt, `examples[${i}].prompt`, response.length);
    return { prompt, response };
  });
  const rng = new Rng(o.seed);
  const optimizer = new AdamW(model.trainableVariables, {
    beta1: o.beta1,
    beta2: o.beta2,
    weightDecay: o.weightDecay,
  });
  const losses: number[] = [];
  let order: number[] = [];
  const start = performance.now();
  try {
    for (let step = 0; step < o.steps; step++) {
      if (o.signal?.aborted) break;
      const rows: number[] = [];
      while (rows.length < Math.min(o.batchSize, encoded.length)) {
        if (order.length === 0) order = rng.shuffle(encoded.map((_e, i) => i));
        rows.push(order.pop() as number);
      }
      const batch: ResponseBatch = {
        prompts: rows.map((r) => encoded[r]!.prompt),
        responses: rows.map((r) => encoded[r]!.response),
      };
      const lr = o.lr * Math.min(1, (step + 1) / Math.max(1, o.warmupSteps));
      const { loss, gradNorm } = supervisedStep(model, optimizer, batch, { lr, gradClip: o.gradClip });
      losses.push(loss);
      const elapsedMs = performance.now() - start;
      if (o.onProgress) {
        await o.onProgress({
          step: step + 1,
          steps: o.steps,
          loss,
          gradNorm,
          lr,
          learningRate: lr,
          stepsPerSecond: (step + 1) / (elapsedMs / 1000),
          elapsedMs,
        });
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    optimizer.dispose();
  }
  return { losses, steps: losses.length, elapsedMs: performance.now() - start };
}
