// The vision-language model: a linear patch encoder (per-slot position embeddings plus a learned
// view embedding telling the full image from a crop) whose tokens form a prefix that a causal
// text decoder attends to (block-causal by image, see layout.ts). Pre-LayerNorm blocks, ReLU
// MLPs, tied input/output token embeddings. Every gather is a one-hot matmul, so gradients need
// no UnsortedSegmentSum (which the wasm backend lacks).
import * as tf from '@tensorflow/tfjs-core';
import { InvalidInputError, ShapeMismatchError, registerGradients } from '@vzero/core';
import type { ImageRole, PromptImage } from '@vzero/core';
import { prefixLength, slotTokens, stemOf, validateModelConfig } from './config.js';
import type { ModelConfig } from './config.js';
import {
  attention,
  attentionAppend,
  fusedLinear,
  layerNorm,
  logSoftmax,
  type AppendableCache,
} from '@vzero/tfjs-native';
import { checkBatch, checkIds, checkPrompt } from './checks.js';
import { DecodeState } from './decode-state.js';
import { cacheRows, type LayerCache } from './kv-cache.js';
import { blockCausalMask, textLayout } from './layout.js';
import type { KeyInfo, TextLayout } from './layout.js';
import { oneHot, pickTokens } from './one-hot.js';
import { cachedPatches } from './patch-cache.js';
import { toSubPatches } from './pixels.js';
import { assignWeights, initialWeights } from './weights.js';

// The model's parts live beside it (weights, checks, the KV cache, decoding, one-hot heads);
// these stay exported from here so that imports of the model keep working.
export { DecodeState } from './decode-state.js';
export type { LayerCache } from './kv-cache.js';
export { oneHot, pickTokens } from './one-hot.js';

// Training needs tfjs's gradient functions, which tfjs-core alone does not register.
await registerGradients();

/** A prompt as the model sees it: image slots in order, then the prompt's token ids. */
export interface ModelPrompt {
  readonly images: readonly PromptImage[];
  readonly tokenIds: readonly number[];
}

/** Prompts and the response tokens to score under them, one response per prompt. */
export interface ResponseBatch {
  readonly prompts: readonly ModelPrompt[];
  readonly responses: readonly (readonly number[])[];
}

export interface NamedWeight {
  readonly name: string;
  readonly tensor: tf.Variable;
}

const ROLE_INDEX: Record<ImageRole, number> = { full: 0, crop: 1 };

/** Padding id used in layouts; any id works because padded keys are masked. */
const PAD = 0;

export class VisionLanguageModel {
  readonly config: ModelConfig;
  /** Image tokens in the prefix. */
  readonly prefixLength: number;
  /** Longest prompt + response the model processes, image tokens included. */
  readonly contextLength: number;
  private readonly params: Map<string, tf.Variable>;
  private disposed = false;

  constructor(config: ModelConfig) {
    validateModelConfig(config);
    this.config = config;
    this.prefixLength = prefixLength(config);
    this.contextLength = this.prefixLength + config.maxTextLength;
    this.params = initialWeights(config);
  }

  // ---------- parameters ----------

  private p(name: string): tf.Variable {
    const v = this.params.get(name);
    if (!v) throw new Error(`internal: no parameter ${name}`);
    return v;
  }

  /** Every weight, in a stable order (the variables themselves, not copies). */
  getWeights(): NamedWeight[] {
    return [...this.params].map(([name, tensor]) => ({ name, tensor }));
  }

  /** The variables an optimizer updates (all weights are trainable). */
  get trainableVariables(): tf.Variable[] {
    return [...this.params.values()];
  }

  /** Number of scalar weights. */
  get parameterCount(): number {
    let n = 0;
    for (const v of this.params.values()) n += v.size;
    return n;
  }

  /** Assigns weights by name; every weight must be given once with its exact shape. */
  setWeights(weights: ReadonlyMap<string, tf.Tensor> | Readonly<Record<string, tf.Tensor>>): void {
    assignWeights(this.params, weights);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const v of this.params.values()) v.dispose();
  }

  // ---------- building blocks ----------

  private layerNorm(x: tf.Tensor, g: string, b: string): tf.Tensor {
    return layerNorm(x, this.p(g), this.p(b), 1e-5);
  }

  /**
   * x2d w + b (then ReLU): one fused matmul kernel instead of matmul, add (and relu). The native
   * kernel adds the bias after the product exactly as the separate add did; backends' own fused
   * kernels may round differently in the last bit. Outside a gradient tape with the native
   * kernels it is that one kernel call alone (fusedLinear: no reshapes around it).
   */
  private linear(
    x2d: tf.Tensor2D,
    w: string,
    b: string,
    activation: 'linear' | 'relu' = 'linear',
  ): tf.Tensor2D {
    return fusedLinear(x2d, this.p(w) as tf.Tensor2D, this.p(b) as tf.Tensor1D, activation);
  }

  /**
   * Runs new tokens x [B, Tn, d] through every block, attending to `past` keys/values plus the
   * new ones under `mask` [B, 1, Tn, Lpast + Tn] (null: everything visible). Returns the final
   * normalised hidden states and the extended cache.
   */
  forwardChunk(
    x: tf.Tensor3D,
    past: readonly LayerCache[] | null,
    mask: tf.Tensor4D | null,
  ): { hidden: tf.Tensor3D; cache: LayerCache[] } {
    const { width: d, heads: H } = this.config;
    const [B, Tn] = x.shape;
    const cache: LayerCache[] = [];
    const hidden = this.blocks(tf.reshape(x, [B * Tn, d]), B, (l, q, kNew, vNew, scale) => {
      // Keys and values in the cache's head layout [B, H, T, dh]; q stays in token layout.
      const heads = (t: tf.Tensor2D): tf.Tensor4D =>
        tf.transpose(tf.reshape(t, [B, Tn, H, d / H]), [0, 2, 1, 3]);
      let k = heads(kNew);
      let v = heads(vNew);
      const prev = past?.[l];
      if (prev) {
        k = tf.concat([prev.k, k], 2);
        v = tf.concat([prev.v, v], 2);
      }
      cache.push({ k, v });
      // One op (one kernel each way with the native kernels; the former ops without them).
      return attention(q, k, v, H, scale, mask);
    });
    return { hidden: tf.reshape(hidden, [B, Tn, d]), cache };
  }

  /**
   * forwardChunk over preallocated caches (`cache`, [B, H, capacity, dh] per layer, filled up to
   * `length`) for new tokens x [B * Tn, d]: their keys and values are written into the caches in
   * place and attention reads the first length + Tn positions, with no copy of the caches.
   * Returns the final normalised hidden states [B * Tn, d], bit for bit forwardChunk's over the
   * same keys. Needs the native kernels (canAppendAttention).
   */
  forwardAppend(
    x: tf.Tensor2D,
    cache: readonly AppendableCache[],
    length: number,
    mask: tf.Tensor4D | null,
  ): tf.Tensor2D {
    const H = this.config.heads;
    const B = cache[0]?.k.shape[0] ?? 0;
    return this.blocks(x, B, (l, q, kNew, vNew, scale) =>
      attentionAppend(q, kNew, vNew, cache[l] as AppendableCache, length, H, scale, mask),
    );
  }

  /**
   * The blocks over h [B * Tn, d] (rows in token order) and the final layer norm; `attend` gives
   * block l's attention output [B, Tn, d] from its queries [B, Tn, d] and new keys and values
   * [B * Tn, d] (token layout).
   */
  private blocks(
    x: tf.Tensor2D,
    B: number,
    attend: (l: number, q: tf.Tensor3D, kNew: tf.Tensor2D, vNew: tf.Tensor2D, scale: number) => tf.Tensor3D,
  ): tf.Tensor2D {
    const { width: d, heads: H, depth } = this.config;
    const Tn = x.shape[0] / B;
    const scale = 1 / Math.sqrt(d / H);
    let h: tf.Tensor2D = x;
    for (let l = 0; l < depth; l++) {
      const pre = `block${l}.`;
      const a = this.layerNorm(h, `${pre}ln1_g`, `${pre}ln1_b`) as tf.Tensor2D;
      const q = tf.reshape(this.linear(a, `${pre}wq`, `${pre}bq`), [B, Tn, d]) as tf.Tensor3D;
      const k = this.linear(a, `${pre}wk`, `${pre}bk`);
      const v = this.linear(a, `${pre}wv`, `${pre}bv`);
      const merged = tf.reshape(attend(l, q, k, v, scale), [B * Tn, d]) as tf.Tensor2D;
      h = tf.add(h, this.linear(merged, `${pre}wo`, `${pre}bo`));
      const f = this.layerNorm(h, `${pre}ln2_g`, `${pre}ln2_b`) as tf.Tensor2D;
      h = tf.add(h, this.linear(this.linear(f, `${pre}w1`, `${pre}b1`, 'relu'), `${pre}w2`, `${pre}b2`));
    }
    return this.layerNorm(h, 'lnf_g', 'lnf_b') as tf.Tensor2D;
  }

  /** Log-softmax over the vocabulary of hidden states [B, T, d] -> [B, T, V]. */
  logprobs(hidden: tf.Tensor3D): tf.Tensor3D {
    const [B, T, d] = hidden.shape;
    return tf.reshape(this.logprobRows(tf.reshape(hidden, [B * T, d])), [B, T, this.config.vocabSize]);
  }

  /** logprobs over rows: hidden states [N, d] -> log-softmax [N, V]. */
  logprobRows(hidden: tf.Tensor2D): tf.Tensor2D {
    return logSoftmax(tf.matMul(hidden, this.p('tok_emb'), false, true)) as tf.Tensor2D;
  }

  /** Embeddings [U, N, d] of images for slot `slot` (already checked). */
  embedImages(images: readonly PromptImage[], slot: number, field = 'images'): tf.Tensor3D {
    const s = this.config.images[slot];
    if (!s) throw new InvalidInputError('slot', slot, 'no such image slot');
    const p = this.config.patchSize;
    const n = slotTokens(this.config, slot);
    const dim = p * p * 3;
    const data = new Float32Array(images.length * n * dim);
    images.forEach((img, u) => {
      if (!img.pixels)
        throw new InvalidInputError(`${field}[${u}].pixels`, undefined, 'a local model needs decoded pixels');
      data.set(cachedPatches(img.pixels, s.size, p, `${field}[${u}].pixels`), u * n * dim);
    });
    const tokens = tf.reshape(
      this.linear(this.patchFeatures(data, images.length * n), 'patch_w', 'patch_b'),
      [images.length, n, this.config.width],
    );
    const view = tf.slice(this.p('view_emb'), [ROLE_INDEX[s.role], 0], [1, this.config.width]);
    return tf.add(tf.add(tokens, this.p(`slot${slot}_pos`)), view) as tf.Tensor3D;
  }

  /**
   * What patch_w reads for `rows` patches: the raw pixels, or with a stem the ReLU features of
   * every sub-patch (one matrix shared by all sub-patches: a strided convolution).
   */
  private patchFeatures(data: Float32Array, rows: number): tf.Tensor2D {
    const p = this.config.patchSize;
    const stem = stemOf(this.config);
    if (stem.patch === 0) return tf.tensor2d(data, [rows, p * p * 3]);
    const subs = (p / stem.patch) ** 2;
    const x = tf.tensor2d(toSubPatches(data, p, stem.patch), [rows * subs, stem.patch * stem.patch * 3]);
    const features = this.linear(x, 'stem_w', 'stem_b', 'relu');
    return tf.reshape(features, [rows, subs * stem.channels]);
  }

  /** Token + position embeddings of a text layout [B, T, d] (one-hot matmuls: no gather). */
  embedText(layout: TextLayout): tf.Tensor3D {
    return tf.reshape(this.embedTextRows(layout), [layout.rows, layout.columns, this.config.width]);
  }

  /** embedText as rows [B * T, d] (row-major: row b * T + t). */
  embedTextRows(layout: TextLayout): tf.Tensor2D {
    const ids = oneHot(layout.ids, this.config.vocabSize);
    const pos = oneHot(layout.positions, this.config.maxTextLength);
    return tf.add(tf.matMul(ids, this.p('tok_emb')), tf.matMul(pos, this.p('text_pos')));
  }

  /** Key descriptors of the image prefix (all valid, grouped by slot). */
  prefixKeys(): KeyInfo {
    const group: number[] = [];
    this.config.images.forEach((_s, i) => {
      for (let t = 0; t < slotTokens(this.config, i); t++) group.push(i);
    });
    return { group, valid: group.map(() => true) };
  }

  /** Key descriptors of prefix + text columns of row `b` of a layout. */
  layoutKeys(layout: TextLayout, b: number): KeyInfo {
    const pre = this.prefixKeys();
    const tg = this.config.images.length;
    const group = [...pre.group];
    const valid = [...pre.valid];
    for (let c = 0; c < layout.columns; c++) {
      group.push(tg);
      valid.push(layout.valid[b * layout.columns + c] === 1);
    }
    return { group, valid };
  }

  // ---------- checks ----------

  /** Checks a prompt's images against the slots and its token ids against the vocabulary. */
  checkPrompt(prompt: ModelPrompt, field: string, responseLength = 0): void {
    checkPrompt(this.config, prompt, field, responseLength);
  }

  checkIds(ids: readonly number[], field: string): void {
    checkIds(this.config, ids, field);
  }

  // ---------- full (uncached, differentiable) forward ----------

  /**
   * Log-softmax [B, M + extra, V] at the response positions: column k predicts response token k
   * (M = longest response). With extra = 1 the last column predicts the token after the
   * response. No cache, no sharing: every row encodes its own images (the training path).
   */
  fullLogprobs(batch: ResponseBatch, extra: 0 | 1 = 0): tf.Tensor3D {
    const layout = textLayout(
      batch.prompts.map((p) => p.tokenIds),
      batch.responses,
      PAD,
    );
    const slots = this.config.images.length;
    const parts: tf.Tensor3D[] = [];
    for (let s = 0; s < slots; s++) {
      parts.push(
        this.embedImages(
          batch.prompts.map((p) => p.images[s] as PromptImage),
          s,
          `prompts[*].images[${s}]`,
        ),
      );
    }
    parts.push(this.embedText(layout));
    const x = tf.concat(parts, 1);
    const keys = batch.prompts.map((_p, b) => this.layoutKeys(layout, b));
    const mask = blockCausalMask(keys, this.prefixLength + layout.columns, slots);
    const { hidden } = this.forwardChunk(x, null, mask);
    const width = layout.responseWidth + extra;
    const start = this.prefixLength + layout.promptWidth - 1;
    const h = tf.slice(hidden, [0, start, 0], [layout.rows, width, this.config.width]);
    return this.logprobs(h);
  }

  /**
   * fullLogprobs, differentiable, with the image prefix encoded once per distinct image chain
   * (encodePrefix's sharing, by PromptImage.id) instead of once per row: an update's G rollouts
   * of one prompt share their images, and the image tokens attend only to images, so their hidden
   * states are the same in every row. The shared keys and values reach the rows through
   * cacheRows' differentiable copy. Forward values equal fullLogprobs' on the tfjs kernels and
   * within a few ulp with the native kernels, gradients up to the order of float sums
   * (test/shared-prefix.test.ts). Falls back to fullLogprobs when no two rows share their images.
   */
  sharedPrefixLogprobs(batch: ResponseBatch, extra: 0 | 1 = 0): tf.Tensor3D {
    const chains = new Set(batch.prompts.map((p) => p.images.map((img) => img.id).join('\u0000')));
    if (chains.size === batch.prompts.length) return this.fullLogprobs(batch, extra);
    return tf.tidy(() => {
      const prefix = this.encodePrefix(
        batch.prompts.map((p) => p.images),
        true,
        true,
      );
      return this.cachedLogprobs(batch, prefix, extra);
    });
  }

  /**
   * Differentiable log-probs [B, T] of each response token under its prompt (T = longest
   * response; padded entries are 0). Call inside tf.variableGrads / optimizer.minimize. With
   * `sharePrefix`, rows with the same images encode them once (sharedPrefixLogprobs).
   */
  responseLogprobs(batch: ResponseBatch, options: { readonly sharePrefix?: boolean } = {}): tf.Tensor2D {
    checkBatch(this.config, batch);
    return tf.tidy(() => {
      const lp = options.sharePrefix ? this.sharedPrefixLogprobs(batch) : this.fullLogprobs(batch);
      return pickTokens(lp, batch.responses, this.config.vocabSize);
    });
  }

  /** Differentiable log-probs [B, T, K] of the given token ids at each response position. */
  responseTopKLogprobs(batch: ResponseBatch, ids: tf.Tensor3D): tf.Tensor3D {
    checkBatch(this.config, batch);
    const T = Math.max(0, ...batch.responses.map((r) => r.length));
    if (ids.shape[0] !== batch.prompts.length || ids.shape[1] !== T) {
      throw new ShapeMismatchError('ids', `[${batch.prompts.length}, ${T}, K]`, `[${ids.shape.join(', ')}]`);
    }
    const [B, , K] = ids.shape;
    const flatIds = ids.dataSync();
    checkIds(this.config, Array.from(flatIds), 'ids');
    return tf.tidy(() => {
      const lp = this.fullLogprobs(batch); // [B, T, V]
      const V = this.config.vocabSize;
      const oh = tf.reshape(oneHot(flatIds, V), [B, T, K, V]);
      return tf.sum(tf.mul(oh, tf.expandDims(lp, 2)), -1) as tf.Tensor3D;
    });
  }

  /** Mean negative log-likelihood of the response tokens (padding excluded): a scalar loss. */
  supervisedLoss(batch: ResponseBatch): tf.Scalar {
    const count = batch.responses.reduce((n, r) => n + r.length, 0);
    if (count === 0)
      throw new InvalidInputError('batch.responses', batch.responses, 'no response tokens to learn');
    return tf.tidy(() => tf.div(tf.neg(tf.sum(this.responseLogprobs(batch))), count) as tf.Scalar);
  }

  // ---------- cached inference ----------

  /**
   * Keys/values of the image prefixes of `prompts` ([rows = prompts, ...]). With `share`, each
   * distinct image chain (by PromptImage.id) is encoded once: slot s of a chain reuses the cache
   * of its slots 0..s-1, so a teacher's two views of one prompt encode the full image once.
   * `differentiable` copies shared rows so that gradients flow back (cacheRows), for training.
   */
  encodePrefix(
    images: readonly (readonly PromptImage[])[],
    share: boolean,
    differentiable = false,
  ): LayerCache[] {
    return tf.tidy(() => {
      let chainKeys: string[] = images.map(() => '');
      let cache: LayerCache[] | null = null;
      let uniqueKeys: string[] = [];
      for (let s = 0; s < this.config.images.length; s++) {
        const keys = images.map((imgs, r) => `${chainKeys[r]}|${share ? `id:${imgs[s]?.id}` : `row:${r}`}`);
        const next: string[] = [];
        const firstRow: number[] = [];
        for (let r = 0; r < keys.length; r++) {
          if (!next.includes(keys[r] as string)) {
            next.push(keys[r] as string);
            firstRow.push(r);
          }
        }
        const x = this.embedImages(
          firstRow.map((r) => images[r]?.[s] as PromptImage),
          s,
          `images[*][${s}]`,
        );
        let past: LayerCache[] | null = null;
        if (cache) {
          past = cacheRows(
            cache,
            firstRow.map((r) => uniqueKeys.indexOf(chainKeys[r] as string)),
            differentiable,
          );
        }
        cache = this.forwardChunk(x, past, null).cache;
        uniqueKeys = next;
        chainKeys = keys;
      }
      return cacheRows(
        cache ?? [],
        chainKeys.map((k) => uniqueKeys.indexOf(k)),
        differentiable,
      );
    });
  }

  /**
   * Teacher-forced log-softmax [B, M + extra, V] like fullLogprobs, but reading the image prefix
   * from `prefix` (rows = batch rows, from encodePrefix).
   */
  cachedLogprobs(batch: ResponseBatch, prefix: readonly LayerCache[], extra: 0 | 1 = 0): tf.Tensor3D {
    return tf.tidy(() => {
      const layout = textLayout(
        batch.prompts.map((p) => p.tokenIds),
        batch.responses,
        PAD,
      );
      const x = this.embedText(layout);
      const keys = batch.prompts.map((_p, b) => this.layoutKeys(layout, b));
      const mask = blockCausalMask(keys, layout.columns, this.config.images.length);
      const { hidden } = this.forwardChunk(x, prefix, mask);
      const width = layout.responseWidth + extra;
      const h = tf.slice(hidden, [0, layout.promptWidth - 1, 0], [layout.rows, width, this.config.width]);
      return this.logprobs(h);
    });
  }

  /** Starts incremental decoding: prefix cache + prompt tokens; returns the state and next-token log-probs. */
  startDecoding(
    prompts: readonly ModelPrompt[],
    prefix: readonly LayerCache[],
  ): { state: DecodeState; logprobs: Float32Array } {
    const layout = textLayout(
      prompts.map((p) => p.tokenIds),
      [],
      PAD,
    );
    const keys = prompts.map((_p, b) => this.layoutKeys(layout, b));
    const { cache, lp } = tf.tidy(() => {
      const x = this.embedText(layout);
      const mask = blockCausalMask(keys, layout.columns, this.config.images.length);
      const out = this.forwardChunk(x, prefix, mask);
      const last = tf.slice(out.hidden, [0, layout.columns - 1, 0], [layout.rows, 1, this.config.width]);
      return { cache: out.cache, lp: this.logprobs(last) };
    });
    const logprobs = lp.dataSync() as Float32Array;
    lp.dispose();
    const state = new DecodeState(
      this,
      cache,
      keys.map((k) => ({ group: [...k.group], valid: [...k.valid] })),
      prompts.map((p) => p.tokenIds.length),
    );
    return { state, logprobs: Float32Array.from(logprobs) };
  }
}

/** A model with freshly initialised weights (seeded by config.initSeed). */
export function createModel(config: ModelConfig): VisionLanguageModel {
  return new VisionLanguageModel(config);
}
