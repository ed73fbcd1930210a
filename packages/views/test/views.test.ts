import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import fc from 'fast-check';
import { InvalidInputError, UnknownKeyError } from '@vzero/core';
import {
  NEGATIVE_VIEW_MODES,
  ViewCache,
  buildViews,
  intersectionArea,
  loadImage,
  toPixelBox,
  toPromptImage,
} from '../src/index.js';
import type { NegativeViewMode, SampleViews } from '../src/index.js';
import { maxRed, pixelAt, testPng, testRgb } from './fixtures.js';

const W = 400;
const H = 300;
const RECT = { x0: 100, y0: 80, x1: 160, y1: 120 };
let png: Buffer;
let dir: string;

beforeAll(async () => {
  png = await testPng(W, H, RECT);
  dir = mkdtempSync(join(tmpdir(), 'vzero-views-'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function isRed([r, g, b]: [number, number, number]): boolean {
  return r === 255 && g === 0 && b === 0;
}

describe('positive crop', () => {
  it('lands exactly on the box at native size', async () => {
    const v = await buildViews(png, RECT, { padding: 0, minSize: 1, cropSize: 'native' });
    expect(v.positiveBox).toEqual(RECT);
    expect([v.positive.width, v.positive.height]).toEqual([60, 40]);
    for (let i = 0; i < v.positive.rgb.length; i += 3) {
      expect([v.positive.rgb[i], v.positive.rgb[i + 1], v.positive.rgb[i + 2]]).toEqual([255, 0, 0]);
    }
  });

  it('keeps the box at the expected place inside a padded crop', async () => {
    const v = await buildViews(png, RECT, { padding: { px: 10 }, minSize: 1, cropSize: 'native' });
    expect(v.positiveBox).toEqual({ x0: 90, y0: 70, x1: 170, y1: 130 });
    const { rgb, width } = v.positive;
    expect(isRed(pixelAt(rgb, width, 9, 9))).toBe(false); // background corner
    expect(isRed(pixelAt(rgb, width, 10, 10))).toBe(true); // first box pixel
    expect(isRed(pixelAt(rgb, width, 69, 49))).toBe(true); // last box pixel
    expect(isRed(pixelAt(rgb, width, 70, 50))).toBe(false);
    // Background pixels carry their source coordinates: (0, 7x mod 256, 5y mod 256).
    expect(pixelAt(rgb, width, 0, 0)).toEqual([0, (90 * 7) % 256, (70 * 5) % 256]);
  });

  it('resizes to cropSize and the full image to size, with float pixels = bytes / 255', async () => {
    const v = await buildViews(png, RECT, { padding: 0, minSize: 1, cropSize: 32, size: 64 });
    expect([v.positive.width, v.positive.height]).toEqual([32, 32]);
    expect(v.positive.pixels).toMatchObject({ width: 32, height: 32, channels: 3 });
    expect(v.positive.pixels.data.length).toBe(32 * 32 * 3);
    // A uniform red region stays red through the resize.
    expect(maxRed(v.positive.rgb)).toBe(255);
    expect(v.positive.pixels.data[0]).toBe(1);
    expect(v.positive.pixels.data[1]).toBe(0);
    expect([v.full.width, v.full.height]).toEqual([64, 64]);
    const data = v.full.pixels.data;
    expect(data.every((x) => x >= 0 && x <= 1)).toBe(true);
    expect(data[5]).toBeCloseTo((v.full.rgb[5] as number) / 255, 7);
  });

  it('letterboxes with contain and keeps the aspect ratio', async () => {
    const v = await buildViews(png, RECT, { fit: 'contain', size: 40, background: [9, 9, 9] });
    // 400x300 into 40x40: 40x30 picture with 5-pixel bars above and below.
    expect(pixelAt(v.full.rgb, 40, 20, 0)).toEqual([9, 9, 9]);
    expect(pixelAt(v.full.rgb, 40, 20, 39)).toEqual([9, 9, 9]);
    expect(pixelAt(v.full.rgb, 40, 20, 20)).not.toEqual([9, 9, 9]);
  });

  it('covers the union of several boxes', async () => {
    const a = { x0: 50, y0: 40, x1: 70, y1: 60 };
    const b = [200, 100, 260, 180] as const;
    const v = await buildViews(png, [a, b], { padding: 0, minSize: 1, cropSize: 'native' });
    expect(v.targetBox).toEqual({ x0: 50, y0: 40, x1: 260, y1: 180 });
    expect(v.positiveBox).toEqual({ x0: 50, y0: 40, x1: 260, y1: 180 });
  });

  it('reads normalised and Qwen 0-1000 boxes', async () => {
    expect(toPixelBox([0.25, 0.5, 0.75, 1], 'normalized', W, H)).toEqual({
      x0: 100,
      y0: 150,
      x1: 300,
      y1: 300,
    });
    expect(toPixelBox({ x0: 250, y0: 500, x1: 750, y1: 1000 }, 'qwen1000', W, H)).toEqual({
      x0: 100,
      y0: 150,
      x1: 300,
      y1: 300,
    });
    expect(toPixelBox([1, 2, 3, 4], 'pixel', W, H)).toEqual({ x0: 1, y0: 2, x1: 3, y1: 4 });
    const spec = { padding: 0, minSize: 1, cropSize: 'native' as const };
    const norm = await buildViews(png, [0.25, 80 / 300, 0.4, 0.4], spec, { boxFormat: 'normalized' });
    const qwen = await buildViews(png, [250, (80 / 300) * 1000, 400, 400], spec, { boxFormat: 'qwen1000' });
    expect(norm.positiveBox).toEqual(RECT);
    expect(qwen.positiveBox).toEqual(RECT);
  });
});

describe('negative views', () => {
  it('outside-downsampled shows no pixel of the target and does not overlap it', async () => {
    for (let seed = 0; seed < 12; seed++) {
      const v = await buildViews(png, RECT, { seed, padding: 0, minSize: 1, cropSize: 'native' });
      if (!v.negative.ok) throw new Error(v.negative.detail);
      expect(v.negative.mode).toBe('outside-downsampled');
      expect([v.negative.width, v.negative.height]).toEqual([60, 40]);
      expect(maxRed(v.negative.rgb)).toBe(0);
      const s = v.negative.sampledBox!;
      const overlapX = Math.min(s.x1, RECT.x1 / 2) - Math.max(s.x0, RECT.x0 / 2);
      const overlapY = Math.min(s.y1, RECT.y1 / 2) - Math.max(s.y0, RECT.y0 / 2);
      expect(overlapX <= 0 || overlapY <= 0).toBe(true);
      expect(v.negativeBox).toEqual({ x0: s.x0 * 2, y0: s.y0 * 2, x1: s.x1 * 2, y1: s.y1 * 2 });
    }
  });

  it('outside-downsampled never shows the target, over random real images, boxes and factors', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 40, max: 200 }),
        fc.integer({ min: 40, max: 200 }),
        fc.tuple(fc.double({ min: 0, max: 0.9, noNaN: true }), fc.double({ min: 0, max: 0.9, noNaN: true })),
        fc.tuple(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 60 })),
        fc.constantFrom(1, 1.5, 2, 3),
        fc.integer({ min: 0, max: 1000 }),
        async (w, h, [fx, fy], [bw, bh], factor, seed) => {
          const x0 = Math.floor(fx * w);
          const y0 = Math.floor(fy * h);
          const rect = { x0, y0, x1: Math.min(w, x0 + bw), y1: Math.min(h, y0 + bh) };
          const img = await testPng(w, h, rect);
          const v = await buildViews(img, rect, { seed, factor, minSize: 8, cropSize: 'native' });
          if (!v.negative.ok) return;
          expect(maxRed(v.negative.rgb)).toBe(0);
          expect(intersectionArea(v.negativeBox!, rect)).toBe(0);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('outside-downsampled is the source region at half resolution', async () => {
    const v = await buildViews(png, RECT, { seed: 3, padding: 0, minSize: 1, cropSize: 'native' });
    if (!v.negative.ok) throw new Error(v.negative.detail);
    const src = v.negative.sourceBox!;
    const expected = await sharp(testRgb(W, H, RECT), { raw: { width: W, height: H, channels: 3 } })
      .extract({ left: src.x0, top: src.y0, width: src.x1 - src.x0, height: src.y1 - src.y0 })
      .resize(60, 40, { kernel: 'lanczos3', fit: 'fill' })
      .resize(60, 40)
      .raw()
      .toBuffer();
    expect(src.x1 - src.x0).toBe(120);
    expect(Buffer.from(v.negative.rgb).equals(expected)).toBe(true);
  });

  it('gives the typed no-region result when the box covers most of the image, and can fall back', async () => {
    const big = { x0: 40, y0: 30, x1: 360, y1: 270 };
    const v = await buildViews(png, big, { padding: 0 });
    expect(v.negative).toMatchObject({
      ok: false,
      reason: 'no-region-outside-box',
      mode: 'outside-downsampled',
    });
    expect(v.negativeBox).toBeUndefined();
    const f = await buildViews(png, big, { padding: 0, fallback: 'downsample-crop' });
    expect(f.negative).toMatchObject({
      ok: true,
      mode: 'downsample-crop',
      requestedMode: 'outside-downsampled',
    });
  });

  it('outside-crop is a full-resolution region of the crop size outside the box, over random images', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 60, max: 200 }),
        fc.integer({ min: 60, max: 200 }),
        fc.integer({ min: 4, max: 50 }),
        fc.integer({ min: 4, max: 50 }),
        fc.nat(),
        async (w, h, bw, bh, seed) => {
          const x0 = seed % Math.max(1, w - bw);
          const y0 = (seed >> 8) % Math.max(1, h - bh);
          const rect = { x0, y0, x1: Math.min(w, x0 + bw), y1: Math.min(h, y0 + bh) };
          const img = await testPng(w, h, rect);
          const v = await buildViews(img, rect, {
            seed,
            negative: 'outside-crop',
            minSize: 4,
            cropSize: 'native',
          });
          if (!v.negative.ok) {
            expect(v.negative.reason).toBe('no-region-outside-box');
            return;
          }
          const b = v.negativeBox!;
          expect([b.x1 - b.x0, b.y1 - b.y0]).toEqual([
            v.positiveBox.x1 - v.positiveBox.x0,
            v.positiveBox.y1 - v.positiveBox.y0,
          ]);
          expect(intersectionArea(b, rect)).toBe(0);
          expect(maxRed(v.negative.rgb)).toBe(0);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('tries a list of fallbacks in order and reports the mode that made the view', async () => {
    // The box spans 3/4 of each side: nothing of the crop's size fits outside it, even at full
    // resolution, so outside-downsampled and outside-crop both fail and blank is used.
    const big = { x0: 40, y0: 30, x1: 340, y1: 255 };
    const v = await buildViews(png, big, { padding: 0, fallback: ['outside-crop', 'blank'] });
    expect(v.negative).toMatchObject({ ok: true, mode: 'blank', requestedMode: 'outside-downsampled' });
    // A box small enough for a full-resolution region but not a half-resolution one.
    const mid = { x0: 130, y0: 100, x1: 270, y1: 200 };
    const m = await buildViews(png, mid, { padding: 0, fallback: ['outside-crop', 'blank'] });
    expect(m.negative).toMatchObject({ ok: true, mode: 'outside-crop' });
    expect(intersectionArea(m.negativeBox!, mid)).toBe(0);
    await expect(buildViews(png, mid, { fallback: ['outside-crop', 'nope' as never] })).rejects.toThrow(
      /fallback\[1\]/,
    );
  });

  it('downsample-crop is the positive crop with detail removed', async () => {
    const v = await buildViews(png, RECT, {
      negative: 'downsample-crop',
      padding: { px: 20 },
      cropSize: 'native',
    });
    if (!v.negative.ok) throw new Error('expected a view');
    expect(v.negativeBox).toEqual(v.positiveBox);
    expect([v.negative.width, v.negative.height]).toEqual([v.positive.width, v.positive.height]);
    expect(Buffer.from(v.negative.rgb).equals(Buffer.from(v.positive.rgb))).toBe(false);
    // Same content: mean absolute difference is small next to the 0-255 range.
    let diff = 0;
    for (let i = 0; i < v.positive.rgb.length; i++)
      diff += Math.abs((v.positive.rgb[i] as number) - (v.negative.rgb[i] as number));
    expect(diff / v.positive.rgb.length).toBeLessThan(40);
    expect(diff).toBeGreaterThan(0);
  });

  it('blank is the background colour and noise is seeded', async () => {
    const blank = await buildViews(png, RECT, { negative: 'blank', background: [10, 20, 30], cropSize: 8 });
    if (!blank.negative.ok) throw new Error('expected a view');
    expect(pixelAt(blank.negative.rgb, 8, 3, 5)).toEqual([10, 20, 30]);
    const n1 = await buildViews(png, RECT, { negative: 'noise', seed: 1, cropSize: 16 });
    const n2 = await buildViews(png, RECT, { negative: 'noise', seed: 2, cropSize: 16 });
    if (!n1.negative.ok || !n2.negative.ok) throw new Error('expected views');
    const mean = n1.negative.rgb.reduce((a, b) => a + b, 0) / n1.negative.rgb.length;
    expect(mean).toBeGreaterThan(110);
    expect(mean).toBeLessThan(145);
    expect(Buffer.from(n1.negative.rgb).equals(Buffer.from(n2.negative.rgb))).toBe(false);
  });

  it('random-crop has the crop size and random-positive replaces the positive too', async () => {
    const rc = await buildViews(png, RECT, { negative: 'random-crop', seed: 5, cropSize: 'native' });
    if (!rc.negative.ok) throw new Error('expected a view');
    const nb = rc.negativeBox!;
    expect([nb.x1 - nb.x0, nb.y1 - nb.y0]).toEqual([rc.positive.width, rc.positive.height]);
    const rp = await buildViews(png, RECT, { negative: 'random-positive', seed: 5, cropSize: 'native' });
    expect(rp.positiveBox).not.toEqual(rp.targetCrop);
    expect([rp.positiveBox.x1 - rp.positiveBox.x0, rp.positiveBox.y1 - rp.positiveBox.y0]).toEqual([
      rp.targetCrop.x1 - rp.targetCrop.x0,
      rp.targetCrop.y1 - rp.targetCrop.y0,
    ]);
    expect(rp.negative.ok).toBe(true);
  });
});

describe('determinism', () => {
  async function bytes(v: SampleViews): Promise<Buffer[]> {
    const out = [Buffer.from(await v.full.png()), Buffer.from(await v.positive.png())];
    if (v.negative.ok)
      out.push(
        Buffer.from(await v.negative.png()),
        Buffer.from(new Uint8Array(v.negative.pixels.data.buffer)),
      );
    return out;
  }

  it('gives byte-identical PNGs and pixels for the same seed, in every mode', async () => {
    for (const negative of NEGATIVE_VIEW_MODES) {
      const a = await buildViews(png, RECT, { negative, seed: 7 });
      const b = await buildViews(Uint8Array.from(png), RECT, { negative, seed: 7 });
      const [ba, bb] = [await bytes(a), await bytes(b)];
      expect(ba.length).toBe(4);
      ba.forEach((x, i) => expect(x.equals(bb[i]!)).toBe(true));
    }
  });

  it('gives different negatives for different seeds in the random modes', async () => {
    const random: NegativeViewMode[] = ['outside-downsampled', 'random-crop', 'noise', 'random-positive'];
    for (const negative of random) {
      const a = await buildViews(png, RECT, { negative, seed: 1 });
      const b = await buildViews(png, RECT, { negative, seed: 2 });
      if (!a.negative.ok || !b.negative.ok) throw new Error('expected views');
      expect(Buffer.from(await a.negative.png()).equals(Buffer.from(await b.negative.png()))).toBe(false);
    }
  });

  it('does not depend on call order (randomness derives from seed and sample key)', async () => {
    const other = await testPng(320, 240, { x0: 10, y0: 10, x1: 30, y1: 30 });
    const spec = { seed: 9, negative: 'random-crop' as const };
    const a1 = await buildViews(png, RECT, spec, { key: 'sample-a' });
    const b1 = await buildViews(other, [10, 10, 30, 30], spec, { key: 'sample-b' });
    const b2 = await buildViews(other, [10, 10, 30, 30], spec, { key: 'sample-b' });
    const a2 = await buildViews(png, RECT, spec, { key: 'sample-a' });
    expect(a1.negativeBox).toEqual(a2.negativeBox);
    expect(b1.negativeBox).toEqual(b2.negativeBox);
    expect(a1.sampleKey).toBe('sample-a');
  });

  it('gives the same views for every kind of image input', async () => {
    const path = join(dir, 'same.png');
    writeFileSync(path, png);
    const inputs = [path, { path }, png, Uint8Array.from(png), { bytes: Uint8Array.from(png) }, sharp(png)];
    const decoded = await loadImage(png);
    const ref = await buildViews(decoded, RECT, { seed: 4 }, { key: 'k' });
    for (const input of inputs) {
      const v = await buildViews(input, RECT, { seed: 4 }, { key: 'k' });
      expect(v.full.id).toBe(ref.full.id);
      expect(v.positive.id).toBe(ref.positive.id);
      expect(v.negative.ok && ref.negative.ok && v.negative.id === ref.negative.id).toBe(true);
    }
  });

  it('flattens alpha and turns grey images into RGB', async () => {
    const rgba = await sharp({
      create: { width: 20, height: 10, channels: 4, background: { r: 0, g: 0, b: 255, alpha: 0 } },
    })
      .png()
      .toBuffer();
    const img = await loadImage(rgba, { background: [1, 2, 3] });
    expect(img.rgb.length).toBe(20 * 10 * 3);
    expect(pixelAt(img.rgb, 20, 4, 4)).toEqual([1, 2, 3]);
    const grey = await sharp({
      create: { width: 8, height: 8, channels: 3, background: { r: 77, g: 77, b: 77 } },
    })
      .greyscale()
      .png()
      .toBuffer();
    const g = await loadImage(grey);
    expect(pixelAt(g.rgb, 8, 2, 2)).toEqual([77, 77, 77]);
  });
});

describe('cache', () => {
  it('hits on repeat, misses on a different spec or box, and evicts the least recently used', async () => {
    const cache = new ViewCache<SampleViews>({ maxEntries: 2 });
    const a = await buildViews(png, RECT, { seed: 1 }, { cache });
    const again = await buildViews(Uint8Array.from(png), RECT, { seed: 1 }, { cache });
    expect(again).toBe(a);
    expect(cache.stats()).toEqual({ hits: 1, misses: 1, size: 1, maxEntries: 2 });
    await buildViews(png, RECT, { seed: 2 }, { cache });
    await buildViews(png, [10, 10, 50, 50], { seed: 1 }, { cache });
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 3, size: 2 });
    // The first entry was the least recently used: evicted.
    const third = await buildViews(png, RECT, { seed: 1 }, { cache });
    expect(third).not.toBe(a);
    expect(cache.misses).toBe(4);
  });

  it('keys files by path, mtime and size, so a rewritten file is rebuilt', async () => {
    const cache = new ViewCache<SampleViews>();
    const path = join(dir, 'changing.png');
    writeFileSync(path, png);
    const first = await buildViews(path, RECT, {}, { cache });
    expect(await buildViews({ path }, RECT, {}, { cache })).toBe(first);
    writeFileSync(path, await testPng(W, H, { x0: 0, y0: 0, x1: 50, y1: 50 }));
    const second = await buildViews(path, RECT, {}, { cache });
    expect(second).not.toBe(first);
    expect(second.full.id).not.toBe(first.full.id);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 2 });
  });
});

describe('prompt images', () => {
  it('carries the view id, PNG bytes and pixels', async () => {
    const v = await buildViews(png, RECT, { size: 32 });
    const p = await toPromptImage(v.full, 'full');
    expect(p.id).toBe(v.full.id);
    expect(p.encoded?.mime).toBe('image/png');
    const meta = await sharp(p.encoded!.bytes).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 32, 32]);
    expect(p.pixels).toBe(v.full.pixels);
    expect((await toPromptImage(v.full, 'full', 'pixels')).encoded).toBeUndefined();
  });
});

describe('bad input', () => {
  async function rejection(p: Promise<unknown>): Promise<InvalidInputError> {
    const error = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidInputError);
    return error as InvalidInputError;
  }

  it('rejects a box outside the image, naming the coordinate and value', async () => {
    const e = await rejection(buildViews(png, [100, 80, 500, 120]));
    expect(e.field).toBe('box.x1');
    expect(e.message).toContain('box.x1 = 500');
    expect(e.message).toContain('400x300');
    const e2 = await rejection(buildViews(png, [RECT, { x0: 10, y0: -5, x1: 20, y1: 20 }]));
    expect(e2.field).toBe('boxes[1].y0');
    // clip policy: partly outside is clipped, wholly outside still fails.
    const v = await buildViews(png, [350, 250, 450, 350], { padding: 0, minSize: 1 }, { boxOutside: 'clip' });
    expect(v.targetBox).toEqual({ x0: 350, y0: 250, x1: 400, y1: 300 });
    await rejection(buildViews(png, [500, 10, 600, 20], {}, { boxOutside: 'clip' }));
  });

  it('rejects NaN and zero or negative area', async () => {
    const e = await rejection(buildViews(png, { x0: 1, y0: Number.NaN, x1: 5, y1: 5 }));
    expect(e.field).toBe('box.y0');
    expect(e.message).toContain('NaN');
    const z = await rejection(buildViews(png, [10, 10, 10, 20]));
    expect(z.field).toBe('box.x1');
    expect(z.message).toContain('zero or negative width');
    const n = await rejection(buildViews(png, [10, 30, 20, 20]));
    expect(n.field).toBe('box.y1');
    await rejection(buildViews(png, []));
  });

  it('rejects corrupt and unsupported bytes and missing files', async () => {
    const corrupt = await rejection(buildViews(Buffer.from('definitely not an image'), RECT));
    expect(corrupt.field).toBe('image');
    expect(corrupt.message).toContain('cannot decode');
    const truncated = await rejection(buildViews(png.subarray(0, 200), RECT));
    expect(truncated.field).toBe('image');
    const missing = await rejection(buildViews(join(dir, 'nope.png'), RECT));
    expect(missing.field).toBe('image.path');
    const wrongType = await rejection(buildViews(42 as unknown as string, RECT));
    expect(wrongType.field).toBe('image');
  });

  it('rejects images beyond the pixel limit, for bytes and sharp instances', async () => {
    const e = await rejection(buildViews(png, RECT, {}, { maxPixels: 100_000 }));
    expect(e.field).toBe('image');
    expect(e.message).toContain('120000 pixels exceeds the pixel limit of 100000');
    const s = await rejection(buildViews(sharp(png), RECT, {}, { maxPixels: 1000 }));
    expect(s.message).toContain('pixel limit');
  });

  it('rejects unknown and ill-typed spec keys', async () => {
    await expect(buildViews(png, RECT, { sise: 3 } as never)).rejects.toBeInstanceOf(UnknownKeyError);
    const f = await rejection(buildViews(png, RECT, { factor: 0.5 }));
    expect(f.field).toBe('ViewSpec.factor');
    const m = await rejection(buildViews(png, RECT, { negative: 'outside' as NegativeViewMode }));
    expect(m.field).toBe('ViewSpec.negative');
    const p = await rejection(buildViews(png, RECT, { padding: { px: -1 } }));
    expect(p.field).toBe('ViewSpec.padding.px');
  });
});
