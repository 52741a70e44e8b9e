/**
 * The motion-compensated warm start for video: the previous painted frame carried along the
 * optical flow between the previous and the current input frame (motion.ts, warp.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { estimateFlow, matchExposure, occlusionMask, toGray, type FlowOptions } from './motion.js';
import { warp, type Sampling } from './warp.js';

export interface FollowOptions {
  /** Forward flow settings (default: full resolution, 4 levels, 3 iterations, 7-pixel window). */
  flow?: FlowOptions;
  /** How the previous output is resampled (default 'spline'). */
  sampling?: Sampling;
  /**
   * Where the motion is trusted, the fine part of the unexplained change is dropped below this
   * size and kept above it (soft coring, 0–1 pixel units); undefined: always dropped.
   */
  coring?: number;
  /** How the previous input is resampled to measure the unexplained change (default 'bilinear'). */
  inputSampling?: Sampling;
  /** Per-pixel carry of the previous stylization (see carryMap); undefined: all of it. */
  anchor?: AnchorOptions;
}

export interface AnchorOptions {
  /** Carry everywhere, at most (1: none lost on a still scene). */
  base?: number;
  /** Unexplained luminance change (3×3 mean of |Δ|, 0–1) at which the carry falls to 1/e. */
  change?: number;
  /** Flow deformation (sum of |∂flow/∂x|, |∂flow/∂y|, px/px) at which the carry falls to 1/e. */
  deform?: number;
  /** Carry where the motion is not trusted. */
  untrusted?: number;
}

/**
 * How much of the previous painting's stylization (painting − its input) to carry into this
 * frame's start, per pixel ([1,H,W,1] in [0, 1]): less where the change is not explained, where
 * the flow stretches or shears the picture, where the motion is not trusted.
 */
function carryMap(change: tf.Tensor4D, anchor: AnchorOptions, flow?: tf.Tensor4D, mask?: tf.Tensor4D): tf.Tensor4D {
  const e = tf.avgPool(tf.abs(toGray(change)), 3, 1, 'same');
  let q = tf.exp(tf.neg(tf.square(tf.div(e, anchor.change ?? Number.POSITIVE_INFINITY)))) as tf.Tensor4D;
  if (flow && anchor.deform !== undefined) {
    const [, h, w] = flow.shape;
    const padded = tf.mirrorPad(flow, [[0, 0], [1, 1], [1, 1], [0, 0]], 'symmetric');
    const ddx = tf.depthwiseConv2d(tf.slice(padded, [0, 1, 0, 0], [1, h, w + 2, 2]), tf.tensor4d([-0.5, -0.5, 0, 0, 0.5, 0.5], [1, 3, 2, 1]), 1, 'valid');
    const ddy = tf.depthwiseConv2d(tf.slice(padded, [0, 0, 1, 0], [1, h + 2, w, 2]), tf.tensor4d([-0.5, -0.5, 0, 0, 0.5, 0.5], [3, 1, 2, 1]), 1, 'valid');
    const g = tf.conv2d(tf.add(tf.abs(ddx), tf.abs(ddy)) as tf.Tensor4D, tf.ones([1, 1, 2, 1]) as tf.Tensor4D, 1, 'valid');
    q = tf.mul(q, tf.exp(tf.div(tf.neg(g), anchor.deform)));
  }
  if (mask && anchor.untrusted !== undefined) q = tf.mul(q, tf.add(mask, tf.mul(tf.sub(1, mask), anchor.untrusted)));
  return tf.mul(q, anchor.base ?? 1);
}

/** current + carry·(start − current), the carry repeated over the channels. */
function anchored(start: tf.Tensor4D, current: tf.Tensor4D, carry: tf.Tensor4D): tf.Tensor4D {
  const c = current.shape[3];
  return tf.add(current, tf.mul(tf.sub(start, current), tf.conv2d(carry, tf.ones([1, 1, 1, c]) as tf.Tensor4D, 1, 'valid'))) as tf.Tensor4D;
}

/**
 * The cheap warm start (no motion estimate): the previous output plus the input's change, i.e.
 * this frame's input plus the previous stylization where it was.
 */
export function followChange(previous: tf.Tensor4D, current: tf.Tensor4D, previousOutput: tf.Tensor4D, anchor?: AnchorOptions): tf.Tensor4D {
  return tf.tidy(() => {
    const change = tf.sub(current, previous) as tf.Tensor4D;
    let start = tf.add(previousOutput, change) as tf.Tensor4D;
    if (anchor) start = anchored(start, current, carryMap(change, anchor));
    return tf.clipByValue(start, 0, 1);
  });
}

/** Scale a flow estimated on a smaller image up to h×w (positions and displacements). */
function upscaleFlow(flow: tf.Tensor4D, h: number, w: number): tf.Tensor4D {
  if (flow.shape[1] === h && flow.shape[2] === w) return flow;
  // Per-channel scale as a 1×1 convolution (dx by the width ratio, dy by the height ratio).
  return tf.conv2d(tf.image.resizeBilinear(flow, [h, w]), tf.tensor4d([w / flow.shape[2], 0, 0, h / flow.shape[1]], [1, 1, 2, 2]), 1, 'valid');
}

/** Side of the box that low-passes the unexplained change added to trusted pixels. */
const LOWPASS = 9;

export interface Followed {
  /** The warm start: the previous output carried along the motion. */
  warped: tf.Tensor4D;
  /**
   * 1 where the motion is trusted (forward/backward consistent, source inside the frame), else 0:
   * Ruder et al.'s c, the temporal loss's per-pixel weight.
   */
  mask: tf.Tensor4D;
}

/**
 * The motion-compensated warm start: the previous *output* carried along the motion between the
 * previous and the current *input* frame, plus the part of the input's change that the motion
 * does not explain; and, for the temporal loss, where the motion can be trusted.
 *
 * - Flow is estimated on luminance, the current frame's matched to the previous one's exposure.
 * - The forward flow is full resolution: warm starts and the temporal loss hold the output to it,
 *   so its errors become flicker. The backward flow only votes in the consistency mask, so it is
 *   estimated at half resolution.
 * - Resampling is a prefiltered cubic B-spline: bilinear resampling, frame after frame, blurs the
 *   strokes away, and nearest sampling makes sub-pixel motion stick, then jump.
 * - Where we differ from Ruder et al. (who start from the warped output alone): the unexplained
 *   change r = current − warp(previous input) is added — whole where the motion is not trusted
 *   (what appears from behind something shows through at once, and the steps paint over it),
 *   low-passed elsewhere (fades and lighting changes follow; sensor noise is not copied).
 *
 * `previous`/`current` are the input frames in the space the image is optimised in ([1,H,W,3]).
 */
export function followMotion(
  previous: tf.Tensor4D,
  current: tf.Tensor4D,
  previousOutput: tf.Tensor4D,
  options: FollowOptions = {},
): Followed {
  return tf.tidy(() => {
    const [, h, w] = current.shape;
    const previousGray = toGray(previous);
    const gray = matchExposure(toGray(current), previousGray);
    const forward = estimateFlow(previousGray, gray, { levels: 4, iterations: 3, window: 7, ...options.flow });
    const half = Math.min(h, w) >= 64;
    const shrink = (t: tf.Tensor4D): tf.Tensor4D => (half ? tf.avgPool(t, 2, 2, 'same') : t);
    const backward = estimateFlow(shrink(gray), shrink(previousGray), { levels: half ? 3 : 4, iterations: 3 });
    const mask = occlusionMask(forward, upscaleFlow(backward, h, w));
    const c = current.shape[3];
    // The mask repeated over the channels (a 1×1 convolution; broadcasting it is slow on wasm).
    const trusted = tf.conv2d(mask, tf.ones([1, 1, 1, c]) as tf.Tensor4D, 1, 'valid');
    const change = tf.sub(current, warp(previous, forward, options.inputSampling ?? 'bilinear')) as tf.Tensor4D;
    const lowpassed = tf.avgPool(change, LOWPASS, 1, 'same');
    let detail = tf.sub(change, lowpassed);
    if (options.coring !== undefined) {
      const squared = tf.square(detail);
      detail = tf.sub(detail, tf.mul(detail, tf.div(squared, tf.add(squared, options.coring * options.coring))));
    }
    const unexplained = tf.sub(change, tf.mul(detail, trusted));
    let start = tf.add(warp(previousOutput, forward, options.sampling ?? 'spline'), unexplained) as tf.Tensor4D;
    if (options.anchor) start = anchored(start, current, carryMap(change, options.anchor, forward, mask));
    const warped = tf.clipByValue(start, 0, 1) as tf.Tensor4D;
    return { warped, mask };
  });
}
