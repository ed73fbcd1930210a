// Images arrive as base64 data URLs; they are decoded with sharp (through @vzero/views) into the
// same 8-bit RGB -> [0, 1] pixels a local prompt holds, so a PNG sent by a remote client gives the
// model bit-identical input. The server never fetches http(s) URLs.
import type { PromptImage, ImageRole } from '@vzero/core';
import { InvalidInputError } from '@vzero/core';
import { loadImage, makeView, toPromptImage } from '@vzero/views';
import { HttpError } from './errors.js';

const DATA_URL = /^data:(image\/[a-z0-9.+-]+);base64,/i;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Bytes of a base64 image data URL; a 400 naming `field` for anything else. */
export function dataUrlBytes(url: string, field: string): Uint8Array {
  const head = DATA_URL.exec(url);
  if (!head) {
    const scheme = /^[a-z]+:/i.exec(url)?.[0] ?? 'no scheme';
    throw new HttpError(
      400,
      field,
      `expected a base64 image data URL (data:image/png;base64,...), got ${scheme}: this server fetches nothing`,
    );
  }
  const payload = url.slice(head[0].length);
  if (payload.length === 0 || !BASE64.test(payload)) {
    throw new HttpError(400, field, 'invalid base64 in the data URL');
  }
  const buf = Buffer.from(payload, 'base64');
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Decodes a data URL into a prompt image (pixels + content id); size and format errors are 400s. */
export async function decodeImage(
  url: string,
  role: ImageRole,
  maxPixels: number,
  field: string,
): Promise<PromptImage> {
  const bytes = dataUrlBytes(url, field);
  try {
    const decoded = await loadImage(bytes, { maxPixels });
    return await toPromptImage(makeView(decoded.rgb, decoded.width, decoded.height), role, 'pixels');
  } catch (error) {
    if (error instanceof InvalidInputError) {
      const tooLarge = /pixel limit/.test(error.message);
      throw new HttpError(tooLarge ? 413 : 400, field, error.message.replace(/^image = [^:]*: /, ''));
    }
    throw error;
  }
}
