// Checks every renderer makes of a Prompt and its images before rendering.
import { InvalidInputError } from '@vzero/core';
import type { Prompt, PromptImage } from '@vzero/core';
import { encodedImageInfo } from './image-size.js';
import type { EncodedImageInfo } from './image-size.js';

/** A prompt that is an object with an images array and a text string; names the bad field. */
export function checkPromptShape(prompt: Prompt, field = 'prompt'): void {
  if (typeof prompt !== 'object' || prompt === null) {
    throw new InvalidInputError(field, prompt, 'expected a prompt object');
  }
  if (!Array.isArray(prompt.images)) {
    throw new InvalidInputError(`${field}.images`, prompt.images, 'expected an array of images');
  }
  if (typeof prompt.text !== 'string') {
    throw new InvalidInputError(`${field}.text`, prompt.text, 'expected a string');
  }
}

const MIME_OF = { png: 'image/png', jpeg: 'image/jpeg' } as const;

/** An image's encoded bytes and their format and size; a missing or mislabelled file is an error. */
export function encodedImage(
  image: PromptImage,
  field: string,
): { readonly bytes: Uint8Array; readonly info: EncodedImageInfo } {
  const encoded = image?.encoded;
  if (!encoded || !(encoded.bytes instanceof Uint8Array) || encoded.bytes.length === 0) {
    throw new InvalidInputError(
      `${field}.encoded`,
      encoded === undefined ? undefined : `${encoded.bytes?.length ?? 0} bytes`,
      'a model input carries the image file: give its PNG or JPEG bytes (toPromptImage(view, role, "encoded") of @vzero/views builds them)',
    );
  }
  const info = encodedImageInfo(encoded.bytes, `${field}.encoded.bytes`);
  if (encoded.mime !== MIME_OF[info.format]) {
    throw new InvalidInputError(`${field}.encoded.mime`, encoded.mime, `the bytes are a ${info.format} file`);
  }
  return { bytes: encoded.bytes, info };
}
