// Box conventions. A pixel box is continuous: it covers [x0, x1) x [y0, y1) of an image whose
// pixel (i, j) covers [i, i + 1) x [j, j + 1). Normalised boxes are fractions of the width and
// height; Qwen-style boxes are thousandths. Everything inside this package works in pixels.
import { InvalidInputError } from '@vzero/core';
import type { Box, BoxFormat } from '@vzero/core';

/** A box as an object or as the tuple [x0, y0, x1, y1]. */
export type BoxInput = Box | readonly [number, number, number, number];

export const BOX_FORMATS: readonly BoxFormat[] = ['pixel', 'normalized', 'qwen1000'];

/** Width and height of an image in pixels. */
export interface ImageSize {
  readonly width: number;
  readonly height: number;
}

const KEYS = ['x0', 'y0', 'x1', 'y1'] as const;

/** Reads a BoxInput into a Box, checking that every coordinate is a finite number. */
export function readBox(box: BoxInput, field = 'box'): Box {
  let values: readonly unknown[];
  if (Array.isArray(box)) {
    if (box.length !== 4) throw new InvalidInputError(field, box, 'expected [x0, y0, x1, y1]');
    values = box;
  } else if (box !== null && typeof box === 'object') {
    const b = box as Box;
    values = [b.x0, b.y0, b.x1, b.y1];
  } else {
    throw new InvalidInputError(field, box, 'expected {x0, y0, x1, y1} or [x0, y0, x1, y1]');
  }
  values.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new InvalidInputError(`${field}.${KEYS[i]}`, v, 'expected a finite number');
    }
  });
  const [x0, y0, x1, y1] = values as [number, number, number, number];
  return { x0, y0, x1, y1 };
}

/**
 * Converts a box in `format` to pixel coordinates of a `width` x `height` image:
 * pixel as is, normalized x * width, qwen1000 x / 1000 * width (same for y with height).
 * Checks coordinates are finite; does not check that the box lies inside the image.
 */
export function toPixelBox(box: BoxInput, format: BoxFormat, width: number, height: number): Box {
  const b = readBox(box);
  if (!BOX_FORMATS.includes(format)) {
    throw new InvalidInputError('boxFormat', format, `expected one of ${BOX_FORMATS.join(', ')}`);
  }
  if (format === 'pixel') return b;
  const scale = format === 'normalized' ? 1 : 1000;
  return {
    x0: (b.x0 / scale) * width,
    y0: (b.y0 / scale) * height,
    x1: (b.x1 / scale) * width,
    y1: (b.y1 / scale) * height,
  };
}

/** What to do with a box that sticks out of the image: fail, or clip it to the image. */
export type BoxOutsidePolicy = 'error' | 'clip';

// Rounding in normalised -> pixel conversion may overshoot the border by a hair.
const EDGE_TOLERANCE = 1e-6;

/**
 * Checks that a pixel box has positive area and lies inside the image. A box that leaves the
 * image fails with `policy` 'error'; with 'clip' it is clipped, and fails only when nothing of it
 * is left inside. Errors name the coordinate (`box.x1`) and its value.
 */
export function checkBox(box: Box, size: ImageSize, field = 'box', policy: BoxOutsidePolicy = 'error'): Box {
  const b = readBox(box, field);
  if (b.x1 <= b.x0) {
    throw new InvalidInputError(`${field}.x1`, b.x1, `box has zero or negative width (x0 = ${b.x0})`);
  }
  if (b.y1 <= b.y0) {
    throw new InvalidInputError(`${field}.y1`, b.y1, `box has zero or negative height (y0 = ${b.y0})`);
  }
  const limits = { x0: size.width, y0: size.height, x1: size.width, y1: size.height };
  const out = { ...b };
  for (const key of KEYS) {
    const v = b[key];
    const max = limits[key];
    const tol = EDGE_TOLERANCE * Math.max(1, max);
    if (v >= -tol && v <= max + tol) {
      out[key] = Math.min(max, Math.max(0, v));
      continue;
    }
    if (policy === 'error') {
      throw new InvalidInputError(
        `${field}.${key}`,
        v,
        `outside the ${size.width}x${size.height} image (expected 0 <= ${key} <= ${max})`,
      );
    }
    out[key] = Math.min(max, Math.max(0, v));
  }
  if (out.x1 <= out.x0 || out.y1 <= out.y0) {
    throw new InvalidInputError(field, b, `box lies entirely outside the ${size.width}x${size.height} image`);
  }
  return out;
}

/** The smallest box containing every box. */
export function unionBox(boxes: readonly Box[]): Box {
  const first = boxes[0];
  if (first === undefined) throw new InvalidInputError('boxes', boxes, 'expected at least one box');
  let { x0, y0, x1, y1 } = first;
  for (const b of boxes) {
    x0 = Math.min(x0, b.x0);
    y0 = Math.min(y0, b.y0);
    x1 = Math.max(x1, b.x1);
    y1 = Math.max(y1, b.y1);
  }
  return { x0, y0, x1, y1 };
}

/** Area of the intersection of two boxes (0 when they only touch). */
export function intersectionArea(a: Box, b: Box): number {
  const w = Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0);
  const h = Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0);
  return w > 0 && h > 0 ? w * h : 0;
}

export function boxWidth(b: Box): number {
  return b.x1 - b.x0;
}

export function boxHeight(b: Box): number {
  return b.y1 - b.y0;
}
