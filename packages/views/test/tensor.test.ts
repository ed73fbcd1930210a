import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ShapeMismatchError, selectBackend } from '@vzero/core';
import { buildViews, encodePng, pixelsToBatch, pixelsToTensor, tensorToPixels } from '../src/index.js';
import { testPng } from './fixtures.js';

beforeAll(async () => {
  await selectBackend({ prefer: 'cpu' });
});

describe('tensor helpers', () => {
  it('turn views into HWC and NHWC tensors with the pixel values, and back', async () => {
    const png = await testPng(240, 180, { x0: 10, y0: 10, x1: 40, y1: 30 });
    const v = await buildViews(png, [10, 10, 40, 30], { size: 16, cropSize: 8 });
    const t = pixelsToTensor(v.full.pixels);
    expect(t.shape).toEqual([16, 16, 3]);
    expect(Array.from(t.dataSync())).toEqual(Array.from(v.full.pixels.data));
    const back = tensorToPixels(t);
    expect(back).toMatchObject({ width: 16, height: 16, channels: 3 });
    expect(Array.from(back.data)).toEqual(Array.from(v.full.pixels.data));
    t.dispose();
    if (!v.negative.ok) throw new Error('expected a negative');
    const batch = pixelsToBatch([v.positive.pixels, v.negative.pixels]);
    expect(batch.shape).toEqual([2, 8, 8, 3]);
    expect(Array.from(batch.dataSync().slice(8 * 8 * 3))).toEqual(Array.from(v.negative.pixels.data));
    batch.dispose();
    expect(() => pixelsToBatch([v.full.pixels, v.positive.pixels])).toThrow(ShapeMismatchError);
    // PNG of pixels decodes back to the same bytes.
    const encoded = await encodePng(v.positive.pixels);
    const raw = await (await import('sharp')).default(encoded).raw().toBuffer();
    expect(Buffer.from(v.positive.rgb).equals(raw)).toBe(true);
  });

  it('do not leak tensors across repeated calls', async () => {
    const png = await testPng(64, 48);
    const v = await buildViews(png, [5, 5, 20, 20], { size: 16, cropSize: 8 });
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) {
      const t = pixelsToTensor(v.full.pixels);
      tensorToPixels(t);
      t.dispose();
      tf.tidy(() => tf.mean(pixelsToBatch([v.positive.pixels, v.positive.pixels]))).dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('reject malformed pixels', () => {
    expect(() => pixelsToTensor({ width: 2, height: 2, channels: 3, data: new Float32Array(5) })).toThrow(
      ShapeMismatchError,
    );
  });
});
