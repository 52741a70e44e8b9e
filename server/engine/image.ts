/**
 * Frames as the engine sees them: packed 8-bit RGB, row-major. Conversions to and from the
 * [1, H, W, 3] float tensors the optimiser works on, and the YIQ helpers used for
 * colour-preserving (luminance-only) transfer, Gatys et al. 2016 "Preserving color in neural
 * artistic style transfer".
 */
import * as tf from '@tensorflow/tfjs-core';

export interface RgbImage {
  readonly width: number;
  readonly height: number;
  /** width·height·3 bytes, R G B per pixel, rows top to bottom. */
  readonly data: Uint8Array;
}

export function assertRgbImage(image: RgbImage, what = 'image'): void {
  if (!Number.isInteger(image.width) || !Number.isInteger(image.height) || image.width < 1 || image.height < 1) {
    throw new RangeError(`${what}: bad dimensions ${image.width}×${image.height}`);
  }
  if (image.data.length !== image.width * image.height * 3) {
    throw new RangeError(`${what}: expected ${image.width * image.height * 3} bytes of RGB, got ${image.data.length}`);
  }
}

/** RGB bytes → [1, H, W, 3] float32 in [0, 1]. */
export function imageToTensor(image: RgbImage): tf.Tensor4D {
  const floats = new Float32Array(image.data.length);
  for (let i = 0; i < floats.length; i++) floats[i] = image.data[i]! / 255;
  return tf.tensor4d(floats, [1, image.height, image.width, 3]);
}

/** [1, H, W, 3] in [0, 1] → RGB bytes (rounded, clamped). */
export async function tensorToImage(tensor: tf.Tensor4D): Promise<RgbImage> {
  const [, height, width] = tensor.shape;
  const floats = await tensor.data();
  const data = new Uint8Array(floats.length);
  for (let i = 0; i < floats.length; i++) data[i] = Math.round(Math.min(1, Math.max(0, floats[i]!)) * 255);
  return { width, height, data };
}

// YIQ (NTSC) as in the colour-preservation paper.
const RGB_TO_YIQ = [
  [0.299, 0.596, 0.211],
  [0.587, -0.274, -0.523],
  [0.114, -0.322, 0.312],
];
const YIQ_TO_RGB = [
  [1, 1, 1],
  [0.956, -0.272, -1.106],
  [0.621, -0.647, 1.703],
];

/** [1,H,W,3] RGB → YIQ (a per-pixel 3×3 matrix product). */
export function rgbToYiq(rgb: tf.Tensor4D): tf.Tensor4D {
  return applyColourMatrix(rgb, RGB_TO_YIQ);
}

export function yiqToRgb(yiq: tf.Tensor4D): tf.Tensor4D {
  return applyColourMatrix(yiq, YIQ_TO_RGB);
}

function applyColourMatrix(image: tf.Tensor4D, matrix: number[][]): tf.Tensor4D {
  return tf.tidy(() => {
    const [, h, w] = image.shape;
    const flat = tf.reshape(image, [h * w, 3]) as tf.Tensor2D;
    return tf.reshape(tf.matMul(flat, tf.tensor2d(matrix)), [1, h, w, 3]) as tf.Tensor4D;
  });
}

/** Luminance repeated into three channels: what the net sees in colour-preserving mode. */
export function luminanceAsRgb(rgb: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const y = tf.slice(rgbToYiq(rgb), [0, 0, 0, 0], [-1, -1, -1, 1]);
    return tf.tile(y, [1, 1, 1, 3]) as tf.Tensor4D;
  });
}

/** The output's luminance with the content's chroma (I, Q), back in RGB, clipped to [0, 1]. */
export function recolour(stylizedLuminance: tf.Tensor4D, content: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const y = tf.mean(stylizedLuminance, 3, true);
    const iq = tf.slice(rgbToYiq(content), [0, 0, 0, 1], [-1, -1, -1, 2]);
    return tf.clipByValue(yiqToRgb(tf.concat([y, iq], 3) as tf.Tensor4D), 0, 1) as tf.Tensor4D;
  });
}
