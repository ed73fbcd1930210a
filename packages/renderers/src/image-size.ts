// Width and height of an encoded PNG or JPEG, read from its header (PNG's IHDR chunk, JPEG's
// start-of-frame segment) without decoding any pixel: the image-token count needs only these.
import { InvalidInputError } from '@vzero/core';

export interface EncodedImageInfo {
  readonly format: 'png' | 'jpeg';
  readonly width: number;
  readonly height: number;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** JPEG start-of-frame markers (baseline, progressive, lossless, arithmetic): not C4, C8, CC. */
function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

/** The format and size of PNG or JPEG bytes; anything else is an InvalidInputError naming `field`. */
export function encodedImageInfo(bytes: Uint8Array, field = 'image'): EncodedImageInfo {
  if (!(bytes instanceof Uint8Array))
    throw new InvalidInputError(field, typeof bytes, 'expected a Uint8Array');
  if (bytes.length >= 24 && PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return pngInfo(bytes, field);
  if (bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8) return jpegInfo(bytes, field);
  throw new InvalidInputError(
    field,
    `${bytes.length} bytes starting ${hex(bytes.subarray(0, 8))}`,
    'not a PNG or JPEG file',
  );
}

function pngInfo(bytes: Uint8Array, field: string): EncodedImageInfo {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = String.fromCharCode(...bytes.subarray(12, 16));
  if (type !== 'IHDR') throw new InvalidInputError(field, type, 'a PNG must start with its IHDR chunk');
  return checked({ format: 'png', width: view.getUint32(16), height: view.getUint32(20) }, field);
}

function jpegInfo(bytes: Uint8Array, field: string): EncodedImageInfo {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 2;
  while (pos + 1 < bytes.length) {
    if (bytes[pos] !== 0xff) {
      throw new InvalidInputError(
        field,
        `byte ${bytes[pos]} at offset ${pos}`,
        'a broken JPEG: expected a marker',
      );
    }
    let marker = bytes[pos + 1] as number;
    // Fill bytes: any number of 0xFF before the marker.
    while (marker === 0xff && pos + 2 < bytes.length) {
      pos++;
      marker = bytes[pos + 1] as number;
    }
    pos += 2;
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (marker === 0xd9 || marker === 0xda) break;
    if (pos + 2 > bytes.length) break;
    const length = view.getUint16(pos);
    if (isStartOfFrame(marker)) {
      if (pos + 7 > bytes.length) break;
      return checked(
        { format: 'jpeg', height: view.getUint16(pos + 3), width: view.getUint16(pos + 5) },
        field,
      );
    }
    if (length < 2) throw new InvalidInputError(field, `segment length ${length}`, 'a broken JPEG');
    pos += length;
  }
  throw new InvalidInputError(field, `${bytes.length} bytes`, 'a JPEG without a start-of-frame segment');
}

function checked(info: EncodedImageInfo, field: string): EncodedImageInfo {
  if (info.width < 1 || info.height < 1) {
    throw new InvalidInputError(field, `${info.width}x${info.height}`, `a ${info.format} with an empty side`);
  }
  return info;
}

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ');
}
