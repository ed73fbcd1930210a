// buildViews: for one sample (image + box(es)) the student's full view, the teacher's positive
// crop and the negative view, from a single decode of the image.
import sharp from 'sharp';
import { InvalidInputError, Rng, deriveSeed } from '@vzero/core';
import type { Box, BoxFormat } from '@vzero/core';
import { checkBox, toPixelBox, unionBox } from './box.js';
import type { BoxInput, BoxOutsidePolicy, ImageSize } from './box.js';
import type { ViewCache } from './cache.js';
import { imageIdentity, isDecodedImage, loadImage } from './image.js';
import type { DecodedImage, ImageInput } from './image.js';
import { cropRegion, sampleAnywhere, sampleOutsideRegion } from './region.js';
import type { UnavailableReason } from './region.js';
import { resolveViewSpec } from './spec.js';
import type { NegativeViewMode, ViewSpec } from './spec.js';
import { makeView } from './view.js';
import type { View } from './view.js';

/** A negative view z- that was produced: its image and how it was made. */
export interface NegativeViewImage extends View {
  readonly ok: true;
  /** The mode that produced it (the fallback mode when the requested one was unavailable). */
  readonly mode: NegativeViewMode;
  /** The mode the spec asked for. */
  readonly requestedMode: NegativeViewMode;
  /** Source-image pixels the negative shows; absent for 'blank' and 'noise'. */
  readonly sourceBox?: Box;
  /** 'outside-downsampled' and 'outside-crop': the sampled region (in the downsampled image's pixels). */
  readonly sampledBox?: Box;
}

/** The requested negative could not be produced (and no fallback was set, or it failed too). */
export interface NegativeViewUnavailable {
  readonly ok: false;
  readonly mode: NegativeViewMode;
  readonly requestedMode: NegativeViewMode;
  readonly reason: UnavailableReason;
  readonly detail: string;
}

/** The negative view z- of a sample: the image, or why it could not be made. */
export type NegativeViewResult = NegativeViewImage | NegativeViewUnavailable;
/** @deprecated Renamed NegativeViewImage. */
export type NegativeView = NegativeViewImage;
/** @deprecated Renamed NegativeViewUnavailable. */
export type NegativeUnavailable = NegativeViewUnavailable;
/** @deprecated Renamed NegativeViewResult. */
export type NegativeResult = NegativeViewResult;

export interface SampleViews {
  /** The whole image at spec.size x spec.size: what the student sees. */
  readonly full: View;
  /** The positive crop z+ at cropSize (a random crop in 'random-positive' mode). */
  readonly positive: View;
  /** The negative view z-, or why there is none. */
  readonly negative: NegativeViewResult;
  /** Source-image pixel region actually cropped for `positive` (integer). */
  readonly positiveBox: Box;
  /** Source-image pixels shown by the negative, when it shows part of the image. */
  readonly negativeBox?: Box;
  /** The target: union of the given boxes, in source pixels. */
  readonly targetBox: Box;
  /** The crop region around the target (equals positiveBox except in 'random-positive'). */
  readonly targetCrop: Box;
  readonly imageSize: ImageSize;
  readonly spec: ViewSpec;
  /** The key per-sample randomness was derived from (with spec.seed). */
  readonly sampleKey: string;
}

export interface BuildOptions {
  /** How the box numbers are to be read; default 'pixel'. */
  readonly boxFormat?: BoxFormat;
  /** Stable sample key (e.g. the sample id) for seeding; default: image identity + boxes. */
  readonly key?: string;
  /** Cache of built views; inputs without a cheap identity (sharp instances) bypass it. */
  readonly cache?: ViewCache<SampleViews>;
  /** Pixel limit for decoding (default DEFAULT_MAX_PIXELS). */
  readonly maxPixels?: number;
  /** A box sticking out of the image fails ('error', default) or is clipped ('clip'). */
  readonly boxOutside?: BoxOutsidePolicy;
}

/**
 * Builds the full, positive and negative views of one sample. Several boxes (e.g. the two
 * objects of a spatial question) are merged into their union. Same spec, seed and sample key
 * give byte-identical views regardless of call order.
 */
export async function buildViews(
  image: ImageInput,
  boxes: BoxInput | readonly BoxInput[],
  spec: Partial<ViewSpec> = {},
  options: BuildOptions = {},
): Promise<SampleViews> {
  const s = resolveViewSpec(spec);
  const boxList = normaliseBoxList(boxes);
  const format = options.boxFormat ?? 'pixel';
  const policy = options.boxOutside ?? 'error';
  if (options.key !== undefined && (typeof options.key !== 'string' || options.key === '')) {
    throw new InvalidInputError('key', options.key, 'expected a non-empty string');
  }
  const identity = await imageIdentity(image);
  const cacheKey =
    options.cache && identity.cacheKey !== undefined
      ? [
          identity.cacheKey,
          options.key ?? '',
          format,
          policy,
          JSON.stringify(boxList),
          JSON.stringify(s),
        ].join('|')
      : undefined;
  if (cacheKey !== undefined) {
    const hit = options.cache?.get(cacheKey);
    if (hit) return hit;
  }
  const decoded = isDecodedImage(image)
    ? image
    : await loadImage(image, {
        background: s.background,
        ...(options.maxPixels !== undefined ? { maxPixels: options.maxPixels } : {}),
      });
  const size = { width: decoded.width, height: decoded.height };
  const pixelBoxes = boxList.map((b, i) =>
    checkBox(
      toPixelBox(b, format, size.width, size.height),
      size,
      isBoxArray(boxes) ? `boxes[${i}]` : 'box',
      policy,
    ),
  );
  const target = unionBox(pixelBoxes);
  const sampleKey = options.key ?? `${decoded.identity.seedKey}|${JSON.stringify(pixelBoxes)}`;
  const base = new Rng(deriveSeed(s.seed, sampleKey));

  const targetCrop = cropRegion(target, size, s);
  const cropSize = { width: targetCrop.x1 - targetCrop.x0, height: targetCrop.y1 - targetCrop.y0 };
  const positiveBox =
    s.negative === 'random-positive' ? sampleAnywhere(size, cropSize, base.child('positive')) : targetCrop;
  const out = s.cropSize === 'native' ? cropSize : { width: s.cropSize, height: s.cropSize };

  const [full, positive, negative] = await Promise.all([
    regionView(
      decoded,
      { x0: 0, y0: 0, x1: size.width, y1: size.height },
      { width: s.size, height: s.size },
      s,
    ),
    regionView(decoded, positiveBox, out, s),
    negativeWithFallback(decoded, target, positiveBox, out, s, base),
  ]);
  const result: SampleViews = {
    full,
    positive,
    negative,
    positiveBox,
    ...(negative.ok && negative.sourceBox ? { negativeBox: negative.sourceBox } : {}),
    targetBox: target,
    targetCrop,
    imageSize: size,
    spec: s,
    sampleKey,
  };
  if (cacheKey !== undefined) options.cache?.set(cacheKey, result);
  return result;
}

function isBoxArray(boxes: BoxInput | readonly BoxInput[]): boxes is readonly BoxInput[] {
  return Array.isArray(boxes) && boxes.length > 0 && typeof boxes[0] === 'object' && boxes[0] !== null;
}

function normaliseBoxList(boxes: BoxInput | readonly BoxInput[]): readonly BoxInput[] {
  if (isBoxArray(boxes)) return boxes;
  if (Array.isArray(boxes) && boxes.length === 0) {
    throw new InvalidInputError('boxes', boxes, 'expected at least one box');
  }
  return [boxes as BoxInput];
}

async function negativeWithFallback(
  image: DecodedImage,
  target: Box,
  positiveBox: Box,
  out: ImageSize,
  s: ViewSpec,
  base: Rng,
): Promise<NegativeViewResult> {
  const first = await makeNegative(s.negative, s.negative, image, target, positiveBox, out, s, base);
  if (first.ok) return first;
  for (const mode of fallbackModes(s)) {
    const next = await makeNegative(mode, s.negative, image, target, positiveBox, out, s, base);
    if (next.ok) return next;
  }
  return first;
}

/** The spec's fallback modes in the order they are tried (the requested mode is not retried). */
function fallbackModes(s: ViewSpec): readonly NegativeViewMode[] {
  const list: readonly (NegativeViewMode | 'none')[] = Array.isArray(s.fallback) ? s.fallback : [s.fallback];
  return list.filter((m): m is NegativeViewMode => m !== 'none' && m !== s.negative);
}

/** One negative view; each mode draws from its own stream so modes do not disturb each other. */
async function makeNegative(
  mode: NegativeViewMode,
  requestedMode: NegativeViewMode,
  image: DecodedImage,
  target: Box,
  positiveBox: Box,
  out: ImageSize,
  s: ViewSpec,
  base: Rng,
): Promise<NegativeViewResult> {
  const rng = base.child(`negative:${mode}`);
  const size = { width: image.width, height: image.height };
  const crop = { width: positiveBox.x1 - positiveBox.x0, height: positiveBox.y1 - positiveBox.y0 };
  const done = (view: View, extra: { sourceBox?: Box; sampledBox?: Box } = {}): NegativeViewImage => ({
    ...view,
    ok: true,
    mode,
    requestedMode,
    ...extra,
  });
  switch (mode) {
    case 'outside-downsampled': {
      const r = sampleOutsideRegion(size, target, crop, s.factor, s.margin, rng);
      if (!r.ok) return { ok: false, mode, requestedMode, reason: r.reason, detail: r.detail };
      // The region is produced by resizing only its own source pixels, so no pixel of the
      // target contributes to it (a whole-image resize would bleed kernel taps across edges).
      const low = await resizeRaw(image, r.source, crop, s);
      return done(await resizeView(low, crop, out, s), { sourceBox: r.source, sampledBox: r.sampled });
    }
    case 'outside-crop': {
      // The paper's rule at full resolution (factor 1): a region of the crop's size that does
      // not intersect the target box. It fits where the downsampled one cannot, because it
      // spans half as much of the scene per side.
      const r = sampleOutsideRegion(size, target, crop, 1, s.margin, rng);
      if (!r.ok) return { ok: false, mode, requestedMode, reason: r.reason, detail: r.detail };
      return done(await regionView(image, r.source, out, s), { sourceBox: r.source, sampledBox: r.sampled });
    }
    case 'downsample-crop': {
      const lowSize = {
        width: Math.max(1, Math.round(crop.width / s.factor)),
        height: Math.max(1, Math.round(crop.height / s.factor)),
      };
      const low = await resizeRaw(image, positiveBox, lowSize, s);
      const back = await resizeBytes(low, lowSize, crop, s);
      return done(await resizeView(back, crop, out, s), { sourceBox: positiveBox });
    }
    case 'random-crop':
    case 'random-positive': {
      const region = sampleAnywhere(size, crop, rng);
      return done(await regionView(image, region, out, s), { sourceBox: region });
    }
    case 'blank': {
      const rgb = new Uint8Array(out.width * out.height * 3);
      for (let i = 0; i < rgb.length; i += 3) rgb.set(s.background, i);
      return done(makeView(rgb, out.width, out.height));
    }
    case 'noise': {
      const rgb = new Uint8Array(out.width * out.height * 3);
      for (let i = 0; i < rgb.length; i += 4) {
        let word = rng.nextUint32();
        for (let j = i; j < Math.min(i + 4, rgb.length); j++) {
          rgb[j] = word & 0xff;
          word >>>= 8;
        }
      }
      return done(makeView(rgb, out.width, out.height));
    }
  }
}

/** A region of the decoded image resized to `out`, as a View. */
async function regionView(image: DecodedImage, region: Box, out: ImageSize, s: ViewSpec): Promise<View> {
  return makeView(await resizeRaw(image, region, out, s), out.width, out.height);
}

async function resizeView(rgb: Uint8Array, from: ImageSize, out: ImageSize, s: ViewSpec): Promise<View> {
  return makeView(await resizeBytes(rgb, from, out, s), out.width, out.height);
}

/** Extract `region` of the decoded image and resize it to `out` with one sharp pipeline. */
async function resizeRaw(image: DecodedImage, region: Box, out: ImageSize, s: ViewSpec): Promise<Uint8Array> {
  const w = region.x1 - region.x0;
  const h = region.y1 - region.y0;
  let pipeline = sharp(image.rgb, { raw: { width: image.width, height: image.height, channels: 3 } });
  if (w !== image.width || h !== image.height) {
    pipeline = pipeline.extract({ left: region.x0, top: region.y0, width: w, height: h });
  }
  if (w !== out.width || h !== out.height) pipeline = pipeline.resize(resizeOptions(out, s));
  return toBytes(await pipeline.raw().toBuffer());
}

async function resizeBytes(
  rgb: Uint8Array,
  from: ImageSize,
  out: ImageSize,
  s: ViewSpec,
): Promise<Uint8Array> {
  if (from.width === out.width && from.height === out.height) return rgb;
  const buf = await sharp(rgb, { raw: { width: from.width, height: from.height, channels: 3 } })
    .resize(resizeOptions(out, s))
    .raw()
    .toBuffer();
  return toBytes(buf);
}

function resizeOptions(out: ImageSize, s: ViewSpec): sharp.ResizeOptions {
  const [r, g, b] = s.background;
  return { width: out.width, height: out.height, fit: s.fit, kernel: s.kernel, background: { r, g, b } };
}

function toBytes(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
