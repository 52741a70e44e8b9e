/**
 * Sizes and calls around the painter network shared by video jobs and live streams: the size a
 * painter is trained at, and its picture of a frame of any size (as a tensor inside the engine,
 * as an RgbImage at its edge).
 */
import * as tf from '@tensorflow/tfjs-core';
import { imageToTensor, tensorToImage, type RgbImage } from '../image.js';
import { BLOCK } from './painter-layers.js';
import type { PainterNet } from './painter-net.js';

/**
 * The training size: half the working size, in multiples of the painter's block, but never
 * below what the loss network can see (`minSide`, e.g. 32 for random-multiscale).
 */
export function trainingSize(work: { width: number; height: number }, minSide: number): { width: number; height: number } {
  const short = Math.min(work.width, work.height);
  const scale = Math.min(1, Math.max(0.5, minSide / short));
  const round = (v: number): number => Math.max(Math.ceil(minSide / BLOCK) * BLOCK, Math.round((v * scale) / BLOCK) * BLOCK);
  return { width: round(work.width), height: round(work.height) };
}

/**
 * The painter's picture of a frame of any size: padded (mirrored) to a multiple of its block,
 * painted, cropped back.
 */
export function paintWith(painter: PainterNet, frame: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [, h, w] = frame.shape;
    const padH = (BLOCK - (h % BLOCK)) % BLOCK;
    const padW = (BLOCK - (w % BLOCK)) % BLOCK;
    if (padH === 0 && padW === 0) return painter.apply(frame);
    // Mirror padding needs the pad smaller than the side: a frame is always larger than 3 pixels.
    const padded = tf.mirrorPad(frame, [[0, 0], [0, padH], [0, padW], [0, 0]], 'reflect');
    return tf.slice(painter.apply(padded), [0, 0, 0, 0], [1, h, w, 3]);
  });
}

/** The painter's picture of an image of any size: paintWith for callers outside the engine. */
export async function paintImage(painter: PainterNet, photo: RgbImage): Promise<RgbImage> {
  const painted = tf.tidy(() => paintWith(painter, imageToTensor(photo)));
  try {
    return await tensorToImage(painted);
  } finally {
    painted.dispose();
  }
}
