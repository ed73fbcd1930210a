// Qwen-VL image arithmetic: the size an image is resized to before the vision encoder, and the
// number of tokens it then occupies in the language model.
//
// smartResize is transformers' `smart_resize` (models/qwen2_vl/image_processing_qwen2_vl.py,
// the function Qwen3-VL's image processor uses, in its 5.x form without the old
// "side < factor" refusal), operation for operation in float64 so that every rounding matches:
//   if max(h, w) / min(h, w) > 200: error
//   h_bar = round(h / factor) * factor;  w_bar = round(w / factor) * factor   (Python's round:
//                                                                              halves to even)
//   if h_bar * w_bar > max_pixels:  beta = sqrt(h * w / max_pixels)
//       h_bar = max(factor, floor(h / beta / factor) * factor)   (w likewise)
//   elif h_bar * w_bar < min_pixels: beta = sqrt(min_pixels / (h * w))
//       h_bar = ceil(h * beta / factor) * factor                 (w likewise)
// and the processor's `get_number_of_image_patches` is (h_bar / patch) * (w_bar / patch), of
// which the language model sees one token per merge x merge block (tinker-cookbook's
// image_to_chunk divides by merge_size ** 2).
//
// Qwen3-VL's constants (preprocessor_config.json; tinker-cookbook's image_token_count_test.py
// checks the processor against them): patch 16, merge 2 (so factor 32), min_pixels 65536
// (size.shortest_edge), max_pixels 16777216 (size.longest_edge).
import { InvalidInputError } from '@vzero/core';

export interface QwenVisionConfig {
  /** Side of a vision patch in pixels. */
  readonly patchSize: number;
  /** Patches merged per side into one language-model token. */
  readonly mergeSize: number;
  /** Fewest pixels after resizing (smaller images are scaled up). */
  readonly minPixels: number;
  /** Most pixels after resizing (larger images are scaled down). */
  readonly maxPixels: number;
}

/** Qwen3-VL's image processor defaults. */
export const QWEN3_VL_VISION: QwenVisionConfig = Object.freeze({
  patchSize: 16,
  mergeSize: 2,
  minPixels: 65536,
  maxPixels: 16777216,
});

/** Largest ratio of the longer side to the shorter one that the processor accepts. */
export const MAX_ASPECT_RATIO = 200;

/** Python's `round` on a float: to the nearest integer, halves to the even one. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

export interface ResizedSize {
  readonly height: number;
  readonly width: number;
}

/** transformers' smart_resize (see the file comment): the size the processor resizes to. */
export function smartResize(
  height: number,
  width: number,
  factor: number,
  minPixels: number,
  maxPixels: number,
  field = 'image',
): ResizedSize {
  for (const [name, value] of [
    ['height', height],
    ['width', width],
    ['factor', factor],
    ['minPixels', minPixels],
    ['maxPixels', maxPixels],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new InvalidInputError(name, value, 'expected a positive integer');
    }
  }
  if (minPixels > maxPixels) {
    throw new InvalidInputError('minPixels', minPixels, `expected at most maxPixels (${maxPixels})`);
  }
  const ratio = Math.max(height, width) / Math.min(height, width);
  if (ratio > MAX_ASPECT_RATIO) {
    throw new InvalidInputError(
      field,
      `${width}x${height}`,
      `aspect ratio ${ratio.toFixed(1)} exceeds the processor's limit of ${MAX_ASPECT_RATIO}`,
    );
  }
  let hBar = roundHalfEven(height / factor) * factor;
  let wBar = roundHalfEven(width / factor) * factor;
  if (hBar * wBar > maxPixels) {
    const beta = Math.sqrt((height * width) / maxPixels);
    hBar = Math.max(factor, Math.floor(height / beta / factor) * factor);
    wBar = Math.max(factor, Math.floor(width / beta / factor) * factor);
  } else if (hBar * wBar < minPixels) {
    const beta = Math.sqrt(minPixels / (height * width));
    hBar = Math.ceil((height * beta) / factor) * factor;
    wBar = Math.ceil((width * beta) / factor) * factor;
  }
  return { height: hBar, width: wBar };
}

export interface ImageTokenInfo {
  /** The size the processor resizes the image to. */
  readonly resized: ResizedSize;
  /** Patch grid of the resized image. */
  readonly gridHeight: number;
  readonly gridWidth: number;
  /** Positions the image occupies in the language model: grid cells / mergeSize^2. */
  readonly tokens: number;
}

/** Resized size, patch grid and language-model tokens of a `width` x `height` image. */
export function qwenImageTokens(
  width: number,
  height: number,
  config: QwenVisionConfig = QWEN3_VL_VISION,
  field = 'image',
): ImageTokenInfo {
  const factor = config.patchSize * config.mergeSize;
  const resized = smartResize(height, width, factor, config.minPixels, config.maxPixels, field);
  const gridHeight = resized.height / config.patchSize;
  const gridWidth = resized.width / config.patchSize;
  return { resized, gridHeight, gridWidth, tokens: (gridHeight * gridWidth) / config.mergeSize ** 2 };
}

/** Checks a hand-made vision config (positive integers, minPixels <= maxPixels). */
export function validateVisionConfig(config: QwenVisionConfig, where = 'vision'): void {
  for (const key of ['patchSize', 'mergeSize', 'minPixels', 'maxPixels'] as const) {
    const v = config[key];
    if (!Number.isSafeInteger(v) || v < 1) {
      throw new InvalidInputError(`${where}.${key}`, v, 'expected a positive integer');
    }
  }
  if (config.minPixels > config.maxPixels) {
    throw new InvalidInputError(
      `${where}.minPixels`,
      config.minPixels,
      `expected at most ${where}.maxPixels (${config.maxPixels})`,
    );
  }
}
