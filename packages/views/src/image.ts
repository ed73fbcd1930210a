// Image input: decode once to raw 8-bit RGB (the one expensive step for a 12-megapixel image);
// every view is then cut from that buffer. Identity keys for the cache and the seed come from
// the file (path, mtime, size) or a content hash, without decoding.
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import sharp from 'sharp';
import type { Sharp } from 'sharp';
import { InvalidInputError } from '@vzero/core';
import type { ImageSource } from '@vzero/core';

/** Anything that holds an image: a path, encoded bytes, a sharp instance, or core's ImageSource. */
export type ImageInput = string | Uint8Array | Sharp | ImageSource | DecodedImage;

/** Default pixel limit (width x height) for decoding: 2^26, about 8192 x 8192. */
export const DEFAULT_MAX_PIXELS = 2 ** 26;

export interface ImageIdentity {
  /** Key for caches: changes when the image changes; undefined when it cannot be known cheaply. */
  readonly cacheKey: string | undefined;
  /** Key that seeds per-sample randomness: the path as given, or a content hash. */
  readonly seedKey: string;
}

/** A decoded image: raw 8-bit RGB, row-major, channels last. Reuse it for several samples. */
export interface DecodedImage {
  readonly kind: 'decoded-image';
  readonly width: number;
  readonly height: number;
  readonly rgb: Uint8Array;
  readonly identity: ImageIdentity;
}

export interface LoadOptions {
  /** Largest accepted width x height; larger images fail before decoding. */
  readonly maxPixels?: number;
}

export function isDecodedImage(input: unknown): input is DecodedImage {
  return (
    input !== null && typeof input === 'object' && (input as { kind?: unknown }).kind === 'decoded-image'
  );
}

function isSharp(input: unknown): input is Sharp {
  return input instanceof sharp;
}

/** Identity of an input without decoding it (files are stat'ed, bytes hashed). */
export async function imageIdentity(input: ImageInput): Promise<ImageIdentity> {
  if (isDecodedImage(input)) return input.identity;
  if (isSharp(input)) return { cacheKey: undefined, seedKey: 'sharp-instance' };
  const path = pathOf(input);
  if (path !== undefined) {
    const info = await statFile(path);
    return {
      cacheKey: `file:${resolve(path)}:${info.mtimeMs}:${info.size}`,
      seedKey: `file:${path}`,
    };
  }
  const bytes = bytesOf(input);
  const hash = `sha1:${createHash('sha1').update(bytes).digest('hex')}`;
  return { cacheKey: hash, seedKey: hash };
}

function pathOf(input: ImageInput): string | undefined {
  if (typeof input === 'string') return input;
  if (input instanceof Uint8Array) return undefined;
  if (input !== null && typeof input === 'object' && 'path' in input) {
    const p: unknown = input.path;
    if (typeof p !== 'string' || p === '')
      throw new InvalidInputError('image.path', p, 'expected a file path');
    return p;
  }
  return undefined;
}

function bytesOf(input: ImageInput): Uint8Array {
  if (input instanceof Uint8Array) return input;
  if (input !== null && typeof input === 'object' && 'bytes' in input && input.bytes instanceof Uint8Array) {
    return input.bytes;
  }
  throw new InvalidInputError(
    'image',
    describeInput(input),
    'expected a path, bytes, a sharp instance, {path} or {bytes}',
  );
}

async function statFile(path: string): Promise<{ mtimeMs: number; size: number }> {
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new InvalidInputError('image.path', path, 'not a file');
    return s;
  } catch (error) {
    if (error instanceof InvalidInputError) throw error;
    throw new InvalidInputError('image.path', path, `cannot read: ${(error as Error).message}`);
  }
}

function describeInput(input: unknown): string {
  if (input instanceof Uint8Array) return `<${input.length} bytes>`;
  if (typeof input === 'string') return input;
  if (isSharp(input)) return '<sharp instance>';
  return Object.prototype.toString.call(input);
}

/**
 * Decodes an image to raw RGB. Alpha is flattened onto `background`, grey and CMYK images are
 * converted to sRGB; EXIF orientation is NOT applied (boxes refer to the stored pixel grid, as
 * with PIL's Image.open). Fails with InvalidInputError('image', ...) for unreadable, corrupt
 * or unsupported data and for images beyond `maxPixels` (checked from the header, and also
 * passed to sharp as limitInputPixels).
 */
export async function loadImage(
  input: ImageInput,
  options: LoadOptions & { readonly background?: readonly [number, number, number] } = {},
): Promise<DecodedImage> {
  if (isDecodedImage(input)) return input;
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (!Number.isInteger(maxPixels) || maxPixels < 1) {
    throw new InvalidInputError('maxPixels', maxPixels, 'expected a positive integer');
  }
  const identity = await imageIdentity(input);
  const [r, g, b] = options.background ?? [128, 128, 128];
  let pipeline: Sharp;
  let header: Sharp;
  let what: string;
  if (isSharp(input)) {
    pipeline = input.clone();
    header = pipeline;
    what = '<sharp instance>';
  } else {
    const path = pathOf(input);
    const src = path ?? bytesOf(input);
    what = path ?? describeInput(src);
    // The header is read without a limit so the error can give the size; decoding keeps
    // sharp's own limit as a second guard.
    header = sharp(src, { limitInputPixels: false });
    pipeline = sharp(src, { limitInputPixels: maxPixels });
  }
  try {
    const meta = await header.metadata();
    const pixels = (meta.width ?? 0) * (meta.height ?? 0);
    if (pixels > maxPixels) {
      throw new InvalidInputError(
        'image',
        what,
        `${meta.width}x${meta.height} = ${pixels} pixels exceeds the pixel limit of ${maxPixels}`,
      );
    }
    // Plain 3-channel sRGB input (the common case) needs no conversion pass.
    if (meta.hasAlpha) pipeline = pipeline.flatten({ background: { r, g, b } });
    if (meta.space !== 'srgb' || meta.channels !== 3 || meta.hasAlpha) {
      pipeline = pipeline.toColourspace('srgb').removeAlpha();
    }
    const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) {
      throw new InvalidInputError('image', what, `decoded to ${info.channels} channels, expected 3`);
    }
    if (info.width * info.height > maxPixels) {
      throw new InvalidInputError(
        'image',
        what,
        `${info.width}x${info.height} exceeds the pixel limit of ${maxPixels}`,
      );
    }
    const seedKey =
      identity.seedKey === 'sharp-instance'
        ? `sha1:${createHash('sha1').update(data).digest('hex')}`
        : identity.seedKey;
    return {
      kind: 'decoded-image',
      width: info.width,
      height: info.height,
      rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      identity: { cacheKey: identity.cacheKey, seedKey },
    };
  } catch (error) {
    if (error instanceof InvalidInputError) throw error;
    const message = (error as Error).message;
    const reason = /pixel limit/i.test(message)
      ? `exceeds the pixel limit of ${maxPixels} (${message})`
      : `cannot decode: ${message}`;
    throw new InvalidInputError('image', what, reason);
  }
}
