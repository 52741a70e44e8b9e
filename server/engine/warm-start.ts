/**
 * Where a frame's optimisation starts. Warm: the previous output, carried to this frame as the
 * motion mode says (flow: along the optical flow, with the temporal loss's mask; residual: plus
 * the content's change; none: as it is, resized if needed). Cold: the content, noise, an init
 * image or a learned painter's picture.
 */
import * as tf from '@tensorflow/tfjs-core';
import { followChange, followMotion, type PainterBlend } from './follow-motion.js';
import type { FrameMemory } from './frame-memory.js';
import { matchColours, type ColourStats } from './colour-transfer.js';
import { assertRgbImage, imageToTensor } from './image.js';
import { createRandom, uniformArray } from './random.js';
import type { Init, StylizeFrameOptions } from './stylizer-types.js';

/** The previous output carried to this frame, and the temporal loss's weight per pixel ([1,H,W,C]; flow mode only). */
export interface Followed {
  image?: tf.Tensor4D;
  temporalMask?: tf.Tensor4D;
}

/**
 * Carries the previous output to this frame (`optimised`: the content as optimised), when the
 * frame asks for a warm start and the previous one had its size. What it makes goes into
 * `frameTensors`, freed by the caller however the frame ends.
 */
export function followPrevious(
  memory: FrameMemory,
  optimised: tf.Tensor4D,
  options: StylizeFrameOptions,
  painter: PainterBlend | undefined,
  frameTensors: tf.Tensor[],
): Followed {
  const previousOutput = memory.output;
  const previousContent = memory.content;
  const sameSize = previousOutput !== undefined && previousContent?.shape.join() === optimised.shape.join();
  const mode = options.warmStart === true && sameSize ? (options.motion ?? 'none') : 'none';
  if (mode === 'residual') {
    const image = followChange(previousContent!, optimised, previousOutput!, painter);
    frameTensors.push(image);
    return { image };
  }
  if (mode !== 'flow') return {};
  const light = options.lightFlow === true && options.steps === 0;
  const followed = followMotion(previousContent!, optimised, previousOutput!, { ...(painter ? { painter } : {}), ...(light ? { light } : {}) });
  frameTensors.push(followed.warped);
  try {
    if (!((options.temporalWeight ?? 0) > 0)) return { image: followed.warped };
    const channels = optimised.shape[3];
    // Over the channels once here, not broadcast in every step's loss and gradient (slow on wasm).
    const temporalMask = tf.tidy(() => tf.conv2d(followed.mask, tf.ones([1, 1, 1, channels]) as tf.Tensor4D, 1, 'valid'));
    frameTensors.push(temporalMask);
    return { image: followed.warped, temporalMask };
  } finally {
    followed.mask.dispose();
  }
}

export interface StartChoice {
  /** The frame asked for a warm start (it happens when there is a previous output). */
  warmStart: boolean;
  init: Init | undefined;
  seed: number;
  /** The previous output already carried to this frame (flow or residual mode). */
  followed: tf.Tensor4D | undefined;
  /** A learned painter's picture: a cold start begins there. */
  base: tf.Tensor4D | undefined;
  /** A cold start from the content takes this much of the style's colours (optimiser-recipe.ts). */
  styleColours?: { stats: ColourStats; strength: number } | undefined;
}

/** The start image (owned by the caller) and whether it is a warm start. */
export function startImage(content: tf.Tensor4D, previousOutput: tf.Tensor4D | undefined, choice: StartChoice): { start: tf.Tensor4D; warm: boolean } {
  const [, h, w] = content.shape;
  if (choice.warmStart && previousOutput) {
    if (choice.followed) return { start: choice.followed.clone(), warm: true };
    const [, ph, pw] = previousOutput.shape;
    return { start: ph === h && pw === w ? previousOutput.clone() : tf.tidy(() => tf.image.resizeBilinear(previousOutput, [h, w])), warm: true };
  }
  if (choice.base) return { start: choice.base.clone(), warm: false };
  const fromContent = !choice.init || choice.init === 'content';
  if (fromContent && choice.styleColours && choice.styleColours.strength > 0) {
    return { start: matchColours(content, choice.styleColours.stats, choice.styleColours.strength), warm: false };
  }
  return { start: coldStart(content, choice.init, choice.seed), warm: false };
}

function coldStart(content: tf.Tensor4D, init: Init | undefined, seed: number): tf.Tensor4D {
  const [, h, w] = content.shape;
  if (init === 'noise') return tf.tensor4d(uniformArray(h * w * 3, createRandom(seed), 0, 1), [1, h, w, 3]);
  if (!init || init === 'content') return content.clone();
  assertRgbImage(init, 'init image');
  const t = imageToTensor(init);
  if (init.width === w && init.height === h) return t;
  const resized = tf.image.resizeBilinear(t, [h, w]);
  t.dispose();
  return resized;
}
