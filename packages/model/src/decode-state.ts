// Incremental (KV-cached) decoding: one token per row per step over the cache that
// VisionLanguageModel.startDecoding built from the image prefix and the prompts. With the native
// kernels the cache is preallocated for the steps to come and each step writes its keys and
// values into it in place (model.forwardAppend); without them each step concatenates them onto
// the cache (model.forwardChunk). Both give the same log-probs bit for bit.
import * as tf from '@tensorflow/tfjs-core';
import { canAppendAttention } from '@vzero/tfjs-native';
import { cacheRows, isIdentity, type LayerCache } from './kv-cache.js';
import { blockCausalMask, type TextLayout } from './layout.js';
import type { VisionLanguageModel } from './model.js';

/**
 * Incremental decoding state: per-layer key/value cache and per-row key descriptors. Owns its
 * tensors: call dispose() when done.
 */
export class DecodeState {
  /** Positions the cache holds (its tensors' axis 2), of which `length` are filled. */
  private capacity: number;
  /** Filled positions of the cache. */
  private length: number;
  /** Positions to make room for when the cache is next preallocated (reserve()). */
  private room = 0;
  /** Whether steps write into a preallocated cache (the native kernels are registered). */
  private readonly inPlace = canAppendAttention();

  constructor(
    private readonly model: VisionLanguageModel,
    private cache: LayerCache[],
    private keys: { group: number[]; valid: boolean[] }[],
    /** Text position of each row's next token. */
    private positions: number[],
  ) {
    this.length = cache[0]?.k.shape[2] ?? 0;
    this.capacity = this.length;
  }

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
   * Makes room for `steps` more tokens per row, so that decoding them writes into the cache in
   * place instead of copying it every step (with the native kernels; without them, nothing).
   */
  reserve(steps: number): void {
    this.room = Math.max(this.room, this.length + steps);
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
    if (this.inPlace) this.preallocate(this.length + 1);
    const out = tf.tidy(() => {
      const mask = blockCausalMask(this.keys, 1, tg);
      if (this.inPlace) {
        const x = model.embedTextRows(layout);
        return { lp: model.logprobRows(model.forwardAppend(x, this.cache, this.length, mask)) };
      }
      const o = model.forwardChunk(model.embedText(layout), this.cache, mask);
      return { cache: o.cache, lp: model.logprobs(o.hidden) };
    });
    if (out.cache) {
      this.disposeCache();
      this.cache = out.cache;
      this.capacity = this.length + 1;
    }
    const lp = out.lp;
    this.length += 1;
    this.positions = this.positions.map((p, r) => (active[r] ? p + 1 : p));
    const data = Float32Array.from(lp.dataSync() as Float32Array);
    lp.dispose();
    return data;
  }

  /**
   * Ensures the cache holds at least `needed` positions (and the reserved room): copies it once
   * into tensors with spare positions (zeros, never read: attention reads the filled ones).
   */
  private preallocate(needed: number): void {
    if (this.capacity >= needed) return;
    const capacity = Math.max(needed, this.room > this.capacity ? this.room : 2 * this.capacity);
    const pad: [number, number][] = [
      [0, 0],
      [0, 0],
      [0, capacity - this.capacity],
      [0, 0],
    ];
    const next = tf.tidy(() => this.cache.map((c) => ({ k: tf.pad(c.k, pad), v: tf.pad(c.v, pad) })));
    this.disposeCache();
    this.cache = next;
    this.capacity = capacity;
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
