/**
 * The motion-compensated warm start for video: the previous painted frame carried along the
 * optical flow between the previous and the current input frame (motion.ts, warp.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { estimateFlow, matchExposure, occlusionMask, toGray, type FlowOptions } from './motion.js';
import { warp, type Sampling } from './warp.js';

/**
 * A learned painter's picture of this frame (issue 12), to blend with what is carried. Per pixel,
 * with c = persistence × the carry: start = frame + c·carried stylization + (1 − c)·(picture −
 * frame). Where the motion explains the frame, the previous painting mostly stays (a painter run
 * on each frame alone swims: its strokes are drawn anew as things move under them, 4× the flow
 * chain's flicker on the cockatoo); where it does not, and a little everywhere each frame, the
 * painter's fresh picture comes in, so nothing drifts: the stylization is a moving average of the
 * painter's along the motion.
 */
export interface PainterBlend {
  picture: tf.Tensor4D;
  /** How much of the carried stylization stays where the motion is trusted (0–1). */
  persistence: number;
}

export interface FollowOptions {
  /** Forward flow settings (default: full resolution, 4 levels, 3 iterations, 7-pixel window). */
  flow?: FlowOptions;
  /** How the previous output is resampled (default 'spline'). */
  sampling?: Sampling;
  painter?: PainterBlend;
  /**
   * The cheap follow: the forward flow only, estimated at half size and scaled up, and no
   * occlusion mask (all ones). For frames with no optimiser step, where the mask (the temporal
   * loss's weight) is not used: at 256×144 on wasm here it costs 56 ms, the full follow 149–178 ms.
   */
  light?: boolean;
}

/**
 * The residual warm start's carry: how much of the previous painting's stylization survives a
 * change of the input, per pixel: base · exp(−(e / CHANGE)²), e the 3×3 mean of |Δ luminance|.
 *
 * Why: without a motion estimate the stylization (painting − its input) stays put on the screen
 * while the picture moves under it. Carried whole, it holds the edges of where things *were*
 * (ghosts of the old frame: window bars, a beak two positions back); one or two steps a frame
 * cannot pull them out, so they pile up and the picture melts (issue 11; `npm run bench --
 * quality --long`, README). Where the input did not change it is still right and is kept; where
 * edges moved it is dropped and painted again from this frame's input. Base below 1 lets even a
 * still scene's stylization renew itself (no endless build-up of one screen-fixed pattern).
 */
export const RESIDUAL_CARRY = { change: 0.05, base: 1 } as const;

/**
 * The cheap warm start (no motion estimate): this frame's input plus the previous painting's
 * stylization, carried per pixel as RESIDUAL_CARRY says. Inputs [1,H,W,C] in [0, 1].
 */
export function followChange(previous: tf.Tensor4D, current: tf.Tensor4D, previousOutput: tf.Tensor4D, painter?: PainterBlend): tf.Tensor4D {
  return tf.tidy(() => {
    const e = tf.avgPool(tf.abs(toGray(tf.sub(current, previous) as tf.Tensor4D)), 3, 1, 'same');
    const carry = tf.mul(tf.exp(tf.neg(tf.square(tf.div(e, RESIDUAL_CARRY.change)))), RESIDUAL_CARRY.base) as tf.Tensor4D;
    // Over the channels as a 1×1 convolution (broadcasting is slow on wasm).
    const perChannel = tf.conv2d(carry, tf.ones([1, 1, 1, current.shape[3]]) as tf.Tensor4D, 1, 'valid');
    return blend(current, tf.sub(previousOutput, previous) as tf.Tensor4D, perChannel, painter);
  });
}

/** frame + carry·stylization, or with a painter's picture the blend PainterBlend describes; in [0, 1]. */
function blend(current: tf.Tensor4D, stylization: tf.Tensor4D, carry: tf.Tensor4D, painter: PainterBlend | undefined): tf.Tensor4D {
  if (!painter) return tf.clipByValue(tf.add(current, tf.mul(stylization, carry)), 0, 1) as tf.Tensor4D;
  const c = tf.mul(carry, painter.persistence);
  const fresh = tf.sub(painter.picture, current);
  return tf.clipByValue(tf.add(tf.add(current, fresh), tf.mul(c, tf.sub(stylization, fresh))), 0, 1) as tf.Tensor4D;
}

/** Scale a flow estimated on a smaller image up to h×w (positions and displacements). */
function upscaleFlow(flow: tf.Tensor4D, h: number, w: number): tf.Tensor4D {
  if (flow.shape[1] === h && flow.shape[2] === w) return flow;
  // Per-channel scale as a 1×1 convolution (dx by the width ratio, dy by the height ratio).
  return tf.conv2d(tf.image.resizeBilinear(flow, [h, w]), tf.tensor4d([w / flow.shape[2], 0, 0, h / flow.shape[1]], [1, 1, 2, 2]), 1, 'valid');
}

/** Side of the box whose mean is taken out of the unexplained change: what is left is edges. */
const LOWPASS = 9;

/**
 * The flow warm start's carry: how much of the previous painting's stylization survives, per
 * pixel, given e = the 3×3 mean of the unexplained change's high-pass luminance (edges the motion
 * did not bring to where they are now): exp(−(e / EDGE_CHANGE)²).
 */
export const FLOW_CARRY = { edgeChange: 0.04 } as const;

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
 * The motion-compensated warm start: this frame's input plus the previous painting's
 * stylization (output − input) carried along the motion between the previous and the current
 * *input* frame; and, for the temporal loss, where the motion can be trusted.
 *
 * - Flow is estimated on luminance, the current frame's matched to the previous one's exposure.
 * - The forward flow is full resolution: warm starts and the temporal loss hold the output to it,
 *   so its errors become flicker. The backward flow only votes in the consistency mask, so it is
 *   estimated at half resolution.
 * - Resampling is a prefiltered cubic B-spline: bilinear resampling, frame after frame, blurs the
 *   strokes away, and nearest sampling makes sub-pixel motion stick, then jump.
 * - Where we differ from Ruder et al. (who start from the warped output alone): only the
 *   stylization travels along the flow; the picture under it is always this frame's input.
 *   Carrying the whole output made every frame's detail a resampled copy of the last one's:
 *   sub-pixel flow errors piled up along the warp chain, the temporal loss held them, and two
 *   steps a frame could not pull back (issue 11: a file job's structure drift 1.43 over the
 *   cockatoo clip; `npm run bench -- quality --long`). And the stylization is carried per pixel
 *   (FLOW_CARRY): kept where the motion explains the new frame, dropped where edges appeared that
 *   the motion did not bring (occlusions, flow errors), so those are painted again from the input.
 *   A fade or a lighting change is low-frequency: it leaves the carry whole.
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
    const half = Math.min(h, w) >= 64;
    const shrink = (t: tf.Tensor4D): tf.Tensor4D => (half ? tf.avgPool(t, 2, 2, 'same') : t);
    const forward = options.light
      ? upscaleFlow(estimateFlow(shrink(previousGray), shrink(gray), { levels: half ? 3 : 4, iterations: 3, window: 7, ...options.flow }), h, w)
      : estimateFlow(previousGray, gray, { levels: 4, iterations: 3, window: 7, ...options.flow });
    const mask = options.light
      ? (tf.ones([1, h, w, 1]) as tf.Tensor4D)
      : occlusionMask(forward, upscaleFlow(estimateFlow(shrink(gray), shrink(previousGray), { levels: half ? 3 : 4, iterations: 3 }), h, w));
    const c = current.shape[3];
    // The change the motion does not explain, on luminance, with its low frequencies (fades,
    // lighting) taken out: edges where the carried stylization would be wrong.
    const change = tf.sub(gray, warp(previousGray, forward, 'bilinear')) as tf.Tensor4D;
    const edges = tf.abs(tf.sub(change, tf.avgPool(change, LOWPASS, 1, 'same')));
    const e = tf.avgPool(edges as tf.Tensor4D, 3, 1, 'same');
    const carry = tf.exp(tf.neg(tf.square(tf.div(e, FLOW_CARRY.edgeChange))));
    // Over the channels as a 1×1 convolution (broadcasting is slow on wasm).
    const perChannel = tf.conv2d(carry as tf.Tensor4D, tf.ones([1, 1, 1, c]) as tf.Tensor4D, 1, 'valid');
    // warp is linear: warp(output) − warp(input) = warp(output − input), one resampling.
    const stylization = warp(tf.sub(previousOutput, previous) as tf.Tensor4D, forward, options.sampling ?? 'spline');
    const warped = blend(current, stylization, perChannel, options.painter);
    return { warped, mask };
  });
}
