// Real encoded images made with sharp, and prompt images around them.
import sharp from 'sharp';
import type { PromptImage } from '@vzero/core';

export async function png(width: number, height: number, rgb: [number, number, number] = [200, 40, 40]) {
  const [r, g, b] = rgb;
  return new Uint8Array(
    await sharp({ create: { width, height, channels: 3, background: { r, g, b } } })
      .png()
      .toBuffer(),
  );
}

export async function jpeg(width: number, height: number, progressive = false) {
  return new Uint8Array(
    await sharp({ create: { width, height, channels: 3, background: { r: 30, g: 90, b: 200 } } })
      .jpeg({ progressive })
      .toBuffer(),
  );
}

export function pngImage(id: string, role: 'full' | 'crop', bytes: Uint8Array): PromptImage {
  return { id, role, encoded: { bytes, mime: 'image/png' } };
}
