// Incremental (KV-cached) decoding: one token per row per step over the cache that
// VisionLanguageModel.startDecoding built from the image prefix and the prompts.
import * as tf from '@tensorflow/tfjs-core';
import { cacheRows, isIdentity, type LayerCache } from './kv-cache.js';
import { blockCausalMask, type TextLayout } from './layout.js';
import type { VisionLanguageModel } from './model.js';

/**
 * Incremental decoding state: per-layer key/value cache and per-row key descriptors. Owns its
 * tensors: call dispose() when done.
 */
export class DecodeState {
  constructor(
    private readonly model: VisionLanguageModel,
    private cache: LayerCache[],
    private keys: { group: number[]; valid: boolean[] }[],
    /** Text position of each row's next token. */
    private positions: number[],
  ) {}

  get rows(): number {
    return this.keys.length;
  }

  /** Keeps rows in the given order (repeats allowed): e.g. each prompt repeated G times. */
  select(rows: readonly number[]): void {
    if (isIdentity(rows, this.rows)) return; // the same rows in the same order: nothing to do
    const next = tf.tidy(() => cacheRows(this.cache, rows));
    this.disposeCache();
    this.cache = next;
    this.keys = rows.map((r) => {
      const k = this.keys[r] as { group: number[]; valid: boolean[] };
      return { group: [...k.group], valid: [...k.valid] };
    });
    this.positions = rows.map((r) => this.positions[r] ?? 0);
  }

  /**
   * Feeds one token per row (`active[r]` false: the row is finished and its token is padding)
   * and returns next-token log-probs [rows * V].
   */
  step(tokens: readonly number[], active: readonly boolean[]): Float32Array {
    const model = this.model;
    const tg = model.config.images.length;
    for (let r = 0; r < this.rows; r++) {
      const k = this.keys[r] as { group: number[]; valid: boolean[] };
      k.group.push(tg);
      k.valid.push(active[r] === true);
    }
    const layout: TextLayout = {
      rows: this.rows,
      columns: 1,
      promptWidth: 1,
      responseWidth: 0,
      ids: Int32Array.from(tokens),
      positions: Int32Array.from(this.positions.map((p) => Math.min(p, model.config.maxTextLength - 1))),
      valid: Uint8Array.from(active.map((a) => (a ? 1 : 0))),
    };
    const { cache, lp } = tf.tidy(() => {
      const x = model.embedText(layout);
      const mask = blockCausalMask(this.keys, 1, tg);
      const out = model.forwardChunk(x, this.cache, mask);
      return { cache: out.cache, lp: model.logprobs(out.hidden) };
    });
    this.disposeCache();
    this.cache = cache;
    this.positions = this.positions.map((p, r) => (active[r] ? p + 1 : p));
    const data = Float32Array.from(lp.dataSync() as Float32Array);
    lp.dispose();
    return data;
  }

  private disposeCache(): void {
    for (const c of this.cache) {
      c.k.dispose();
      c.v.dispose();
    }
  }

  dispose(): void {
    this.disposeCache();
    this.cache = [];
  }
}
