// A view is the RGB bytes of one model input, with its float pixels (core's ImagePixels) and a
// content id computed once; the PNG encoding is made on first request and then kept.
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { InvalidInputError, ShapeMismatchError } from '@vzero/core';
import type { ImagePixels, ImageRole, PromptImage } from '@vzero/core';

export interface View {
  readonly width: number;
  readonly height: number;
  /** 8-bit RGB, row-major, channels last (width * height * 3 bytes). */
  readonly rgb: Uint8Array;
  /** The same pixels as floats in [0, 1] (value / 255), HWC, 3 channels. */
  readonly pixels: ImagePixels;
  /** Content id: equal ids mean equal pixels (for sharing encoded prompt prefixes). */
  readonly id: string;
  /** PNG encoding (deterministic for a given sharp/libvips version); computed once. */
  png(): Promise<Uint8Array>;
}

/** Wraps raw RGB bytes as a View. */
export function makeView(rgb: Uint8Array, width: number, height: number): View {
  if (rgb.length !== width * height * 3) {
    throw new ShapeMismatchError(
      'rgb',
      `${width}x${height}x3 = ${width * height * 3} bytes`,
      `${rgb.length}`,
    );
  }
  const pixels = rgbToPixels(rgb, width, height);
  const id = createHash('sha1').update(`${width}x${height}:`).update(rgb).digest('hex').slice(0, 20);
  let png: Promise<Uint8Array> | undefined;
  return {
    width,
    height,
    rgb,
    pixels,
    id,
    png: () => (png ??= encodeRgbPng(rgb, width, height)),
  };
}

/** 8-bit RGB -> ImagePixels (value / 255). */
export function rgbToPixels(rgb: Uint8Array, width: number, height: number): ImagePixels {
  const data = new Float32Array(rgb.length);
  for (let i = 0; i < rgb.length; i++) data[i] = (rgb[i] as number) / 255;
  return { width, height, channels: 3, data };
}

/** ImagePixels (values in [0, 1], 1 or 3 channels) -> 8-bit RGB, rounding to the nearest level. */
export function pixelsToRgb(pixels: ImagePixels): Uint8Array {
  checkPixels(pixels, 'pixels');
  const { width, height, channels, data } = pixels;
  const out = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    for (let c = 0; c < 3; c++) {
      const v = data[p * channels + (channels === 1 ? 0 : c)] as number;
      out[p * 3 + c] = Math.round(Math.min(1, Math.max(0, v)) * 255);
    }
  }
  return out;
}

/** PNG bytes of ImagePixels. */
export function encodePng(pixels: ImagePixels): Promise<Uint8Array> {
  return encodeRgbPng(pixelsToRgb(pixels), pixels.width, pixels.height);
}

async function encodeRgbPng(rgb: Uint8Array, width: number, height: number): Promise<Uint8Array> {
  const buf = await sharp(rgb, { raw: { width, height, channels: 3 } })
    .png({ compressionLevel: 6, adaptiveFiltering: false })
    .toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Checks that an ImagePixels is well formed; errors name `field`. */
export function checkPixels(pixels: ImagePixels, field: string): void {
  const { width, height, channels, data } = pixels;
  if (!Number.isInteger(width) || width < 1)
    throw new InvalidInputError(`${field}.width`, width, 'expected a positive integer');
  if (!Number.isInteger(height) || height < 1)
    throw new InvalidInputError(`${field}.height`, height, 'expected a positive integer');
  if (channels !== 1 && channels !== 3)
    throw new InvalidInputError(`${field}.channels`, channels, 'expected 1 or 3');
  if (!(data instanceof Float32Array))
    throw new InvalidInputError(`${field}.data`, typeof data, 'expected a Float32Array');
  if (data.length !== width * height * channels) {
    throw new ShapeMismatchError(`${field}.data`, `${width}*${height}*${channels} values`, `${data.length}`);
  }
}

/**
 * A prompt image slot from a view: pixels for local models, PNG bytes for remote ones, or both.
 * The id is the view's content id, so equal full images give equal prompt prefixes.
 */
export async function toPromptImage(
  view: View,
  role: ImageRole,
  include: 'pixels' | 'encoded' | 'both' = 'both',
): Promise<PromptImage> {
  const encoded = include === 'pixels' ? undefined : { bytes: await view.png(), mime: 'image/png' as const };
  return {
    id: view.id,
    role,
    ...(encoded ? { encoded } : {}),
    ...(include === 'encoded' ? {} : { pixels: view.pixels }),
  };
}
