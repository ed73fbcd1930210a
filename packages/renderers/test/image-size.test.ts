import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { InvalidInputError } from '@vzero/core';
import { encodedImageInfo } from '../src/index.js';
import { jpeg, png } from './fixtures.js';

describe('encodedImageInfo', () => {
  it('reads the size of real PNGs and JPEGs made by sharp (baseline and progressive)', async () => {
    for (const [w, h] of [
      [640, 480],
      [150, 224],
      [1, 1],
      [4000, 20],
    ] as const) {
      expect(encodedImageInfo(await png(w, h))).toEqual({ format: 'png', width: w, height: h });
      expect(encodedImageInfo(await jpeg(w, h))).toEqual({ format: 'jpeg', width: w, height: h });
      expect(encodedImageInfo(await jpeg(w, h, true))).toEqual({ format: 'jpeg', width: w, height: h });
    }
  });

  it('reads a JPEG whose frame header comes after EXIF and ICC segments', async () => {
    const bytes = new Uint8Array(
      await sharp({ create: { width: 321, height: 123, channels: 3, background: '#888' } })
        .withMetadata({ exif: { IFD0: { Copyright: 'test' } } })
        .withIccProfile('srgb')
        .jpeg()
        .toBuffer(),
    );
    expect(bytes[2]).toBe(0xff);
    expect(bytes[3]).not.toBe(0xc0); // the frame header is not the first segment
    expect(encodedImageInfo(bytes)).toEqual({ format: 'jpeg', width: 321, height: 123 });
  });

  it('reads from a view into a larger buffer (byteOffset)', async () => {
    const bytes = await png(33, 17);
    const padded = new Uint8Array(bytes.length + 10);
    padded.set(bytes, 10);
    expect(encodedImageInfo(padded.subarray(10))).toEqual({ format: 'png', width: 33, height: 17 });
  });

  it('refuses bytes that are not a PNG or JPEG, naming the field', async () => {
    const gif = new Uint8Array(
      await sharp({ create: { width: 4, height: 4, channels: 3, background: '#000' } })
        .gif()
        .toBuffer(),
    );
    expect(() => encodedImageInfo(gif, 'prompt.images[1].encoded.bytes')).toThrow(InvalidInputError);
    expect(() => encodedImageInfo(gif, 'prompt.images[1].encoded.bytes')).toThrow(
      /^prompt\.images\[1\]\.encoded\.bytes = "\d+ bytes starting 47 49 46 38.*": not a PNG or JPEG file$/,
    );
    expect(() => encodedImageInfo(new Uint8Array(0))).toThrow(/not a PNG or JPEG file/);
  });

  it('refuses a truncated JPEG with no frame header', async () => {
    const bytes = await jpeg(64, 48);
    // SOI, then the first segment only.
    const first = 4 + ((bytes[4] as number) << 8) + (bytes[5] as number);
    expect(() => encodedImageInfo(bytes.subarray(0, first))).toThrow(
      /a JPEG without a start-of-frame segment/,
    );
  });
});
