// The toolkit's own models (@vzero/model) as a model input. Such a model reads an image prefix,
// one slot per image in a fixed order (the full image, then the crop for the teacher), each
// slot taking (size / patchSize)^2 positions whatever the image's size (it is resampled to the
// slot's square), then `<bos>` and the prompt text's ids, then the response. The renderer
// writes exactly that: one image chunk per slot carrying the PNG/JPEG bytes with
// expected_tokens = the slot's positions, then one text chunk. A server running the model
// rebuilds the model's prompt with `readToolkitModelInput` (images by slot, token ids).
//
// This package does not import @vzero/model: it takes the tokenizer structurally (the model's
// Tokenizer fits) and the slots as plain numbers (`toolkitSlots(model.config)`).
import { InvalidInputError, ShapeMismatchError } from '@vzero/core';
import type { ImageRole, Prompt } from '@vzero/core';
import {
  ModelInputBuilder,
  chunkLength,
  imageChunk,
  imageChunkBytes,
  modelInputLength,
} from './model-input.js';
import type { ModelInput } from './model-input.js';
import { checkPromptShape, encodedImage } from './prompt-checks.js';
import { checkTokenIds, trainingInput } from './renderer.js';
import type { ParsedResponse, RenderOptions, RenderedPrompt, Renderer, TrainingInput } from './renderer.js';

/** What the renderer needs of the toolkit's tokenizer (@vzero/model's Tokenizer has it all). */
export interface ToolkitTokenizer {
  /** The tokenizer's identity (the Policy's tokenizerId). */
  readonly id: string;
  /** Number of ids: the model's vocabSize. */
  readonly size: number;
  readonly bosId: number;
  readonly eosId: number;
  /** Ids of the text's words (no <bos>/<eos>); bad text throws naming `field`. */
  encode(text: string, field?: string): number[];
  decode(ids: readonly number[]): string;
}

/** One image slot of the model's prefix: its role and the positions an image takes there. */
export interface ToolkitImageSlot {
  readonly role: ImageRole;
  readonly tokens: number;
}

/**
 * The slots of a toolkit model config (`model.config`): slot i takes
 * (images[i].size / patchSize)^2 positions, as @vzero/model's `slotTokens`.
 */
export function toolkitSlots(config: {
  readonly patchSize: number;
  readonly images: readonly { readonly role: ImageRole; readonly size: number }[];
}): ToolkitImageSlot[] {
  return config.images.map((slot, i) => {
    if (!Number.isInteger(slot.size / config.patchSize) || slot.size <= 0) {
      throw new InvalidInputError(
        `config.images[${i}].size`,
        slot.size,
        `expected a positive multiple of config.patchSize (${config.patchSize})`,
      );
    }
    return { role: slot.role, tokens: (slot.size / config.patchSize) ** 2 };
  });
}

/** The model's prompt rebuilt from a model input: images by slot, then the text's token ids. */
export interface ToolkitPromptParts {
  readonly images: readonly {
    readonly role: ImageRole;
    readonly format: 'png' | 'jpeg';
    readonly bytes: Uint8Array;
  }[];
  /** `<bos>` and the prompt text's ids (and, in a training input, the response's). */
  readonly tokenIds: number[];
}

export class ToolkitRenderer implements Renderer {
  readonly name = 'vzero-toolkit';
  readonly tokenizerId: string;
  readonly vocabSize: number;
  readonly stopTokens: readonly number[];
  readonly slots: readonly ToolkitImageSlot[];

  constructor(
    readonly tokenizer: ToolkitTokenizer,
    slots: readonly ToolkitImageSlot[],
  ) {
    if (!Array.isArray(slots) || slots.length === 0) {
      throw new InvalidInputError('slots', slots, 'expected at least one image slot');
    }
    slots.forEach((s, i) => {
      if (s.role !== 'full' && s.role !== 'crop') {
        throw new InvalidInputError(`slots[${i}].role`, s.role, 'expected "full" or "crop"');
      }
      if (!Number.isSafeInteger(s.tokens) || s.tokens < 1) {
        throw new InvalidInputError(`slots[${i}].tokens`, s.tokens, 'expected a positive integer');
      }
    });
    this.slots = Object.freeze(slots.map((s) => ({ role: s.role, tokens: s.tokens })));
    this.tokenizerId = tokenizer.id;
    this.vocabSize = tokenizer.size;
    this.stopTokens = Object.freeze([tokenizer.eosId]);
  }

  /**
   * Image chunks in slot order, then `<bos>` and the text. The toolkit model has no chat turns,
   * so `addGenerationPrompt` changes nothing: the response follows the text directly.
   */
  render(prompt: Prompt, _options: RenderOptions = {}): RenderedPrompt {
    checkPromptShape(prompt);
    if (prompt.images.length !== this.slots.length) {
      throw new InvalidInputError(
        'prompt.images',
        prompt.images.map((i) => i?.role),
        `this model takes ${this.slots.length} image(s) in the order ${this.slots.map((s) => s.role).join(', ')}`,
      );
    }
    const b = new ModelInputBuilder();
    prompt.images.forEach((image, i) => {
      const slot = this.slots[i] as ToolkitImageSlot;
      if (image.role !== slot.role) {
        throw new InvalidInputError(`prompt.images[${i}].role`, image.role, `expected "${slot.role}"`);
      }
      const { bytes, info } = encodedImage(image, `prompt.images[${i}]`);
      b.image(imageChunk(bytes, info.format, slot.tokens));
    });
    b.text([this.tokenizer.bosId, ...this.tokenizer.encode(prompt.text, 'prompt.text')]);
    const modelInput = b.build();
    return {
      modelInput,
      promptTokenCount: modelInputLength(modelInput),
      imageTokenCounts: this.slots.map((s) => s.tokens),
    };
  }

  renderTraining(prompt: Prompt, responseTokens: readonly number[]): TrainingInput {
    return trainingInput(this.render(prompt), responseTokens, this.vocabSize);
  }

  parseResponse(tokens: readonly number[]): ParsedResponse {
    checkTokenIds(tokens, this.vocabSize, 'tokens');
    const end = tokens.findIndex((t) => this.stopTokens.includes(t));
    const content = end < 0 ? [...tokens] : tokens.slice(0, end);
    return { text: this.tokenizer.decode(content), tokens: content, stopped: end >= 0 };
  }

  decode(tokens: readonly number[]): string {
    checkTokenIds(tokens, this.vocabSize, 'tokens');
    return this.tokenizer.decode(tokens);
  }
}

/**
 * The server's side: a toolkit model's prompt from a model input the renderer wrote (or a
 * training input: the text then runs on into the response). Checks the layout against the
 * model's slots: one image chunk per slot with its positions, then one text chunk.
 */
export function readToolkitModelInput(
  input: ModelInput,
  slots: readonly ToolkitImageSlot[],
  vocabSize: number,
): ToolkitPromptParts {
  const chunks = input?.chunks;
  if (!Array.isArray(chunks)) throw new InvalidInputError('modelInput.chunks', chunks, 'expected an array');
  if (chunks.length !== slots.length + 1) {
    throw new ShapeMismatchError(
      'modelInput.chunks',
      `${slots.length} image chunk(s) then one text chunk`,
      `${chunks.length} chunks (${chunks.map((c) => c?.type).join(', ')})`,
    );
  }
  const images = slots.map((slot, i) => {
    const c = chunks[i];
    const field = `modelInput.chunks[${i}]`;
    if (c?.type !== 'image')
      throw new InvalidInputError(`${field}.type`, c?.type, `expected "image" (slot ${i}, ${slot.role})`);
    const n = chunkLength(c, field);
    if (n !== slot.tokens) {
      throw new InvalidInputError(
        `${field}.expected_tokens`,
        n,
        `slot ${i} (${slot.role}) takes ${slot.tokens} positions`,
      );
    }
    if (c.format !== 'png' && c.format !== 'jpeg') {
      throw new InvalidInputError(`${field}.format`, c.format, 'expected "png" or "jpeg"');
    }
    return { role: slot.role, format: c.format, bytes: imageChunkBytes(c) };
  });
  const text = chunks[slots.length];
  const field = `modelInput.chunks[${slots.length}]`;
  if (text?.type !== 'encoded_text')
    throw new InvalidInputError(`${field}.type`, text?.type, 'expected "encoded_text"');
  checkTokenIds(text.tokens, vocabSize, `${field}.tokens`);
  if (text.tokens.length === 0) throw new InvalidInputError(`${field}.tokens`, [], 'expected at least <bos>');
  return { images, tokenIds: [...text.tokens] };
}
