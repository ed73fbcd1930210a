// Datums of the training API as a batch of the toolkit model's rows. A datum's model input is
// [one image chunk per slot, one text chunk: <bos>, prompt, response minus its last token]
// (@vzero/renderers' ToolkitRenderer); its targets are the input shifted by one. The model reads
// the text causally, so the log-prob of every text target is the same whether the prompt ends
// after <bos> or later: each row is scored as prompt [images, <bos>] and "response" = the text
// targets, which needs no guess of where the caller's prompt ends. Image positions and the
// <bos> target have no log-prob in this model: they are reported as 0 and must carry no weight.
import { InvalidInputError, ShapeMismatchError } from '@vzero/core';
import type { PromptImage } from '@vzero/core';
import type { ModelPrompt } from '@vzero/model';
import {
  readToolkitModelInput,
  type ModelInput as RenderedInput,
  type ModelInputChunk as RenderedChunk,
  type ToolkitImageSlot,
} from '@vzero/renderers';
import type { Datum, ModelInput, TensorData } from '@vzero/tinker';
import { loadImage, makeView, toPromptImage } from '@vzero/views';
import type { LossInputs } from './losses.js';

export interface DatumRows {
  /** Per datum: [images, <bos>] and the text targets it is scored on. */
  readonly prompts: ModelPrompt[];
  readonly responses: number[][];
  /** Per datum: positions of its model input (image positions included). */
  readonly lengths: number[];
  /** Positions before the first text target (image tokens and <bos>'s own position). */
  readonly offsets: number[];
  /** Per-position loss inputs on the text targets, [B, T] with T the longest row's targets. */
  readonly inputs: LossInputs;
  readonly T: number;
}

export interface DecodeLimits {
  readonly maxImagePixels: number;
}

/** The model's prompt (images and <bos> + text ids) of a model input that holds no response. */
export async function modelPromptOf(
  input: ModelInput,
  slots: readonly ToolkitImageSlot[],
  vocabSize: number,
  limits: DecodeLimits,
  field = 'prompt',
): Promise<ModelPrompt> {
  const parts = readToolkitModelInput(renderedInput(input, field), slots, vocabSize);
  const images = await Promise.all(
    parts.images.map((img, i) => decodeImage(img.bytes, img.role, limits, `${field}.chunks[${i}]`)),
  );
  return { images, tokenIds: parts.tokenIds };
}

/** The wire's model input in the renderer's terms: text and inline image chunks only. */
function renderedInput(input: ModelInput, field: string): RenderedInput {
  if (!Array.isArray(input?.chunks))
    throw new InvalidInputError(`${field}.chunks`, input?.chunks, 'expected an array');
  const chunks = input.chunks.map((c, i): RenderedChunk => {
    if (c.type === 'encoded_text') return { type: 'encoded_text', tokens: c.tokens };
    if (c.type === 'image') {
      return {
        type: 'image',
        data: c.data,
        format: c.format,
        ...(c.expected_tokens != null ? { expected_tokens: c.expected_tokens } : {}),
      };
    }
    throw new InvalidInputError(
      `${field}.chunks[${i}].type`,
      c.type,
      'this server takes encoded_text and image chunks',
    );
  });
  return { chunks };
}

async function decodeImage(
  bytes: Uint8Array,
  role: PromptImage['role'],
  limits: DecodeLimits,
  field: string,
): Promise<PromptImage> {
  try {
    const decoded = await loadImage(bytes, { maxPixels: limits.maxImagePixels });
    return await toPromptImage(makeView(decoded.rgb, decoded.width, decoded.height), role, 'pixels');
  } catch (error) {
    if (error instanceof InvalidInputError)
      throw new InvalidInputError(`${field}.data`, '(image bytes)', error.message);
    throw error;
  }
}

function tensorValues(t: TensorData | undefined, field: string, length: number): number[] | undefined {
  if (t === undefined) return undefined;
  if (t.sparse_crow_indices || t.sparse_col_indices) {
    throw new InvalidInputError(field, 'sparse', 'this server takes dense loss inputs');
  }
  if (t.data.length !== length)
    throw new ShapeMismatchError(field, `${length} values (one per position)`, `${t.data.length}`);
  return t.data;
}

/** Rows of a batch of datums; every per-position input is checked against the input's length. */
export async function datumRows(
  data: readonly Datum[],
  slots: readonly ToolkitImageSlot[],
  vocabSize: number,
  limits: DecodeLimits,
): Promise<DatumRows> {
  if (data.length === 0) throw new InvalidInputError('data', [], 'expected at least one datum');
  const imageTokens = slots.reduce((n, s) => n + s.tokens, 0);
  const prompts: ModelPrompt[] = [];
  const responses: number[][] = [];
  const lengths: number[] = [];
  const per: { weights?: number[]; advantages?: number[]; logprobs?: number[] }[] = [];
  for (const [d, datum] of data.entries()) {
    const field = `data[${d}]`;
    const prompt = await modelPromptOf(datum.model_input, slots, vocabSize, limits, `${field}.model_input`);
    const text = prompt.tokenIds;
    const length = imageTokens + text.length;
    const inputs = datum.loss_fn_inputs;
    const targets = tensorValues(inputs['target_tokens'], `${field}.loss_fn_inputs.target_tokens`, length);
    if (!targets) throw new InvalidInputError(`${field}.loss_fn_inputs.target_tokens`, undefined, 'required');
    // Text position j predicts target imageTokens + j; teacher forcing feeds target j-1 at j.
    const response = targets.slice(imageTokens);
    for (let j = 1; j < text.length; j++) {
      if (text[j] !== response[j - 1]) {
        throw new InvalidInputError(
          `${field}.loss_fn_inputs.target_tokens[${imageTokens + j - 1}]`,
          response[j - 1],
          `expected the next input token ${text[j]} (targets are the input shifted by one)`,
        );
      }
    }
    response.forEach((id, k) => {
      if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
        throw new InvalidInputError(
          `${field}.loss_fn_inputs.target_tokens[${imageTokens + k}]`,
          id,
          `expected a token id in [0, ${vocabSize})`,
        );
      }
    });
    const at = (name: string) => tensorValues(inputs[name], `${field}.loss_fn_inputs.${name}`, length);
    const row = { weights: at('weights'), advantages: at('advantages'), logprobs: at('logprobs') };
    // Positions the model cannot predict (image tokens, <bos>) must not carry a loss.
    for (const [name, values] of Object.entries(row)) {
      if (name === 'logprobs' || !values) continue;
      const k = values.slice(0, imageTokens).findIndex((v) => v !== 0);
      if (k >= 0) {
        throw new InvalidInputError(
          `${field}.loss_fn_inputs.${name}[${k}]`,
          values[k],
          'image positions and the <bos> target have no log-prob in this model: give them 0',
        );
      }
    }
    prompts.push({ images: prompt.images, tokenIds: [text[0] as number] });
    responses.push(response);
    lengths.push(length);
    per.push(Object.fromEntries(Object.entries(row).filter(([, v]) => v !== undefined)));
  }
  const T = Math.max(...responses.map((r) => r.length));
  const pack = (name: 'weights' | 'advantages' | 'logprobs'): Float32Array | undefined => {
    if (per.every((p) => p[name] === undefined)) return undefined;
    const out = new Float32Array(data.length * T);
    per.forEach((p, b) => {
      const values = p[name];
      if (!values)
        throw new InvalidInputError(`data[${b}].loss_fn_inputs.${name}`, undefined, 'every datum needs it');
      out.set(values.slice(imageTokens), b * T);
    });
    return out;
  };
  const weights = pack('weights');
  const advantages = pack('advantages');
  const samplingLogprobs = pack('logprobs');
  return {
    prompts,
    responses,
    lengths,
    offsets: data.map(() => imageTokens),
    inputs: {
      ...(weights ? { weights } : {}),
      ...(advantages ? { advantages } : {}),
      ...(samplingLogprobs ? { samplingLogprobs } : {}),
    },
    T,
  };
}
