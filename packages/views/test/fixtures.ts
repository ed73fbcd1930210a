// Real test images made with sharp: a background whose red channel is 0 everywhere, with a pure
// red rectangle at a known place, so a pixel's red value tells whether it came from the target.
import sharp from 'sharp';
import type { Box } from '@vzero/core';

export const RED = [255, 0, 0] as const;

/** Raw RGB of a width x height image: background (0, x mod 256, y mod 256), red inside `rect`. */
export function testRgb(width: number, height: number, rect?: Box): Uint8Array {
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const inside = rect && x >= rect.x0 && x < rect.x1 && y >= rect.y0 && y < rect.y1;
      rgb[i] = inside ? 255 : 0;
      rgb[i + 1] = inside ? 0 : (x * 7) % 256;
      rgb[i + 2] = inside ? 0 : (y * 5) % 256;
    }
  }
  return rgb;
}

/** The same image encoded as PNG bytes. */
export async function testPng(width: number, height: number, rect?: Box): Promise<Buffer> {
  return sharp(testRgb(width, height, rect), { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}

/** RGB of pixel (x, y) of a raw RGB view. */
export function pixelAt(rgb: Uint8Array, width: number, x: number, y: number): [number, number, number] {
  const i = (y * width + x) * 3;
  return [rgb[i] as number, rgb[i + 1] as number, rgb[i + 2] as number];
}

/** Largest red value in a raw RGB buffer. */
export function maxRed(rgb: Uint8Array): number {
  let m = 0;
  for (let i = 0; i < rgb.length; i += 3) m = Math.max(m, rgb[i] as number);
  return m;
}
