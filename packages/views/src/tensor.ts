// ImagePixels <-> tfjs tensors. Each helper returns exactly one new tensor (the caller owns it)
// and allocates no intermediate tensors.
import * as tf from '@tensorflow/tfjs-core';
import { ShapeMismatchError } from '@vzero/core';
import type { ImagePixels } from '@vzero/core';
import { checkPixels } from './view.js';

/** HWC float tensor [height, width, channels] with the pixel values (in [0, 1]). */
export function pixelsToTensor(pixels: ImagePixels): tf.Tensor3D {
  checkPixels(pixels, 'pixels');
  return tf.tensor3d(pixels.data, [pixels.height, pixels.width, pixels.channels], 'float32');
}

/** NHWC batch [n, height, width, channels]; every image must have the same shape. */
export function pixelsToBatch(images: readonly ImagePixels[]): tf.Tensor4D {
  const first = images[0];
  if (first === undefined) throw new ShapeMismatchError('images', 'at least one image', '0');
  const { width, height, channels } = first;
  const per = width * height * channels;
  const data = new Float32Array(per * images.length);
  images.forEach((img, i) => {
    checkPixels(img, `images[${i}]`);
    if (img.width !== width || img.height !== height || img.channels !== channels) {
      throw new ShapeMismatchError(
        `images[${i}]`,
        `${height}x${width}x${channels}`,
        `${img.height}x${img.width}x${img.channels}`,
      );
    }
    data.set(img.data, i * per);
  });
  return tf.tensor4d(data, [images.length, height, width, channels], 'float32');
}

/** Reads a [height, width, channels] tensor back into ImagePixels (does not dispose it). */
export function tensorToPixels(tensor: tf.Tensor3D): ImagePixels {
  const [height, width, channels] = tensor.shape;
  const data = tensor.dataSync();
  return {
    width,
    height,
    channels,
    data: data instanceof Float32Array ? Float32Array.from(data) : new Float32Array(data),
  };
}
