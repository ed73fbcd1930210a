// The toolkit renderer against the real toolkit model (@vzero/model) and real PNGs (@vzero/views,
// sharp): render a prompt, rebuild the model's prompt from the chunks as a server would, and
// check that the model sees exactly what it sees locally.
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError, ShapeMismatchError, selectBackend } from '@vzero/core';
import type { Prompt, PromptImage } from '@vzero/core';
import { LocalPolicy, MODEL_PRESETS, Tokenizer, createModel, prefixLength, slotTokens } from '@vzero/model';
import type { ModelPrompt, VisionLanguageModel } from '@vzero/model';
import { loadImage, makeView, toPromptImage } from '@vzero/views';
import {
  ToolkitRenderer,
  checkTrainingInput,
  flattenTokens,
  imageChunk,
  modelInputLength,
  readToolkitModelInput,
  textChunk,
  toolkitSlots,
} from '../src/index.js';
import type { ModelInput, ToolkitImageSlot } from '../src/index.js';
import { jpeg } from './fixtures.js';

const CORPUS = [
  'what colour is the triangle ? options : A red , B green , C blue .',
  'the triangle is red . answer A',
  'which shape is left of the star ?',
];

/** A deterministic RGB image with some structure (so a wrong pixel would show). */
function rgbImage(width: number, height: number, seed: number): Uint8Array {
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 37 + seed * 101 + ((i * i) % 251)) % 256;
  return rgb;
}

async function promptImage(
  width: number,
  height: number,
  seed: number,
  role: 'full' | 'crop',
): Promise<PromptImage> {
  return toPromptImage(makeView(rgbImage(width, height, seed), width, height), role, 'both');
}

let tokenizer: Tokenizer;
let model: VisionLanguageModel;
let policy: LocalPolicy;
let renderer: ToolkitRenderer;
let slots: ToolkitImageSlot[];
let prompt: Prompt;

beforeAll(async () => {
  await selectBackend({ prefer: 'cpu' });
  tokenizer = Tokenizer.learnBpe(CORPUS, { merges: 64 });
  // The teacher's layout: a full-image slot (16 px in 8 px patches: 4 positions) and a crop slot.
  model = createModel({ ...MODEL_PRESETS.tiny, maxTextLength: 96, vocabSize: tokenizer.size });
  policy = new LocalPolicy(model, tokenizer);
  slots = toolkitSlots(model.config);
  renderer = new ToolkitRenderer(tokenizer, slots);
  prompt = {
    id: 'q1:pos',
    images: [await promptImage(48, 40, 1, 'full'), await promptImage(20, 12, 2, 'crop')],
    text: CORPUS[0] as string,
  };
});

/** What a server does with a model input: the model's prompt, images decoded from the bytes. */
async function rebuild(input: ModelInput): Promise<ModelPrompt> {
  const parts = readToolkitModelInput(input, slots, tokenizer.size);
  const images = await Promise.all(
    parts.images.map(async (img) => {
      const decoded = await loadImage(img.bytes);
      return toPromptImage(makeView(decoded.rgb, decoded.width, decoded.height), img.role, 'pixels');
    }),
  );
  return { images, tokenIds: parts.tokenIds };
}

describe('toolkitSlots', () => {
  it("gives each slot the model's positions: (size / patchSize)^2", () => {
    expect(slots).toEqual([
      { role: 'full', tokens: 4 },
      { role: 'crop', tokens: 4 },
    ]);
    for (const preset of [MODEL_PRESETS.student, MODEL_PRESETS.teacher, MODEL_PRESETS.tiny]) {
      const config = { ...preset, vocabSize: 10 };
      const s = toolkitSlots(config);
      s.forEach((slot, i) => expect(slot.tokens).toBe(slotTokens(config, i)));
      expect(s.reduce((n, slot) => n + slot.tokens, 0)).toBe(prefixLength(config));
    }
    // The teacher preset: a 64 px full image and a 32 px crop in 8 px patches.
    expect(toolkitSlots(MODEL_PRESETS.teacher).map((x) => x.tokens)).toEqual([64, 16]);
    expect(() => toolkitSlots({ patchSize: 8, images: [{ role: 'full', size: 12 }] })).toThrow(
      /config\.images\[0\]\.size = 12: expected a positive multiple of config\.patchSize \(8\)/,
    );
  });
});

describe('ToolkitRenderer', () => {
  it('writes one image chunk per slot with its PNG and positions, then <bos> and the text ids', () => {
    const r = renderer.render(prompt);
    const textIds = tokenizer.encode(prompt.text);
    expect(r.modelInput.chunks).toEqual([
      imageChunk(prompt.images[0]?.encoded?.bytes as Uint8Array, 'png', 4),
      imageChunk(prompt.images[1]?.encoded?.bytes as Uint8Array, 'png', 4),
      textChunk([tokenizer.bosId, ...textIds]),
    ]);
    expect(r.imageTokenCounts).toEqual([4, 4]);
    // The model's own count of the prompt: its image prefix, <bos> and the text.
    expect(modelInputLength(r.modelInput)).toBe(policy.promptLength(prompt));
    expect(r.promptTokenCount).toBe(model.prefixLength + 1 + textIds.length);
    expect(renderer.tokenizerId).toBe(policy.tokenizerId);
    expect(renderer.stopTokens).toEqual([tokenizer.eosId]);
  });

  it("rebuilds the model's exact prompt from the chunks, and its length is the ModelInput's", async () => {
    const r = renderer.render(prompt);
    const rebuilt = await rebuild(r.modelInput);
    const local = policy.encodePrompt(prompt);
    expect(rebuilt.tokenIds).toEqual(local.tokenIds);
    rebuilt.images.forEach((img, i) => {
      expect(img.role).toBe(prompt.images[i]?.role);
      expect(img.pixels?.width).toBe(prompt.images[i]?.pixels?.width);
      expect(img.pixels?.data).toEqual(prompt.images[i]?.pixels?.data); // PNG is lossless
    });
    expect(model.prefixLength + rebuilt.tokenIds.length).toBe(modelInputLength(r.modelInput));
    model.checkPrompt(rebuilt, 'rebuilt');
  });

  it('a training input rebuilds to the same prompt and response, and the model scores it identically', async () => {
    const response = policy.encodeResponse(CORPUS[1] as string); // words then <eos>
    const t = renderer.renderTraining(prompt, response);
    checkTrainingInput(t);
    expect(t.targetTokens.slice(t.responseStart)).toEqual(response);
    expect(t.weights.reduce((a, b) => a + b, 0)).toBe(response.length);
    // Image positions are the first 8; their targets are 0 up to the last one, which predicts <bos>.
    expect(t.targetTokens.slice(0, 8)).toEqual([0, 0, 0, 0, 0, 0, 0, tokenizer.bosId]);

    // The server's side: the text chunk is the prompt's ids then the response but its last
    // token; the weights say where the response starts.
    const parts = await rebuild(t.modelInput);
    const promptText = t.promptTokenCount - model.prefixLength;
    const rebuiltPrompt: ModelPrompt = {
      images: parts.images,
      tokenIds: parts.tokenIds.slice(0, promptText),
    };
    const rebuiltResponse = t.targetTokens.slice(t.responseStart);
    expect(rebuiltResponse).toEqual(response);
    const here = model.responseLogprobs({ prompts: [policy.encodePrompt(prompt)], responses: [response] });
    const there = model.responseLogprobs({ prompts: [rebuiltPrompt], responses: [rebuiltResponse] });
    try {
      expect(there.arraySync()).toEqual(here.arraySync());
    } finally {
      here.dispose();
      there.dispose();
    }
  });

  it('parses and decodes with the toolkit tokenizer', () => {
    const response = policy.encodeResponse(CORPUS[1] as string);
    expect(renderer.parseResponse(response)).toEqual({
      text: CORPUS[1],
      tokens: response.slice(0, -1),
      stopped: true,
    });
    expect(renderer.parseResponse(response.slice(0, 3)).stopped).toBe(false);
    expect(renderer.decode(response)).toBe(policy.decode(response));
  });

  it('accepts a JPEG and passes its bytes through with the slot count', async () => {
    const bytes = await jpeg(30, 30);
    const withJpeg: Prompt = {
      ...prompt,
      images: [
        { id: 'j', role: 'full', encoded: { bytes, mime: 'image/jpeg' } },
        prompt.images[1] as PromptImage,
      ],
    };
    const r = renderer.render(withJpeg);
    expect(r.modelInput.chunks[0]).toEqual(imageChunk(bytes, 'jpeg', 4));
    expect(flattenTokens(r.modelInput).slice(0, 8)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('refuses prompts the model cannot take and text its tokenizer cannot encode, naming the field', () => {
    const full = prompt.images[0] as PromptImage;
    expect(() => renderer.render({ ...prompt, images: [full] })).toThrow(
      /prompt\.images = \["full"\]: this model takes 2 image\(s\) in the order full, crop/,
    );
    expect(() => renderer.render({ ...prompt, images: [full, full] })).toThrow(
      /prompt\.images\[1\]\.role = "full": expected "crop"/,
    );
    const pixelsOnly = {
      id: 'p',
      role: 'crop' as const,
      pixels: full.pixels as NonNullable<PromptImage['pixels']>,
    };
    expect(() => renderer.render({ ...prompt, images: [full, pixelsOnly] })).toThrow(
      /prompt\.images\[1\]\.encoded = undefined: a model input carries the image file/,
    );
    expect(() => renderer.render({ id: 'e', images: [], text: '' })).toThrow(InvalidInputError);
    const words = new ToolkitRenderer(Tokenizer.fromWords(['red', 'blue']), slots);
    expect(() => words.render({ ...prompt, text: 'red green' })).toThrow(
      /prompt\.text = "red green": unknown word "green"/,
    );
    expect(() => renderer.renderTraining(prompt, [tokenizer.size])).toThrow(
      new RegExp(
        `responseTokens\\[0\\] = ${tokenizer.size}: expected a token id in \\[0, ${tokenizer.size}\\)`,
      ),
    );
    expect(() => new ToolkitRenderer(tokenizer, [])).toThrow(
      /slots = \[\]: expected at least one image slot/,
    );
    expect(() => new ToolkitRenderer(tokenizer, [{ role: 'full', tokens: 0 }])).toThrow(
      /slots\[0\]\.tokens = 0/,
    );
  });

  it('reads back only inputs laid out for the model, naming what is wrong', () => {
    const r = renderer.render(prompt);
    const [a, b, text] = r.modelInput.chunks as [never, never, never];
    expect(() => readToolkitModelInput({ chunks: [a, text] }, slots, tokenizer.size)).toThrow(
      ShapeMismatchError,
    );
    expect(() => readToolkitModelInput({ chunks: [a, text, b] }, slots, tokenizer.size)).toThrow(
      /modelInput\.chunks\[1\]\.type = "encoded_text": expected "image" \(slot 1, crop\)/,
    );
    const wrongCount = { chunks: [a, { ...(b as object), expected_tokens: 9 }, text] } as ModelInput;
    expect(() => readToolkitModelInput(wrongCount, slots, tokenizer.size)).toThrow(
      /modelInput\.chunks\[1\]\.expected_tokens = 9: slot 1 \(crop\) takes 4 positions/,
    );
    const badIds = { chunks: [a, b, textChunk([tokenizer.bosId, 99999])] } as ModelInput;
    expect(() => readToolkitModelInput(badIds, slots, tokenizer.size)).toThrow(
      /modelInput\.chunks\[2\]\.tokens\[1\] = 99999/,
    );
  });
});
