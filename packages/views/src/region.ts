// Pure geometry of the views: where the positive crop goes, and where a negative region may be
// sampled. Regions are integer pixel boxes [x0, x1) x [y0, y1); no image is touched here, so the
// rules are checked directly by property tests.
import { InvalidInputError } from '@vzero/core';
import type { Box, Rng } from '@vzero/core';
import type { ImageSize } from './box.js';

/** Padding around the box: a fraction of the box's width/height on each side, or pixels. */
export type Padding = number | { readonly px: number };

/** How a region that extends past the border is brought inside the image. */
export type ClampMode = 'shift' | 'clip';

export interface CropOptions {
  readonly padding: Padding;
  /** Minimum width and height of the crop in image pixels (capped by the image size). */
  readonly minSize: number;
  /** Make the crop square (as far as the image allows). */
  readonly square: boolean;
  /** 'shift' moves the region inside the image keeping its size; 'clip' cuts it at the border. */
  readonly clamp: ClampMode;
}

/**
 * The positive crop region for a (validated, in-image) pixel box. Steps, in order:
 * 1. pad each side by `padding` (fraction of the box size, or pixels);
 * 2. snap outwards to whole pixels;
 * 3. grow each side that is shorter than `minSize` symmetrically to `minSize`;
 * 4. if `square`, grow the shorter side symmetrically to the longer one;
 * 5. cap each side at the image size, then 'shift' the region inside the image (keeping its
 *    size) or 'clip' it at the border.
 * The result always contains the box and lies inside the image.
 */
export function cropRegion(box: Box, image: ImageSize, options: CropOptions): Box {
  const bw = box.x1 - box.x0;
  const bh = box.y1 - box.y0;
  const padX = typeof options.padding === 'number' ? options.padding * bw : options.padding.px;
  const padY = typeof options.padding === 'number' ? options.padding * bh : options.padding.px;
  let x0 = Math.floor(box.x0 - padX);
  let x1 = Math.ceil(box.x1 + padX);
  let y0 = Math.floor(box.y0 - padY);
  let y1 = Math.ceil(box.y1 + padY);
  [x0, x1] = growTo(x0, x1, options.minSize);
  [y0, y1] = growTo(y0, y1, options.minSize);
  if (options.square) {
    const side = Math.max(x1 - x0, y1 - y0);
    [x0, x1] = growTo(x0, x1, side);
    [y0, y1] = growTo(y0, y1, side);
  }
  [x0, x1] = fitAxis(x0, x1, image.width, options.clamp);
  [y0, y1] = fitAxis(y0, y1, image.height, options.clamp);
  return { x0, y0, x1, y1 };
}

function growTo(a: number, b: number, size: number): [number, number] {
  const extra = size - (b - a);
  if (extra <= 0) return [a, b];
  const before = Math.floor(extra / 2);
  return [a - before, b + (extra - before)];
}

function fitAxis(a: number, b: number, limit: number, clamp: ClampMode): [number, number] {
  if (clamp === 'shift') {
    const len = Math.min(b - a, limit);
    // Keep the region's centre where it was as far as possible: trim symmetrically, then shift.
    const trim = b - a - len;
    a += Math.floor(trim / 2);
    b = a + len;
    if (a < 0) {
      b -= a;
      a = 0;
    }
    if (b > limit) {
      a -= b - limit;
      b = limit;
    }
  }
  return [Math.max(0, a), Math.min(limit, b)];
}

/** Why no negative region could be produced. */
export type UnavailableReason = 'no-region-outside-box';

export interface RegionUnavailable {
  readonly ok: false;
  readonly reason: UnavailableReason;
  readonly detail: string;
}

export interface OutsideRegion {
  readonly ok: true;
  /** The sampled region in the downsampled image (integer, `width` x `height`). */
  readonly sampled: Box;
  /** The same region in source-image pixels (integer; snapped inwards for fractional factors). */
  readonly source: Box;
  /** Size of the downsampled image. */
  readonly downsampled: ImageSize;
  /** The forbidden zone in downsampled pixels: target box / factor, grown by the margin. */
  readonly forbidden: Box;
}

/** Size of the image downsampled by `factor`: floor(size / factor), at least 1. */
export function downsampledSize(image: ImageSize, factor: number): ImageSize {
  return {
    width: Math.max(1, Math.floor(image.width / factor)),
    height: Math.max(1, Math.floor(image.height / factor)),
  };
}

/**
 * The paper's negative region. The full image is downsampled by `factor` to
 * floor(W / f) x floor(H / f), so source pixel coordinate x maps to x / f. A region of
 * `size` (the positive crop's size, in downsampled pixels) is drawn uniformly among the integer
 * positions [qx, qx + w) x [qy, qy + h) inside the downsampled image whose intersection with
 * the forbidden zone [b.x0 / f - m, b.x1 / f + m) x [b.y0 / f - m, b.y1 / f + m) has zero area
 * (touching an edge is allowed; m = `margin` in downsampled pixels). When no position
 * qualifies, the result says so instead of overlapping.
 */
export function sampleOutsideRegion(
  image: ImageSize,
  box: Box,
  size: ImageSize,
  factor: number,
  margin: number,
  rng: Rng,
): OutsideRegion | RegionUnavailable {
  if (!(factor >= 1) || !Number.isFinite(factor)) {
    throw new InvalidInputError('factor', factor, 'expected a finite number >= 1');
  }
  if (!(margin >= 0) || !Number.isFinite(margin)) {
    throw new InvalidInputError('margin', margin, 'expected a finite number >= 0');
  }
  const down = downsampledSize(image, factor);
  const forbidden: Box = {
    x0: box.x0 / factor - margin,
    y0: box.y0 / factor - margin,
    x1: box.x1 / factor + margin,
    y1: box.y1 / factor + margin,
  };
  const w = size.width;
  const h = size.height;
  if (w > down.width || h > down.height) {
    return {
      ok: false,
      reason: 'no-region-outside-box',
      detail: `the ${w}x${h} crop does not fit in the ${down.width}x${down.height} downsampled image`,
    };
  }
  const nx = down.width - w + 1;
  const ny = down.height - h + 1;
  // Positions overlapping the zone: qx in (fx0 - w, fx1) and qy in (fy0 - h, fy1), as integers.
  const bx = blockedRange(forbidden.x0, forbidden.x1, w, nx);
  const by = blockedRange(forbidden.y0, forbidden.y1, h, ny);
  const blockedCols = bx.hi - bx.lo;
  const blockedRows = by.hi - by.lo;
  const freeInBlockedRow = nx - blockedCols;
  const total = nx * ny - blockedCols * blockedRows;
  if (total <= 0) {
    return {
      ok: false,
      reason: 'no-region-outside-box',
      detail:
        `no ${w}x${h} region of the ${down.width}x${down.height} downsampled image avoids the target ` +
        `box scaled by 1/${factor} (${fmt(forbidden)} with margin ${margin})`,
    };
  }
  // Uniform over all valid positions: rows outside the blocked band have nx positions, rows
  // inside have nx - blockedCols; walk to the k-th position without rejection sampling.
  let k = rng.int(0, total);
  const rowsBefore = by.lo;
  let qx: number;
  let qy: number;
  if (k < rowsBefore * nx) {
    qy = Math.floor(k / nx);
    qx = k % nx;
  } else {
    k -= rowsBefore * nx;
    if (k < blockedRows * freeInBlockedRow) {
      qy = by.lo + Math.floor(k / freeInBlockedRow);
      const c = k % freeInBlockedRow;
      qx = c < bx.lo ? c : c + blockedCols;
    } else {
      k -= blockedRows * freeInBlockedRow;
      qy = by.hi + Math.floor(k / nx);
      qx = k % nx;
    }
  }
  const sampled = { x0: qx, y0: qy, x1: qx + w, y1: qy + h };
  return {
    ok: true,
    sampled,
    source: toSource(sampled, factor, image, box, forbidden),
    downsampled: down,
    forbidden,
  };
}

/**
 * Integer positions q in [0, n) whose span [q, q + len) overlaps the interval (a, b) with
 * positive length: q + len > a and q < b. With integers on the left these are exact:
 * q >= floor(a) + 1 - len and q <= ceil(b) - 1 (no float subtraction that could round).
 */
function blockedRange(a: number, b: number, len: number, n: number): { lo: number; hi: number } {
  const lo = Math.max(0, Math.floor(a) + 1 - len);
  const hi = Math.min(n, Math.ceil(b));
  return hi > lo ? { lo, hi } : { lo: 0, hi: 0 };
}

/**
 * Downsampled region -> source pixels, snapped inwards. The region lies on some side of the
 * forbidden zone; the matching source edge is also clamped to the box itself, so float
 * rounding in box / factor can never let the source region reach into the box.
 */
function toSource(r: Box, factor: number, image: ImageSize, box: Box, zone: Box): Box {
  let x0 = Math.ceil(r.x0 * factor - 1e-9);
  let y0 = Math.ceil(r.y0 * factor - 1e-9);
  let x1 = Math.min(image.width, Math.floor(r.x1 * factor + 1e-9));
  let y1 = Math.min(image.height, Math.floor(r.y1 * factor + 1e-9));
  const side = r.x1 <= zone.x0 ? 'left' : r.x0 >= zone.x1 ? 'right' : r.y1 <= zone.y0 ? 'above' : 'below';
  if (side === 'left') x1 = Math.min(x1, Math.floor(box.x0));
  if (side === 'right') x0 = Math.max(x0, Math.ceil(box.x1));
  if (side === 'above') y1 = Math.min(y1, Math.floor(box.y0));
  if (side === 'below') y0 = Math.max(y0, Math.ceil(box.y1));
  // A region under two source pixels wide can snap to nothing: widen it away from the box.
  if (x1 <= x0) [x0, x1] = side === 'left' ? [x1 - 1, x1] : [x0, x0 + 1];
  if (y1 <= y0) [y0, y1] = side === 'above' ? [y1 - 1, y1] : [y0, y0 + 1];
  return { x0, y0, x1, y1 };
}

/** A region of `size` drawn uniformly anywhere inside the image (integer positions). */
export function sampleAnywhere(image: ImageSize, size: ImageSize, rng: Rng): Box {
  const w = Math.min(size.width, image.width);
  const h = Math.min(size.height, image.height);
  const qx = rng.int(0, image.width - w + 1);
  const qy = rng.int(0, image.height - h + 1);
  return { x0: qx, y0: qy, x1: qx + w, y1: qy + h };
}

function fmt(b: Box): string {
  const r = (v: number) => Math.round(v * 100) / 100;
  return `[${r(b.x0)}, ${r(b.y0)}, ${r(b.x1)}, ${r(b.y1)}]`;
}
