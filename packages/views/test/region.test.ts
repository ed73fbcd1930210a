import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Rng } from '@vzero/core';
import type { Box } from '@vzero/core';
import {
  cropRegion,
  downsampledSize,
  intersectionArea,
  sampleAnywhere,
  sampleOutsideRegion,
} from '../src/index.js';
import type { CropOptions } from '../src/index.js';

const plain: CropOptions = { padding: 0, minSize: 1, square: false, clamp: 'shift' };

/** A random image size and a random pixel box inside it (possibly fractional). */
const imageAndBox = fc
  .record({
    width: fc.integer({ min: 2, max: 400 }),
    height: fc.integer({ min: 2, max: 400 }),
    a: fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true })),
    b: fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true })),
    integer: fc.boolean(),
  })
  .map(({ width, height, a, b, integer }) => {
    const snap = (v: number) => (integer ? Math.round(v) : v);
    let x0 = snap(Math.min(a[0], b[0]) * width);
    let x1 = snap(Math.max(a[0], b[0]) * width);
    let y0 = snap(Math.min(a[1], b[1]) * height);
    let y1 = snap(Math.max(a[1], b[1]) * height);
    if (x1 - x0 < 0.5) [x0, x1] = x0 + 1 <= width ? [x0, x0 + 1] : [width - 1, width];
    if (y1 - y0 < 0.5) [y0, y1] = y0 + 1 <= height ? [y0, y0 + 1] : [height - 1, height];
    return { image: { width, height }, box: { x0, y0, x1, y1 } };
  });

function inside(r: Box, w: number, h: number): boolean {
  return r.x0 >= 0 && r.y0 >= 0 && r.x1 <= w && r.y1 <= h && r.x1 > r.x0 && r.y1 > r.y0;
}

function isInteger(r: Box): boolean {
  return [r.x0, r.y0, r.x1, r.y1].every(Number.isInteger);
}

describe('cropRegion', () => {
  it('with no padding and minSize 1 is the box snapped outwards to whole pixels', () => {
    const image = { width: 400, height: 300 };
    expect(cropRegion({ x0: 100, y0: 80, x1: 160, y1: 120 }, image, plain)).toEqual({
      x0: 100,
      y0: 80,
      x1: 160,
      y1: 120,
    });
    expect(cropRegion({ x0: 10.2, y0: 5.9, x1: 20.5, y1: 7.1 }, image, plain)).toEqual({
      x0: 10,
      y0: 5,
      x1: 21,
      y1: 8,
    });
  });

  it('pads by a fraction of the box size or by pixels', () => {
    const image = { width: 400, height: 300 };
    const box = { x0: 100, y0: 80, x1: 160, y1: 120 }; // 60 x 40
    // 0.25 * 60 = 15 px left/right, 0.25 * 40 = 10 px top/bottom.
    expect(cropRegion(box, image, { ...plain, padding: 0.25 })).toEqual({ x0: 85, y0: 70, x1: 175, y1: 130 });
    expect(cropRegion(box, image, { ...plain, padding: { px: 8 } })).toEqual({
      x0: 92,
      y0: 72,
      x1: 168,
      y1: 128,
    });
  });

  it('grows small boxes to minSize around their centre, and squares them', () => {
    const image = { width: 400, height: 300 };
    const box = { x0: 100, y0: 80, x1: 110, y1: 84 }; // 10 x 4
    // width: extra 54 -> 27 before, 27 after; height: extra 60 -> 30 and 30 (80 - 30, 84 + 30).
    expect(cropRegion(box, image, { ...plain, minSize: 64 })).toEqual({ x0: 73, y0: 50, x1: 137, y1: 114 });
    const wide = { x0: 100, y0: 80, x1: 160, y1: 120 };
    expect(cropRegion(wide, image, { ...plain, square: true })).toEqual({
      x0: 100,
      y0: 70,
      x1: 160,
      y1: 130,
    });
  });

  it('shifts a region past the border inside the image keeping its size, or clips it', () => {
    const image = { width: 400, height: 300 };
    const corner = { x0: 0, y0: 0, x1: 10, y1: 10 };
    expect(cropRegion(corner, image, { ...plain, minSize: 64 })).toEqual({ x0: 0, y0: 0, x1: 64, y1: 64 });
    expect(cropRegion(corner, image, { ...plain, minSize: 64, clamp: 'clip' })).toEqual({
      x0: 0,
      y0: 0,
      x1: 37,
      y1: 37,
    });
    const farCorner = { x0: 395, y0: 290, x1: 400, y1: 300 };
    expect(cropRegion(farCorner, image, { ...plain, minSize: 50 })).toEqual({
      x0: 350,
      y0: 250,
      x1: 400,
      y1: 300,
    });
    // minSize larger than the image is capped at the image.
    expect(cropRegion(corner, image, { ...plain, minSize: 1000 })).toEqual({
      x0: 0,
      y0: 0,
      x1: 400,
      y1: 300,
    });
  });

  it('always contains the box, lies inside the image, is whole pixels and honours minSize and square', () => {
    fc.assert(
      fc.property(
        imageAndBox,
        fc.oneof(
          fc.double({ min: 0, max: 2, noNaN: true }),
          fc.record({ px: fc.integer({ min: 0, max: 50 }) }),
        ),
        fc.integer({ min: 1, max: 300 }),
        fc.boolean(),
        fc.constantFrom<'shift' | 'clip'>('shift', 'clip'),
        ({ image, box }, padding, minSize, square, clamp) => {
          const r = cropRegion(box, image, { padding, minSize, square, clamp });
          expect(isInteger(r)).toBe(true);
          expect(inside(r, image.width, image.height)).toBe(true);
          expect(r.x0 <= box.x0 && r.y0 <= box.y0 && r.x1 >= box.x1 && r.y1 >= box.y1).toBe(true);
          if (clamp === 'shift') {
            expect(r.x1 - r.x0).toBeGreaterThanOrEqual(Math.min(minSize, image.width));
            expect(r.y1 - r.y0).toBeGreaterThanOrEqual(Math.min(minSize, image.height));
            const side = Math.max(r.x1 - r.x0, r.y1 - r.y0);
            if (square && side <= Math.min(image.width, image.height)) expect(r.x1 - r.x0).toBe(r.y1 - r.y0);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('sampleOutsideRegion (the paper negative)', () => {
  it('never overlaps the box scaled into the downsampled image, nor the box in source pixels', () => {
    fc.assert(
      fc.property(
        imageAndBox,
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 200 }),
        fc.constantFrom(1, 1.5, 2, 3, 4),
        fc.constantFrom(0, 0.5, 2, 7),
        fc.integer({ min: 0, max: 2 ** 31 }),
        ({ image, box }, cw, ch, factor, margin, seed) => {
          const r = sampleOutsideRegion(image, box, { width: cw, height: ch }, factor, margin, new Rng(seed));
          const down = downsampledSize(image, factor);
          const forbidden = {
            x0: box.x0 / factor - margin,
            y0: box.y0 / factor - margin,
            x1: box.x1 / factor + margin,
            y1: box.y1 / factor + margin,
          };
          if (r.ok) {
            expect(r.sampled.x1 - r.sampled.x0).toBe(cw);
            expect(r.sampled.y1 - r.sampled.y0).toBe(ch);
            expect(inside(r.sampled, down.width, down.height)).toBe(true);
            expect(intersectionArea(r.sampled, forbidden)).toBe(0);
            expect(inside(r.source, image.width, image.height)).toBe(true);
            expect(intersectionArea(r.source, box)).toBe(0);
          } else {
            expect(r.reason).toBe('no-region-outside-box');
            // Brute force: no integer position avoids the zone.
            let free = 0;
            for (let y = 0; y + ch <= down.height; y++) {
              for (let x = 0; x + cw <= down.width; x++) {
                if (intersectionArea({ x0: x, y0: y, x1: x + cw, y1: y + ch }, forbidden) === 0) free++;
              }
            }
            expect(free).toBe(0);
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('draws every valid position, and only those', () => {
    // 20x20 image, factor 1, box [5, 5, 15, 15], 5x5 regions: 16 x 16 positions, of which those
    // with x or y in 1..14 on both axes overlap; 256 - 14 * 14 = 60 are valid.
    const box = { x0: 5, y0: 5, x1: 15, y1: 15 };
    const rng = new Rng(11);
    const seen = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      const r = sampleOutsideRegion({ width: 20, height: 20 }, box, { width: 5, height: 5 }, 1, 0, rng);
      if (!r.ok) throw new Error('expected a region');
      seen.add(`${r.sampled.x0},${r.sampled.y0}`);
    }
    const expected = new Set<string>();
    for (let y = 0; y <= 15; y++)
      for (let x = 0; x <= 15; x++)
        if (intersectionArea({ x0: x, y0: y, x1: x + 5, y1: y + 5 }, box) === 0) expected.add(`${x},${y}`);
    expect(expected.size).toBe(60);
    expect([...seen].sort()).toEqual([...expected].sort());
  });

  it('reports the typed no-region result when the box covers most of the image', () => {
    const image = { width: 400, height: 400 };
    const box = { x0: 100, y0: 100, x1: 300, y1: 300 };
    // The 200x200 crop fills the 200x200 downsampled image, whose only position overlaps box / 2.
    const r = sampleOutsideRegion(image, box, { width: 200, height: 200 }, 2, 0, new Rng(1));
    expect(r).toMatchObject({ ok: false, reason: 'no-region-outside-box' });
    // A margin can also rule out the last positions: with 10 px of margin nothing fits here.
    const small = { x0: 40, y0: 40, x1: 60, y1: 60 };
    expect(
      sampleOutsideRegion({ width: 100, height: 100 }, small, { width: 20, height: 20 }, 2, 0, new Rng(1)).ok,
    ).toBe(true);
    expect(
      sampleOutsideRegion({ width: 100, height: 100 }, small, { width: 20, height: 20 }, 2, 10, new Rng(1)),
    ).toMatchObject({
      ok: false,
      reason: 'no-region-outside-box',
    });
  });
});

describe('sampleAnywhere', () => {
  it('stays inside the image and keeps the size', () => {
    fc.assert(
      fc.property(
        imageAndBox,
        fc.integer({ min: 1, max: 500 }),
        fc.integer({ min: 0, max: 1000 }),
        ({ image }, side, seed) => {
          const r = sampleAnywhere(image, { width: side, height: side }, new Rng(seed));
          expect(inside(r, image.width, image.height)).toBe(true);
          expect(r.x1 - r.x0).toBe(Math.min(side, image.width));
        },
      ),
    );
  });
});
