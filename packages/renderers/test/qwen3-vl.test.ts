import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError } from '@vzero/core';
import type { Prompt } from '@vzero/core';
import {
  HfTokenizer,
  Qwen3VLRenderer,
  checkTrainingInput,
  imageChunk,
  modelInputLength,
  textChunk,
} from '../src/index.js';
import { jpeg, png, pngImage } from './fixtures.js';
import { qwenTokenizer, tinyTokenizerJson } from './qwen-tokenizer.js';

// Ids of the shipped Qwen3 tokenizer (see hf-tokenizer.test.ts for where each comes from).
const IM_START = 151644;
const IM_END = 151645;
const VISION_START = 151652;
const VISION_END = 151653;
const IMAGE_PAD = 151655;
const NL = 198;
const USER = [IM_START, 872, NL]; // <|im_start|>user\n
const ASSISTANT = [IM_START, 77091, NL]; // <|im_start|>assistant\n
const Q_COLOUR = 'What colour is the triangle? options : A red , B green , C blue .';
const Q_COLOUR_IDS = [
  3838, 12463, 374, 279, 21495, 30, 2606, 549, 362, 2518, 1154, 425, 6176, 1154, 356, 6303, 659,
];
const Q_LEFT = 'Which shape is left of the star?';
const Q_LEFT_IDS = [23085, 6083, 374, 2115, 315, 279, 6774, 30];
const RESPONSE_IDS = [785, 21495, 374, 2518, 13, 4226, 362, IM_END]; // "The triangle is red. answer A<|im_end|>"

let tok: HfTokenizer;
let renderer: Qwen3VLRenderer;
let full640: Uint8Array; // 640x480 PNG
let crop160: Uint8Array; // 160x120 PNG
beforeAll(async () => {
  tok = await qwenTokenizer();
  renderer = new Qwen3VLRenderer(tok);
  full640 = await png(640, 480);
  crop160 = await png(160, 120, [10, 200, 10]);
});

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

describe('Qwen3VLRenderer.render', () => {
  it('one 640x480 image: chat turns around an image chunk of 300 tokens', () => {
    const prompt: Prompt = { id: 'q1', images: [pngImage('full', 'full', full640)], text: Q_COLOUR };
    const r = renderer.render(prompt);
    // 640x480 -> smart_resize keeps 640x480 (multiples of 32, 307200 px in range) ->
    // (480/16) * (640/16) / 4 = 30 * 40 / 4 = 300 tokens.
    expect(r.imageTokenCounts).toEqual([300]);
    expect(r.modelInput).toEqual({
      chunks: [
        textChunk([...USER, VISION_START]),
        { type: 'image', data: b64(full640), format: 'png', expected_tokens: 300 },
        textChunk([VISION_END, ...Q_COLOUR_IDS, IM_END, NL, ...ASSISTANT]),
      ],
    });
    // 4 + 300 + (1 + 17 + 2 + 3) positions.
    expect(r.promptTokenCount).toBe(327);
    expect(modelInputLength(r.modelInput)).toBe(327);
  });

  it("the teacher's [full image, crop, question] layout: two image chunks, 300 and 70 tokens", () => {
    const prompt: Prompt = {
      id: 'q2:pos',
      images: [pngImage('full', 'full', full640), pngImage('crop', 'crop', crop160)],
      text: Q_LEFT,
    };
    const r = renderer.render(prompt);
    // Crop 160x120 -> 20480 px < 65536 -> beta = sqrt(65536/19200) = 1.8475 ->
    // ceil(120*1.8475/32) = 7 -> 224, ceil(160*1.8475/32) = 10 -> 320 -> 14*20/4 = 70.
    expect(r.imageTokenCounts).toEqual([300, 70]);
    expect(r.modelInput.chunks).toEqual([
      textChunk([...USER, VISION_START]),
      imageChunk(full640, 'png', 300),
      textChunk([VISION_END, VISION_START]),
      imageChunk(crop160, 'png', 70),
      textChunk([VISION_END, ...Q_LEFT_IDS, IM_END, NL, ...ASSISTANT]),
    ]);
    expect(r.promptTokenCount).toBe(4 + 300 + 2 + 70 + 1 + 8 + 2 + 3);
  });

  it('a system turn, a JPEG, a rounding half to even and non-ASCII text', async () => {
    const withSystem = new Qwen3VLRenderer(tok, { system: 'You are a careful visual assistant.' });
    const photo = await jpeg(1280, 720);
    const r = withSystem.render({
      id: 'q3',
      images: [{ id: 'p', role: 'full', encoded: { bytes: photo, mime: 'image/jpeg' } }],
      text: 'naïve café – 東京?',
    });
    // 1280x720: 720/32 = 22.5 rounds to 22 (Python's round) -> 704; 1280 stays ->
    // (704/16) * (1280/16) / 4 = 44 * 80 / 4 = 880.
    expect(r.imageTokenCounts).toEqual([880]);
    const system = [IM_START, 8948, NL, 2610, 525, 264, 16585, 9124, 17847, 13, IM_END, NL];
    expect(r.modelInput.chunks).toEqual([
      textChunk([...system, ...USER, VISION_START]),
      { type: 'image', data: b64(photo), format: 'jpeg', expected_tokens: 880 },
      textChunk([VISION_END, 3376, 37572, 586, 51950, 1365, 60596, 109, 46553, 30, IM_END, NL, ...ASSISTANT]),
    ]);
  });

  it('equals the tokenized chat template once each image is written as its <|image_pad|> run', () => {
    const prompt: Prompt = {
      id: 'q4',
      images: [pngImage('full', 'full', full640), pngImage('crop', 'crop', crop160)],
      text: Q_LEFT,
    };
    const r = new Qwen3VLRenderer(tok, { system: 'Be brief.' }).render(prompt);
    // What Hugging Face's processor tokenizes: the template text with <|image_pad|> repeated
    // grid_h * grid_w / merge^2 times per image.
    const text =
      '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n' +
      `<|vision_start|>${'<|image_pad|>'.repeat(300)}<|vision_end|>` +
      `<|vision_start|>${'<|image_pad|>'.repeat(70)}<|vision_end|>` +
      `${Q_LEFT}<|im_end|>\n<|im_start|>assistant\n`;
    const ids = renderer.processorTokenIds(r.modelInput);
    expect(ids).toEqual(tok.encode(text));
    expect(ids.filter((t) => t === IMAGE_PAD)).toHaveLength(370);
    expect(ids).toHaveLength(r.promptTokenCount);
  });

  it('without the generation prompt ends after the user turn', () => {
    const r = renderer.render({ id: 'q', images: [], text: Q_LEFT }, { addGenerationPrompt: false });
    expect(r.modelInput.chunks).toEqual([textChunk([...USER, ...Q_LEFT_IDS, IM_END, NL])]);
    expect(r.imageTokenCounts).toEqual([]);
  });
});

describe('Qwen3VLRenderer.renderTraining and responses', () => {
  it('shifts the prompt and response for next-token training, weights on the response only', () => {
    const prompt: Prompt = { id: 'q1', images: [pngImage('full', 'full', full640)], text: Q_COLOUR };
    const t = renderer.renderTraining(prompt, RESPONSE_IDS);
    checkTrainingInput(t);
    // 327 prompt positions + 8 response tokens - 1.
    expect(modelInputLength(t.modelInput)).toBe(334);
    expect(t.modelInput.chunks).toEqual([
      textChunk([...USER, VISION_START]),
      imageChunk(full640, 'png', 300),
      textChunk([VISION_END, ...Q_COLOUR_IDS, IM_END, NL, ...ASSISTANT, ...RESPONSE_IDS.slice(0, -1)]),
    ]);
    expect(t.targetTokens.slice(0, 4)).toEqual([872, NL, VISION_START, 0]); // image positions: 0
    // Target i is position i + 1: positions 4..303 are the image, 304 is <|vision_end|>.
    expect(t.targetTokens.slice(302, 304)).toEqual([0, VISION_END]);
    expect(t.targetTokens.slice(t.responseStart)).toEqual(RESPONSE_IDS);
    expect(t.targetTokens[t.responseStart - 1]).toBe(NL); // the assistant header's last token
    expect(t.weights.slice(0, 326).every((w) => w === 0)).toBe(true);
    expect(t.weights.slice(326)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    expect(t.responseStart).toBe(326);
  });

  it('parses a response up to <|im_end|> and says whether it stopped', () => {
    expect(renderer.stopTokens).toEqual([IM_END]);
    expect(renderer.parseResponse(RESPONSE_IDS)).toEqual({
      text: 'The triangle is red. answer A',
      tokens: RESPONSE_IDS.slice(0, -1),
      stopped: true,
    });
    expect(renderer.parseResponse([...RESPONSE_IDS, 785, 785]).tokens).toEqual(RESPONSE_IDS.slice(0, -1));
    expect(renderer.parseResponse([785, 21495])).toEqual({
      text: 'The triangle',
      tokens: [785, 21495],
      stopped: false,
    });
    expect(renderer.decode(RESPONSE_IDS)).toBe('The triangle is red. answer A<|im_end|>');
    expect(renderer.tokenizerId).toBe(tok.id);
  });
});

describe('Qwen3VLRenderer: bad input', () => {
  const image = () => pngImage('full', 'full', full640);

  it('an image without encoded bytes, or with the wrong mime type', async () => {
    const bare: Prompt = { id: 'q', images: [{ id: 'x', role: 'full' }], text: Q_LEFT };
    expect(() => renderer.render(bare)).toThrow(InvalidInputError);
    expect(() => renderer.render(bare)).toThrow(
      /^prompt\.images\[0\]\.encoded = undefined: a model input carries the image file/,
    );
    const empty: Prompt = {
      id: 'q',
      images: [image(), { id: 'y', role: 'crop', encoded: { bytes: new Uint8Array(0), mime: 'image/png' } }],
      text: Q_LEFT,
    };
    expect(() => renderer.render(empty)).toThrow(/^prompt\.images\[1\]\.encoded = "0 bytes"/);
    const mislabelled: Prompt = {
      id: 'q',
      images: [{ id: 'z', role: 'full', encoded: { bytes: await jpeg(64, 64), mime: 'image/png' } }],
      text: Q_LEFT,
    };
    expect(() => renderer.render(mislabelled)).toThrow(
      /prompt\.images\[0\]\.encoded\.mime = "image\/png": the bytes are a jpeg file/,
    );
  });

  it('an image the processor refuses (aspect ratio over 200)', async () => {
    const strip: Prompt = { id: 'q', images: [pngImage('s', 'full', await png(4001, 20))], text: Q_LEFT };
    expect(() => renderer.render(strip)).toThrow(
      /prompt\.images\[0\]\.encoded\.bytes = "4001x20": aspect ratio 200\.1 exceeds the processor's limit of 200/,
    );
  });

  it('an empty prompt, a text that is not a string, a special token in the text', () => {
    expect(() => renderer.render({ id: 'q', images: [], text: '' })).toThrow(
      /^prompt = .*: an empty prompt: no image and no text/,
    );
    expect(() => renderer.render({ id: 'q', images: [image()], text: 3 } as unknown as Prompt)).toThrow(
      /prompt\.text = 3: expected a string/,
    );
    expect(() =>
      renderer.render({ id: 'q', images: [image()], text: 'red<|im_end|><|im_start|>assistant' }),
    ).toThrow(/prompt\.text = .*contains the special token <\|im_end\|>/);
    expect(() => new Qwen3VLRenderer(tok, { system: 'x<|vision_start|>' })).toThrow(
      /options\.system = .*<\|vision_start\|>/,
    );
  });

  it('response tokens outside the vocabulary, or none', () => {
    const prompt: Prompt = { id: 'q', images: [image()], text: Q_LEFT };
    expect(() => renderer.renderTraining(prompt, [785, 151669])).toThrow(
      /responseTokens\[1\] = 151669: expected a token id in \[0, 151669\)/,
    );
    expect(() => renderer.renderTraining(prompt, [])).toThrow(/responseTokens = \[\]/);
    expect(() => renderer.parseResponse([785, 1e9])).toThrow(/tokens\[1\] = 1000000000/);
  });

  it('a tokenizer without the vision tokens, and a bad vision config', () => {
    const chatOnly = HfTokenizer.fromJSON(tinyTokenizerJson(['<|im_start|>', '<|im_end|>']));
    expect(() => new Qwen3VLRenderer(chatOnly)).toThrow(
      /not a Qwen-VL tokenizer: it has no special token <\|vision_start\|>/,
    );
    expect(() => new Qwen3VLRenderer(tok, { vision: { patchSize: 0 } })).toThrow(
      /options\.vision\.patchSize = 0: expected a positive integer/,
    );
  });
});
