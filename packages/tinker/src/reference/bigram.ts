// The reference model: a token-bigram softmax model. Its only parameter is a V x V matrix W of
// logits, row a = the next-token logits after token a: log p(b | a) = W[a, b] - logsumexp(W[a]).
// Small, but real: forward passes, exact gradients of the three losses, sampling with
// temperature, top-k and top-p, and log-probs of what it sampled.
//
// Positions: a datum's model_input, flattened. A text chunk gives its tokens; an image chunk
// gives expected_tokens positions (required here), each holding one token derived from the
// image's bytes (FNV-1a mod V), so the model can condition on which image it was shown. The
// prediction at position t is for target_tokens[t] given the token at position t (the SDK's
// convention: inputs and targets are aligned, the targets shifted left by the caller).
import { InvalidInputError, ShapeMismatchError } from '@vzero/core';
import type { Rng } from '@vzero/core';
import { denseValues } from '../model-input.js';
import type { Datum, ModelInput, SampledSequence, SamplingParams } from '../types.js';
import { lossConfig, requiredInputs, tokenLoss, type TokenLossInputs } from './losses.js';
import type { LossFnType } from '../types.js';

/** The token an image stands for in the bigram model: FNV-1a of its base64 text, mod V. */
export function imageToken(data: string, vocabSize: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < data.length; i++) {
    h ^= data.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % vocabSize;
}

/** The model's input positions as token ids. */
export function inputTokens(input: ModelInput, vocabSize: number, field = 'model_input'): number[] {
  const out: number[] = [];
  input.chunks.forEach((chunk, i) => {
    const where = `${field}.chunks[${i}]`;
    switch (chunk.type) {
      case 'encoded_text':
        chunk.tokens.forEach((t, j) => {
          if (t >= vocabSize)
            throw new InvalidInputError(
              `${where}.tokens[${j}]`,
              t,
              `token id beyond the vocabulary (${vocabSize})`,
            );
          out.push(t);
        });
        break;
      case 'image': {
        const n = chunk.expected_tokens;
        if (n === undefined || n === null)
          throw new InvalidInputError(
            `${where}.expected_tokens`,
            n,
            'the reference model needs the positions an image takes',
          );
        const token = imageToken(chunk.data, vocabSize);
        for (let k = 0; k < n; k++) out.push(token);
        break;
      }
      default:
        throw new InvalidInputError(
          `${where}.type`,
          chunk.type,
          'the reference model reads encoded_text and image chunks',
        );
    }
  });
  return out;
}

/** log-softmax of row `a` of W (length V), into `out`. */
export function logSoftmaxRow(
  W: Float64Array,
  V: number,
  a: number,
  out: Float64Array,
  temperature = 1,
): Float64Array {
  let max = -Infinity;
  for (let b = 0; b < V; b++) max = Math.max(max, W[a * V + b]! / temperature);
  let sum = 0;
  for (let b = 0; b < V; b++) sum += Math.exp(W[a * V + b]! / temperature - max);
  const lse = max + Math.log(sum);
  for (let b = 0; b < V; b++) out[b] = W[a * V + b]! / temperature - lse;
  return out;
}

export interface DatumResult {
  /** Sum over positions. */
  readonly loss: number;
  /** Per position: log-prob of the target token. */
  readonly logprobs: number[];
  readonly elementwiseLoss: number[];
}

function vector(datum: Datum, key: string, length: number, field: string): number[] | undefined {
  const td = datum.loss_fn_inputs[key];
  if (td === undefined) return undefined;
  const values = denseValues(td, `${field}.loss_fn_inputs.${key}`);
  if (values.length !== length)
    throw new ShapeMismatchError(
      `${field}.loss_fn_inputs.${key}`,
      `${length} values (one per input position)`,
      `${values.length}`,
    );
  return values;
}

/**
 * Loss and outputs of one datum; when `grad` is given, adds dLoss/dW into it (W's layout).
 */
export function datumForward(
  W: Float64Array,
  V: number,
  datum: Datum,
  lossFn: LossFnType,
  lossFnConfig: Readonly<Record<string, number>> | undefined,
  grad?: Float64Array,
  field = 'datum',
): DatumResult {
  const config = lossConfig(lossFn, lossFnConfig);
  const inputs = inputTokens(datum.model_input, V, `${field}.model_input`);
  const T = inputs.length;
  const targets = vector(datum, 'target_tokens', T, field);
  if (!targets) throw new InvalidInputError(`${field}.loss_fn_inputs.target_tokens`, undefined, 'required');
  targets.forEach((t, i) => {
    if (!Number.isInteger(t) || t < 0 || t >= V)
      throw new InvalidInputError(
        `${field}.loss_fn_inputs.target_tokens[${i}]`,
        t,
        `not a token id in [0, ${V})`,
      );
  });
  for (const key of requiredInputs(lossFn))
    if (datum.loss_fn_inputs[key] === undefined)
      throw new InvalidInputError(`${field}.loss_fn_inputs.${key}`, undefined, `required by ${lossFn}`);
  const weights = vector(datum, 'weights', T, field);
  const samplingLogprobs = vector(datum, 'logprobs', T, field);
  const advantages = vector(datum, 'advantages', T, field);
  const tokenInputs: TokenLossInputs = {
    ...(weights ? { weights } : {}),
    ...(samplingLogprobs ? { samplingLogprobs } : {}),
    ...(advantages ? { advantages } : {}),
  };
  const row = new Float64Array(V);
  const logprobs: number[] = [];
  const elementwiseLoss: number[] = [];
  let loss = 0;
  for (let t = 0; t < T; t++) {
    const a = inputs[t]!;
    const b = targets[t]!;
    logSoftmaxRow(W, V, a, row);
    const p = row[b]!;
    const { loss: l, dp } = tokenLoss(lossFn, p, t, tokenInputs, config);
    logprobs.push(p);
    elementwiseLoss.push(l);
    loss += l;
    if (grad && dp !== 0) {
      // d log p(b|a) / d W[a, j] = [j = b] - softmax(W[a])_j
      for (let j = 0; j < V; j++) grad[a * V + j]! -= dp * Math.exp(row[j]!);
      grad[a * V + b]! += dp;
    }
  }
  return { loss, logprobs, elementwiseLoss };
}

/** Log-probs of every prompt position (null at 0) and, when k > 0, the top k at each. */
export function promptLogprobs(
  W: Float64Array,
  V: number,
  tokens: readonly number[],
  k: number,
): { logprobs: (number | null)[]; topk: ([number, number][] | null)[] | undefined } {
  const row = new Float64Array(V);
  const logprobs: (number | null)[] = [null];
  const topk: ([number, number][] | null)[] | undefined = k > 0 ? [null] : undefined;
  for (let t = 1; t < tokens.length; t++) {
    logSoftmaxRow(W, V, tokens[t - 1]!, row);
    logprobs.push(row[tokens[t]!]!);
    if (topk) {
      const order = Array.from({ length: V }, (_, j) => j).sort((x, y) => row[y]! - row[x]! || x - y);
      topk.push(order.slice(0, k).map((j) => [j, row[j]!] as [number, number]));
    }
  }
  return { logprobs, topk };
}

/**
 * One sampled continuation. The reported log-prob of each token is under the distribution it
 * was drawn from (temperature, then top-k, then top-p, renormalised): what importance sampling
 * needs as the sampler's log-prob. Temperature 0 is greedy: the token was certain, log-prob 0.
 */
export function sampleSequence(
  W: Float64Array,
  V: number,
  prompt: readonly number[],
  params: SamplingParams,
  rng: Rng,
): SampledSequence {
  if (prompt.length === 0)
    throw new InvalidInputError('prompt', [], 'the reference model needs at least one prompt token');
  if (
    typeof params.stop === 'string' ||
    (Array.isArray(params.stop) && params.stop.some((s) => typeof s === 'string'))
  )
    throw new InvalidInputError(
      'sampling_params.stop',
      params.stop,
      'the reference model has no tokenizer: stop must be token ids',
    );
  const stop = new Set((params.stop ?? []) as number[]);
  const maxTokens = params.max_tokens ?? 16;
  const temperature = params.temperature;
  const row = new Float64Array(V);
  const tokens: number[] = [];
  const logprobs: number[] = [];
  let last = prompt[prompt.length - 1]!;
  for (let step = 0; step < maxTokens; step++) {
    logSoftmaxRow(W, V, last, row, temperature > 0 ? temperature : 1);
    let order = Array.from({ length: V }, (_, j) => j).sort((x, y) => row[y]! - row[x]! || x - y);
    if (temperature === 0) order = order.slice(0, 1);
    if (params.top_k > 0) order = order.slice(0, params.top_k);
    if (params.top_p < 1) {
      let mass = 0;
      let keep = 0;
      while (keep < order.length && mass < params.top_p) mass += Math.exp(row[order[keep++]!]!);
      order = order.slice(0, Math.max(1, keep));
    }
    const probs = order.map((j) => Math.exp(row[j]!));
    const total = probs.reduce((x, y) => x + y, 0);
    let u = rng.float() * total;
    let pick = order.length - 1;
    for (let i = 0; i < order.length; i++) {
      u -= probs[i]!;
      if (u < 0) {
        pick = i;
        break;
      }
    }
    const token = order[pick]!;
    tokens.push(token);
    logprobs.push(Math.log(probs[pick]! / total));
    last = token;
    if (stop.has(token)) return { stop_reason: 'stop', tokens, logprobs };
  }
  return { stop_reason: 'length', tokens, logprobs };
}
