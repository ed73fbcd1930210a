import type { ImagePixels } from '@vzero/core';
import { patchify } from './pixels.js';

// Patch vectors by pixel buffer: a training step embeds the same decoded images many times (every
// trajectory of a group shares its prompt's images, and rollout, teacher and update each encode
// them), and resampling + patchifying is JavaScript work per pixel. Keyed weakly by the buffer,
// so entries go with the images; pixel buffers are treated as immutable once decoded.
const patchCache = new WeakMap<Float32Array, Map<string, Float32Array>>();

export function cachedPatches(pixels: ImagePixels, size: number, patch: number, field: string): Float32Array {
  const key = `${pixels.width}x${pixels.height}x${pixels.channels}:${size}/${patch}`;
  let byKey = patchCache.get(pixels.data);
  const hit = byKey?.get(key);
  if (hit) return hit;
  const out = patchify(pixels, size, patch, field);
  if (!byKey) patchCache.set(pixels.data, (byKey = new Map()));
  byKey.set(key, out);
  return out;
}
