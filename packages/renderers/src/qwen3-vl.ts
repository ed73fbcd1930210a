// Qwen3-VL Instruct (thinking off: the Instruct models write no <think> block). The chat format
// is tinker-cookbook's Qwen3VLInstructRenderer, which its tests hold equal to Hugging Face's
// apply_chat_template for Qwen/Qwen3-VL-30B-A3B-Instruct; there is no default system turn:
//
//   [<|im_start|>system\n{system}<|im_end|>\n]
//   <|im_start|>user\n<|vision_start|>IMAGE<|vision_end|>...{question}<|im_end|>\n
//   <|im_start|>assistant\n                                  (the generation prompt)
//
// In the ModelInput each IMAGE is an image chunk whose expected_tokens is the number of
// <|image_pad|> positions the processor gives it (smart-resize.ts); the training service
// expands it, so the text chunks around it hold everything else. `processorTokenIds` writes the
// same sequence with the pads spelled out, as Hugging Face's processor produces it.
import { InvalidInputError } from '@vzero/core';
import type { Prompt } from '@vzero/core';
import { HfTokenizer } from './hf-tokenizer.js';
import { ModelInputBuilder, flattenTokens, imageChunk, modelInputLength } from './model-input.js';
import type { ModelInput } from './model-input.js';
import { checkPromptShape, encodedImage } from './prompt-checks.js';
import { checkTokenIds, trainingInput } from './renderer.js';
import type { ParsedResponse, RenderOptions, RenderedPrompt, Renderer, TrainingInput } from './renderer.js';
import { QWEN3_VL_VISION, qwenImageTokens, validateVisionConfig } from './smart-resize.js';
import type { QwenVisionConfig } from './smart-resize.js';

export interface Qwen3VLRendererOptions {
  /** A system turn before the user's (default none, as the model's own template). */
  readonly system?: string;
  /** The image processor's settings (default Qwen3-VL's: patch 16, merge 2, 65536..16777216 pixels). */
  readonly vision?: Partial<QwenVisionConfig>;
}

/** The special tokens the format needs, by role. */
export interface QwenSpecialTokens {
  readonly imStart: number;
  readonly imEnd: number;
  readonly visionStart: number;
  readonly visionEnd: number;
  readonly imagePad: number;
}

export class Qwen3VLRenderer implements Renderer {
  readonly name = 'qwen3-vl-instruct';
  readonly tokenizerId: string;
  readonly vocabSize: number;
  readonly stopTokens: readonly number[];
  readonly special: QwenSpecialTokens;
  readonly vision: QwenVisionConfig;
  private readonly systemTokens: readonly number[];
  private readonly newline: readonly number[];
  private readonly userHeader: readonly number[];
  private readonly assistantHeader: readonly number[];

  constructor(
    readonly tokenizer: HfTokenizer,
    options: Qwen3VLRendererOptions = {},
  ) {
    this.tokenizerId = tokenizer.id;
    this.vocabSize = tokenizer.vocabSize;
    const id = (token: string): number => {
      const n = tokenizer.specialTokens.get(token);
      if (n === undefined) {
        throw new InvalidInputError(
          'tokenizer',
          tokenizer.id,
          `not a Qwen-VL tokenizer: it has no special token ${token}`,
        );
      }
      return n;
    };
    this.special = Object.freeze({
      imStart: id('<|im_start|>'),
      imEnd: id('<|im_end|>'),
      visionStart: id('<|vision_start|>'),
      visionEnd: id('<|vision_end|>'),
      imagePad: id('<|image_pad|>'),
    });
    this.stopTokens = Object.freeze([this.special.imEnd]);
    this.vision = Object.freeze({ ...QWEN3_VL_VISION, ...(options.vision ?? {}) });
    validateVisionConfig(this.vision, 'options.vision');
    this.newline = tokenizer.encode('\n');
    const header = (role: string) => [this.special.imStart, ...tokenizer.encode(`${role}\n`)];
    this.userHeader = header('user');
    this.assistantHeader = header('assistant');
    this.systemTokens =
      options.system === undefined
        ? []
        : [
            ...header('system'),
            ...this.plainText(options.system, 'options.system'),
            this.special.imEnd,
            ...this.newline,
          ];
  }

  /** A renderer over the `tokenizer.json` in `dir` (a Qwen3 or Qwen3-VL snapshot: same vocabulary). */
  static async fromDirectory(dir: string, options: Qwen3VLRendererOptions = {}): Promise<Qwen3VLRenderer> {
    return new Qwen3VLRenderer(await HfTokenizer.fromDirectory(dir), options);
  }

  /**
   * Ids of user or system text. A special token written in it (`<|im_end|>`) would end the turn
   * early, so it is refused rather than read as a control token.
   */
  private plainText(text: string, field: string): number[] {
    if (typeof text !== 'string') throw new InvalidInputError(field, text, 'expected a string');
    const special = this.tokenizer.findSpecialToken(text);
    if (special !== undefined) {
      throw new InvalidInputError(
        field,
        text,
        `contains the special token ${special}, which would change the chat format`,
      );
    }
    return this.tokenizer.encode(text);
  }

  render(prompt: Prompt, options: RenderOptions = {}): RenderedPrompt {
    checkPromptShape(prompt);
    if (prompt.images.length === 0 && prompt.text.length === 0) {
      throw new InvalidInputError('prompt', { images: 0, text: '' }, 'an empty prompt: no image and no text');
    }
    const b = new ModelInputBuilder().text(this.systemTokens).text(this.userHeader);
    const imageTokenCounts = prompt.images.map((image, i) => {
      const field = `prompt.images[${i}]`;
      const { bytes, info } = encodedImage(image, field);
      const tokens = qwenImageTokens(info.width, info.height, this.vision, `${field}.encoded.bytes`).tokens;
      b.text([this.special.visionStart])
        .image(imageChunk(bytes, info.format, tokens))
        .text([this.special.visionEnd]);
      return tokens;
    });
    b.text(this.plainText(prompt.text, 'prompt.text')).text([this.special.imEnd, ...this.newline]);
    if (options.addGenerationPrompt ?? true) b.text(this.assistantHeader);
    const modelInput = b.build();
    return { modelInput, promptTokenCount: modelInputLength(modelInput), imageTokenCounts };
  }

  renderTraining(prompt: Prompt, responseTokens: readonly number[]): TrainingInput {
    return trainingInput(this.render(prompt), responseTokens, this.vocabSize);
  }

  /** The input's token ids with each image written as its <|image_pad|> run (the processor's form). */
  processorTokenIds(input: ModelInput): number[] {
    return flattenTokens(input, (chunk) =>
      new Array<number>(chunk.expected_tokens ?? 0).fill(this.special.imagePad),
    );
  }

  parseResponse(tokens: readonly number[]): ParsedResponse {
    checkTokenIds(tokens, this.vocabSize, 'tokens');
    const end = tokens.findIndex((t) => this.stopTokens.includes(t));
    const content = end < 0 ? [...tokens] : tokens.slice(0, end);
    return { text: this.tokenizer.decode(content), tokens: content, stopped: end >= 0 };
  }

  decode(tokens: readonly number[]): string {
    return this.tokenizer.decode(tokens);
  }
}
