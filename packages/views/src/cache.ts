// A bounded LRU of built views, so repeated epochs over the same samples skip decoding and
// resizing. Keys combine the image identity, the boxes, the seed key and the resolved spec.
import { InvalidInputError } from '@vzero/core';

export interface ViewCacheStats {
  readonly hits: number;
  readonly misses: number;
  readonly size: number;
  readonly maxEntries: number;
}

export class ViewCache<V = unknown> {
  readonly maxEntries: number;
  private readonly entries = new Map<string, V>();
  private hitCount = 0;
  private missCount = 0;

  constructor(options: { readonly maxEntries?: number } = {}) {
    const max = options.maxEntries ?? 256;
    if (!Number.isInteger(max) || max < 1) {
      throw new InvalidInputError('maxEntries', max, 'expected a positive integer');
    }
    this.maxEntries = max;
  }

  /** The entry for `key`, counted as a hit and marked most recently used; a miss otherwise. */
  get(key: string): V | undefined {
    const value = this.entries.get(key);
    if (value === undefined) {
      this.missCount++;
      return undefined;
    }
    this.hitCount++;
    // Map keeps insertion order: re-inserting moves the key to the most-recent end.
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  /** Stores `value`, evicting the least recently used entries beyond maxEntries. */
  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  get size(): number {
    return this.entries.size;
  }

  get hits(): number {
    return this.hitCount;
  }

  get misses(): number {
    return this.missCount;
  }

  stats(): ViewCacheStats {
    return {
      hits: this.hitCount,
      misses: this.missCount,
      size: this.entries.size,
      maxEntries: this.maxEntries,
    };
  }

  clear(): void {
    this.entries.clear();
    this.hitCount = 0;
    this.missCount = 0;
  }
}
