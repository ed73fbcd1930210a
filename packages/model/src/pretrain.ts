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

/**
 * One supervised step: loss, gradients, clipping, AdamW. Returns the loss and the gradient
 * norm before clipping. Leaves no tensors behind.
 */
export function supervisedStep(
  model: VisionLanguageModel,
  optimizer: AdamW,
  batch: ResponseBatch,
  settings: { readonly learningRate: number; readonly clipNorm: number },
): { loss: number; gradNorm: number } {
  const vars = model.trainableVariables;
  const { value, grads } = tf.variableGrads(() => model.supervisedLoss(batch), vars);
  const ordered = vars.map((v) => grads[v.name] as tf.Tensor);
  // Clipping is the optimizer's gradient scale: no scaled copies of the gradients.
  const norm = globalNorm(ordered);
  optimizer.step(ordered, settings.learningRate, clipScale(norm, settings.clipNorm));
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
  readonly learningRate: number;
  readonly stepsPerSecond: number;
  readonly elapsedMs: number;
}

export interface PretrainOptions {
  readonly steps: number;
  readonly batchSize: number;
  readonly learningRate: number;
  /** Linear warm-up from 0 over this many steps. */
  readonly warmupSteps: number;
  readonly weightDecay: number;
  /** Global-norm gradient clip (0 disables). */
  readonly clipNorm: number;
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
  learningRate: 3e-3,
  warmupSteps: 20,
  weightDecay: 0.01,
  clipNorm: 1,
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
  options: Partial<PretrainOptions> = {},
): Promise<PretrainResult> {
  const o = resolveConfig(PRETRAIN_DEFAULTS, options, 'pretrain');
  for (const key of ['steps', 'batchSize'] as const) {
    if (!Number.isInteger(o[key]) || o[key] < 1)
      throw new InvalidInputError(`pretrain.${key}`, o[key], 'expected a positive integer');
  }
  if (!(o.learningRate > 0))
    throw new InvalidInputError('pretrain.learningRate', o.learningRate, 'expected a number > 0');
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
      const learningRate = o.learningRate * Math.min(1, (step + 1) / Math.max(1, o.warmupSteps));
      const { loss, gradNorm } = supervisedStep(model, optimizer, batch, {
        learningRate,
        clipNorm: o.clipNorm,
      });
      losses.push(loss);
      const elapsedMs = performance.now() - start;
      if (o.onProgress) {
        await o.onProgress({
          step: step + 1,
          steps: o.steps,
          loss,
          gradNorm,
          learningRate,
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
