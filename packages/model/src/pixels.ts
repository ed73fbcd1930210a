// Image pixels to patch vectors, in plain JavaScript so every backend sees the same inputs.
// Images of another size are area-resampled to the slot's square side (exact box filter: a
// small object in a large image keeps its average colour instead of vanishing between samples).
import { InvalidInputError } from '@vzero/core';
import type { ImagePixels } from '@vzero/core';

/** Validates pixels and returns them as RGB (grey is repeated, alpha dropped). */
function toRgb(image: ImagePixels, field: string): Float32Array {
  const { width, height, channels, data } = image;
  if (!Number.isInteger(width) || width < 1)
    throw new InvalidInputError(`${field}.width`, width, 'expected a positive integer');
  if (!Number.isInteger(height) || height < 1)
    throw new InvalidInputError(`${field}.height`, height, 'expected a positive integer');
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new InvalidInputError(`${field}.channels`, channels, 'expected 1, 3 or 4');
  }
  if (!(data instanceof Float32Array) || data.length !== width * height * channels) {
    throw new InvalidInputError(
      `${field}.data`,
      data?.length,
      `expected a Float32Array of width*height*channels = ${width * height * channels} values`,
    );
  }
  if (channels === 3) return data;
  const out = new Float32Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    for (let c = 0; c < 3; c++) out[p * 3 + c] = data[p * channels + (channels === 1 ? 0 : c)] ?? 0;
  }
  return out;
}

/** Weights of the box filter mapping `n` input cells onto `m` output cells: m rows of [index, weight]. */
function boxWeights(n: number, m: number): [number, number][][] {
  const scale = n / m;
  const rows: [number, number][][] = [];
  for (let o = 0; o < m; o++) {
    const lo = o * scale;
    const hi = lo + scale;
    const row: [number, number][] = [];
    for (let i = Math.floor(lo); i < Math.min(n, Math.ceil(hi)); i++) {
      const w = Math.min(hi, i + 1) - Math.max(lo, i);
      if (w > 0) row.push([i, w / scale]);
    }
    rows.push(row);
  }
  return rows;
}

/** RGB pixels resampled to size x size (separable box filter), values in [0, 1]. */
export function resampleSquare(image: ImagePixels, size: number, field = 'image'): Float32Array {
  const rgb = toRgb(image, field);
  const { width, height } = image;
  if (width === size && height === size) return rgb;
  const wx = boxWeights(width, size);
  const wy = boxWeights(height, size);
  const tmp = new Float32Array(height * size * 3);
  for (let y = 0; y < height; y++) {
    for (let ox = 0; ox < size; ox++) {
      for (const [ix, w] of wx[ox] ?? []) {
        const src = (y * width + ix) * 3;
        const dst = (y * size + ox) * 3;
        for (let c = 0; c < 3; c++) tmp[dst + c] = (tmp[dst + c] ?? 0) + w * (rgb[src + c] ?? 0);
      }
    }
  }
  const out = new Float32Array(size * size * 3);
  for (let oy = 0; oy < size; oy++) {
    for (const [iy, w] of wy[oy] ?? []) {
      for (let x = 0; x < size * 3; x++) {
        out[oy * size * 3 + x] = (out[oy * size * 3 + x] ?? 0) + w * (tmp[iy * size * 3 + x] ?? 0);
      }
    }
  }
  return out;
}

/**
 * Patch vectors of an image resampled to size x size: (size/patch)^2 rows of patch*patch*3
 * values in row-major patch order, centred to [-1, 1].
 */
export function patchify(image: ImagePixels, size: number, patch: number, field = 'image'): Float32Array {
  const px = resampleSquare(image, size, field);
  const grid = size / patch;
  const dim = patch * patch * 3;
  const out = new Float32Array(grid * grid * dim);
  for (let gy = 0; gy < grid; gy++) {
    for (let gx = 0; gx < grid; gx++) {
      const base = (gy * grid + gx) * dim;
      for (let y = 0; y < patch; y++) {
        for (let x = 0; x < patch; x++) {
          const src = ((gy * patch + y) * size + gx * patch + x) * 3;
          const dst = base + (y * patch + x) * 3;
          for (let c = 0; c < 3; c++) out[dst + c] = 2 * (px[src + c] ?? 0) - 1;
        }
      }
    }
  }
  return out;
}

/**
 * Reorders patch vectors (row-major pixels inside each patch, as `patchify` returns them) so that
 * each `sub` x `sub` sub-patch is contiguous: rows of sub*sub*3 values, (patch/sub)^2 rows per
 * patch in row-major order. The stem then reads every sub-patch with one shared matrix.
 */
export function toSubPatches(patches: Float32Array, patch: number, sub: number): Float32Array {
  if (!Number.isInteger(sub) || sub < 1 || patch % sub !== 0) {
    throw new InvalidInputError('sub', sub, `expected a positive divisor of the patch size ${patch}`);
  }
  const dim = patch * patch * 3;
  if (patches.length % dim !== 0) {
    throw new InvalidInputError('patches.length', patches.length, `expected a multiple of ${dim}`);
  }
  const grid = patch / sub;
  const out = new Float32Array(patches.length);
  let o = 0;
  for (let base = 0; base < patches.length; base += dim) {
    for (let sy = 0; sy < grid; sy++) {
      for (let sx = 0; sx < grid; sx++) {
        for (let y = 0; y < sub; y++) {
          const row = base + ((sy * sub + y) * patch + sx * sub) * 3;
          out.set(patches.subarray(row, row + sub * 3), o);
          o += sub * 3;
        }
      }
    }
  }
  return out;
}
