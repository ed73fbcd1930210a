// Input checks of the model: prompts against its image slots and text length, token ids
// against its vocabulary, batches for one response per prompt. Errors name the field.
import { InvalidInputError, ShapeMismatchError } from '@vzero/core';
import type { ModelConfig } from './config.js';
import type { ModelPrompt, ResponseBatch } from './model.js';

/** Checks a prompt's images against the slots and its token ids against the vocabulary. */
export function checkPrompt(
  config: ModelConfig,
  prompt: ModelPrompt,
  field: string,
  responseLength = 0,
): void {
  const slots = config.images;
  if (prompt.images.length !== slots.length) {
    throw new InvalidInputError(
      `${field}.images`,
      prompt.images.map((i) => i.role),
      `this model takes ${slots.length} image(s) in the order ${slots.map((s) => s.role).join(', ')}`,
    );
  }
  prompt.images.forEach((img, i) => {
    if (img.role !== slots[i]?.role) {
      throw new InvalidInputError(`${field}.images[${i}].role`, img.role, `expected "${slots[i]?.role}"`);
    }
    if (!img.pixels)
      throw new InvalidInputError(
        `${field}.images[${i}].pixels`,
        undefined,
        'a local model needs decoded pixels',
      );
  });
  if (prompt.tokenIds.length === 0)
    throw new InvalidInputError(`${field}.tokenIds`, [], 'a prompt needs at least one token');
  checkIds(config, prompt.tokenIds, `${field}.tokenIds`);
  const total = prompt.tokenIds.length + responseLength;
  if (total > config.maxTextLength) {
    throw new InvalidInputError(
      `${field}`,
      total,
      `prompt (${prompt.tokenIds.length}) + response (${responseLength}) tokens exceed config.maxTextLength (${config.maxTextLength})`,
    );
  }
}

export function checkIds(config: ModelConfig, ids: readonly number[], field: string): void {
  ids.forEach((id, i) => {
    if (!Number.isInteger(id) || id < 0 || id >= config.vocabSize) {
      throw new InvalidInputError(`${field}[${i}]`, id, `expected a token id in [0, ${config.vocabSize})`);
    }
  });
}

export function checkBatch(config: ModelConfig, batch: ResponseBatch): void {
  if (batch.prompts.length !== batch.responses.length) {
    throw new ShapeMismatchError(
      'batch.responses',
      `${batch.prompts.length} responses (one per prompt)`,
      `${batch.responses.length}`,
    );
  }
  if (batch.prompts.length === 0)
    throw new InvalidInputError('batch.prompts', [], 'expected at least one prompt');
  batch.prompts.forEach((p, b) => {
    const r = batch.responses[b] ?? [];
    checkIds(config, r, `batch.responses[${b}]`);
    checkPrompt(config, p, `batch.prompts[${b}]`, r.length);
  });
}
