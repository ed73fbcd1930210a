import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '@vzero/core';
import {
  MAX_ASPECT_RATIO,
  QWEN3_VL_VISION,
  qwenImageTokens,
  roundHalfEven,
  smartResize,
} from '../src/index.js';
import { PYTHON_SMART_RESIZE } from './smart-resize-reference.js';

const F = 32; // patch 16 x merge 2
const MIN = 65536;
const MAX = 16777216;

describe('roundHalfEven (Python round)', () => {
  it('rounds halves to the even neighbour and everything else to the nearest', () => {
    expect([0.5, 1.5, 2.5, 3.5, 12.5, 22.5].map(roundHalfEven)).toEqual([0, 2, 2, 4, 12, 22]);
    expect([0.49, 0.51, 4.6875, 7, 15.000001].map(roundHalfEven)).toEqual([0, 1, 5, 7, 15]);
  });
});

describe('smartResize / qwenImageTokens: golden values', () => {
  // (width, height) -> resized (width, height) -> tokens = (h'/16) * (w'/16) / 4, each derived
  // by hand from the formula in src/smart-resize.ts (and checked against the Python function).
  const cases: [number, number, number, number, number, string][] = [
    // tinker-cookbook renderers/image_token_count_test.py: (224, 224) -> 64, (150, 224) -> 70,
    // (224, 150) -> 70, (400, 300) -> 108.
    // 224x224: round(7)*32 = 224, 224^2 = 50176 < 65536, beta = sqrt(65536/50176) = 8/7,
    // ceil(224*8/7/32) = 8 -> 256x256 -> 16*16/4 = 64.
    [224, 224, 256, 256, 64, 'cookbook: scaled up to min_pixels'],
    // w 150: round(4.6875)*32 = 160; 224*160 = 35840 < 65536, beta = sqrt(65536/33600) = 1.39659;
    // h = ceil(312.84/32 = 9.78)*32 = 320, w = ceil(209.49/32 = 6.55)*32 = 224 -> 20*14/4 = 70.
    [150, 224, 224, 320, 70, 'cookbook issue 181 (35 with the old min_pixels 3136)'],
    [224, 150, 320, 224, 70, 'cookbook, transposed'],
    // h 300: round(9.375) = 9 -> 288; w 400: round(12.5) = 12 (half to even, not 13) -> 384;
    // 288*384 = 110592 in range -> 18*24/4 = 108 (Math.round would give 117).
    [400, 300, 384, 288, 108, 'cookbook: a half rounds to even'],
    // 640x480: 20 and 15 exactly -> unchanged, 307200 in range -> 30*40/4 = 300.
    [640, 480, 640, 480, 300, 'multiples of 32 pass unchanged'],
    // 1280x720: 720/32 = 22.5 -> 22 (even) -> 704; 1280 -> 1280 -> 44*80/4 = 880.
    [1280, 720, 1280, 704, 880, '720p: a half rounds down to even'],
    // 160x120 (a crop): 5 -> 160, round(3.75) = 4 -> 128; 20480 < 65536,
    // beta = sqrt(65536/19200) = 1.84752; h = ceil(221.70/32 = 6.93) = 7 -> 224,
    // w = ceil(295.60/32 = 9.24) = 10 -> 320 -> 14*20/4 = 70.
    [160, 120, 320, 224, 70, 'small crop scaled up'],
    // 96x64: 6144 < 65536, beta = sqrt(65536/6144) = 3.26599; h = ceil(6.53) = 7 -> 224,
    // w = ceil(9.80) = 10 -> 320 -> 70.
    [96, 64, 320, 224, 70, 'tiny crop scaled up'],
    // 20x20: round(0.625) = 1 -> 32; 1024 < 65536, beta = sqrt(65536/400) = 12.8;
    // ceil(256/32) = 8 -> 256x256 -> 64 (no "side < factor" refusal, as transformers 5.x).
    [20, 20, 256, 256, 64, 'a side smaller than the factor'],
    // 5000x4000: h 125 -> 4000, w round(156.25) = 156 -> 4992; 19968000 > 16777216,
    // beta = sqrt(20000000/16777216) = 1.091836; h = floor(3663.55/32 = 114.49) = 114 -> 3648,
    // w = floor(4579.44/32 = 143.11) = 143 -> 4576 -> 228*286/4 = 16302.
    [5000, 4000, 4576, 3648, 16302, 'scaled down to max_pixels'],
    // 4000x20, aspect exactly 200 (allowed): h round(0.625) = 1 -> 32, w 125 -> 4000;
    // 128000 in range -> 2*250/4 = 125.
    [4000, 20, 4000, 32, 125, 'aspect ratio at the limit'],
  ];
  for (const [w, h, rw, rh, tokens, what] of cases) {
    it(`${w}x${h} -> ${rw}x${rh} -> ${tokens} tokens (${what})`, () => {
      expect(smartResize(h, w, F, MIN, MAX)).toEqual({ height: rh, width: rw });
      const info = qwenImageTokens(w, h);
      expect(info).toEqual({
        resized: { height: rh, width: rw },
        gridHeight: rh / 16,
        gridWidth: rw / 16,
        tokens,
      });
    });
  }

  it('uses Qwen3-VL constants by default', () => {
    expect(QWEN3_VL_VISION).toEqual({ patchSize: 16, mergeSize: 2, minPixels: 65536, maxPixels: 16777216 });
    // Qwen2-VL's processor (patch 14, factor 28, 3136..1003520): 640x480 -> 644x476 ->
    // 46*34/4 = 391 (a different family, to show the config is honoured).
    expect(
      qwenImageTokens(640, 480, { patchSize: 14, mergeSize: 2, minPixels: 3136, maxPixels: 1003520 }).tokens,
    ).toBe(391);
  });
});

describe('smartResize against the Python function', () => {
  it(`reproduces all ${PYTHON_SMART_RESIZE.length} recorded sizes (Python's rounding and float64 included)`, () => {
    const wrong = PYTHON_SMART_RESIZE.filter(([w, h, rw, rh]) => {
      const r = smartResize(h, w, F, MIN, MAX);
      return r.width !== rw || r.height !== rh;
    });
    expect(wrong).toEqual([]);
    // The sample reaches every branch: scaled up, unchanged, scaled down, and halves.
    expect(PYTHON_SMART_RESIZE.some(([w, h, rw, rh]) => rw * rh > w * h * 1.5)).toBe(true);
    expect(PYTHON_SMART_RESIZE.some(([w, h, rw, rh]) => rw * rh < w * h * 0.5)).toBe(true);
    expect(PYTHON_SMART_RESIZE.some(([w, h]) => w % 32 === 16 && w * h > MIN && w * h < MAX)).toBe(true);
  });
});

describe('smartResize: errors', () => {
  it('refuses an aspect ratio over 200 and non-positive sizes, naming the field', () => {
    expect(() => smartResize(20, 4001, F, MIN, MAX, 'prompt.images[0]')).toThrow(InvalidInputError);
    expect(() => smartResize(20, 4001, F, MIN, MAX, 'prompt.images[0]')).toThrow(
      /prompt\.images\[0\] = "4001x20": aspect ratio 200\.1 exceeds the processor's limit of 200/,
    );
    expect(() => smartResize(0, 10, F, MIN, MAX)).toThrow(/height = 0: expected a positive integer/);
    expect(() => smartResize(10, 2.5, F, MIN, MAX)).toThrow(/width = 2\.5: expected a positive integer/);
    expect(() => smartResize(10, 10, F, MAX, MIN)).toThrow(
      /minPixels = 16777216: expected at most maxPixels/,
    );
  });
});

describe('smartResize: properties (Qwen3-VL defaults)', () => {
  // Any size whose aspect ratio the processor accepts.
  const size = fc
    .tuple(fc.integer({ min: 1, max: 12000 }), fc.integer({ min: 1, max: 12000 }))
    .filter(([h, w]) => Math.max(h, w) / Math.min(h, w) <= MAX_ASPECT_RATIO);

  it('gives positive multiples of 32 whose pixels lie in [min_pixels, max_pixels]', () => {
    fc.assert(
      fc.property(size, ([h, w]) => {
        const r = smartResize(h, w, F, MIN, MAX);
        expect(r.height % F).toBe(0);
        expect(r.width % F).toBe(0);
        expect(r.height).toBeGreaterThanOrEqual(F);
        expect(r.width).toBeGreaterThanOrEqual(F);
        expect(r.height * r.width).toBeGreaterThanOrEqual(MIN);
        expect(r.height * r.width).toBeLessThanOrEqual(MAX);
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps each side within one factor of the side scaled by the common factor (so the aspect ratio)', () => {
    fc.assert(
      fc.property(size, ([h, w]) => {
        const r = smartResize(h, w, F, MIN, MAX);
        // The scale the formula applies to both sides: 1, sqrt(min/hw) or 1/sqrt(hw/max).
        const hBar = roundHalfEven(h / F) * F;
        const wBar = roundHalfEven(w / F) * F;
        const scale =
          hBar * wBar > MAX ? Math.sqrt(MAX / (h * w)) : hBar * wBar < MIN ? Math.sqrt(MIN / (h * w)) : 1;
        expect(Math.abs(r.height - h * scale)).toBeLessThanOrEqual(F);
        expect(Math.abs(r.width - w * scale)).toBeLessThanOrEqual(F);
        // With both scaled sides at least 10 factors long, the ratio is within ~20% of the original.
        if (h * scale >= 10 * F && w * scale >= 10 * F) {
          expect(Math.abs(Math.log(r.width / r.height) - Math.log(w / h))).toBeLessThan(0.21);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('leaves a size that is already in range and a multiple of 32 unchanged, and counts whole tokens', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 128 }), fc.integer({ min: 1, max: 128 }), (a, b) => {
        fc.pre(a * b * F * F >= MIN && a * b * F * F <= MAX && Math.max(a, b) / Math.min(a, b) <= 200);
        expect(smartResize(a * F, b * F, F, MIN, MAX)).toEqual({ height: a * F, width: b * F });
        expect(qwenImageTokens(b * F, a * F).tokens).toBe(a * b);
      }),
    );
  });

  it('is symmetric: transposing the image transposes the result', () => {
    fc.assert(
      fc.property(size, ([h, w]) => {
        const r = smartResize(h, w, F, MIN, MAX);
        expect(smartResize(w, h, F, MIN, MAX)).toEqual({ height: r.width, width: r.height });
      }),
      { numRuns: 1000 },
    );
  });
});
