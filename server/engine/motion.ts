/**
 * Dense motion between consecutive frames, in TF.js ops, cheap enough for live use: pyramidal
 * Lucas–Kanade (coarse to fine, a few Gauss–Newton iterations a level, box windows) and a
 * forward/backward consistency mask for occlusions (Ruder et al. 2016 use the same test on
 * offline flow). Warping is in warp.ts, the warm start built from both in follow-motion.ts.
 *
 * Convention: `flow` at pixel x of the *current* frame points to where that pixel was in the
 * *previous* frame, so warp(previous, flow)(x) = previous(x + flow(x)) ≈ current(x).
 * Flow is [1,H,W,2], channels (dx, dy) in pixels. Callers wrap the results in tf.tidy.
 *
 * Written for the wasm backend's cost model at video sizes (≈ 10⁴ pixels), where an op's fixed
 * cost outweighs its arithmetic and some ops are ten times slower than others: elementwise ops
 * take same-shape or scalar operands only (broadcasting is slow), slices and concats run along
 * axis 0 only (channel slices are slow), lookups use gatherND (not gather), and convolutions
 * see channels-last tensors (warp.ts says more). Inside, x and y components are separate planes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { fromPlanes, pixelGrid, toPlanes, warpByPlanes } from './warp.js';

export interface FlowOptions {
  /** Pyramid levels (each halves the size); fewer when the image gets too small. */
  levels?: number;
  /** Gauss–Newton iterations per level. */
  iterations?: number;
  /** Side of the square summation window (odd). */
  window?: number;
  /** Added to the normal equations' diagonal (default RIDGE). */
  ridge?: number;
  /** Side of the box that smooths the field after each step (default SMOOTH). */
  smooth?: number;
}

/** Luminance, [1,H,W,3] in [0,1] → [1,H,W,1]. */
export function toGray(image: tf.Tensor4D): tf.Tensor4D {
  // A 1×1 convolution: on wasm, broadcasting a [3] vector over the image is several times slower.
  return tf.conv2d(image, tf.tensor4d([0.299, 0.587, 0.114], [1, 1, 3, 1]), 1, 'valid');
}
/** Added to the normal equations' diagonal: about the gradient energy of a flat, noisy patch. */
const RIDGE = 2e-5;
/** Side of the box that smooths the flow after each step. */
const SMOOTH = 5;

/**
 * Mean over a window×window box of a [1,H,W,1] plane, as two 1-D convolutions (avgPool is
 * slow on wasm), divided by how many pixels of the box lie inside the image (as avgPool does).
 */
function boxMean(plane: tf.Tensor4D, window: number, coverage: tf.Tensor4D): tf.Tensor4D {
  return tf.mul(boxSum(plane, window), coverage);
}

/** 1 / (pixels of the window×window box inside the image), per pixel. */
function boxCoverage(h: number, w: number, window: number): tf.Tensor4D {
  return tf.reciprocal(boxSum(tf.ones([1, h, w, 1]), window));
}

/** Sum over a window×window box, zero beyond the border (depthwise: faster than conv2d here). */
function boxSum(plane: tf.Tensor4D, window: number): tf.Tensor4D {
  const row = tf.ones([1, window, 1, 1]) as tf.Tensor4D;
  const column = tf.ones([window, 1, 1, 1]) as tf.Tensor4D;
  return tf.depthwiseConv2d(tf.depthwiseConv2d(plane, row, 1, 'same'), column, 1, 'same');
}

/**
 * Central-difference gradients ∂x, ∂y of a [1,H,W,1] image. The border is mirrored, not zero:
 * zero padding makes the frame's own edge the strongest "feature" in the image, and the flow
 * there sticks to it instead of following the scene.
 */
function gradients(gray: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] {
  const padded = tf.mirrorPad(gray, [[0, 0], [1, 1], [1, 1], [0, 0]], 'symmetric');
  const [, h, w] = gray.shape;
  return [
    tf.depthwiseConv2d(tf.slice(padded, [0, 1, 0, 0], [1, h, w + 2, 1]), tf.tensor4d([-0.5, 0, 0.5], [1, 3, 1, 1]), 1, 'valid'),
    tf.depthwiseConv2d(tf.slice(padded, [0, 0, 1, 0], [1, h + 2, w, 1]), tf.tensor4d([-0.5, 0, 0.5], [3, 1, 1, 1]), 1, 'valid'),
  ];
}

/**
 * One pyramid level: refine the flow planes so previous(x + flow) matches current(x). Where we
 * differ from textbook forward-additive Lucas–Kanade: the image gradients and the 2×2 systems
 * come from `current` once per level instead of from the warped image every iteration (the
 * inverse approximation DIS flow also uses; equal where the warp already fits).
 */
function refine(
  previous: tf.Tensor4D,
  current: tf.Tensor4D,
  start: [tf.Tensor4D, tf.Tensor4D],
  { iterations, window, ridge, smooth }: { iterations: number; window: number; ridge: number; smooth: number },
): [tf.Tensor4D, tf.Tensor4D] {
  const [, h, w] = current.shape;
  return tf.tidy(() => {
    const coverage = boxCoverage(h, w, window);
    const smoothCoverage = boxCoverage(h, w, smooth);
    const grid = pixelGrid(h, w);
    const [ix, iy] = gradients(current);
    // Per pixel, [a b; b d]·δ = [ex ey] summed over the window; a small ridge keeps flat areas at δ ≈ 0.
    const a = tf.add(boxMean(tf.square(ix), window, coverage), ridge);
    const b = boxMean(tf.mul(ix, iy), window, coverage);
    const d = tf.add(boxMean(tf.square(iy), window, coverage), ridge);
    const inverseDet = tf.reciprocal(tf.sub(tf.mul(a, d), tf.square(b)));
    const [a1, b1, d1] = [tf.mul(a, inverseDet), tf.mul(b, inverseDet), tf.mul(d, inverseDet)];
    let [dx, dy] = start;
    for (let i = 0; i < iterations; i++) {
      const flow = tf.reshape(tf.concat([dx, dy], 0), [2, h * w]) as tf.Tensor2D;
      const error = tf.sub(current, warpByPlanes(previous, flow, 'bilinear', grid));
      const ex = boxMean(tf.mul(ix, error), window, coverage);
      const ey = boxMean(tf.mul(iy, error), window, coverage);
      // δ = [d −b; −b a]·[ex ey] / det. One step never moves more than a pixel at this level:
      // Lucas–Kanade's linearisation holds.
      const du = tf.clipByValue(tf.sub(tf.mul(d1, ex), tf.mul(b1, ey)), -1, 1);
      const dv = tf.clipByValue(tf.sub(tf.mul(a1, ey), tf.mul(b1, ex)), -1, 1);
      // Smoothing the field after each step spreads motion from textured areas into flat ones,
      // where the local system says little (a Horn–Schunck-like regulariser, cheap).
      dx = boxMean(tf.add(dx, du) as tf.Tensor4D, smooth, smoothCoverage);
      dy = boxMean(tf.add(dy, dv) as tf.Tensor4D, smooth, smoothCoverage);
    }
    return [dx, dy];
  });
}

/** Flow from `current` back to `previous` (both [1,H,W,1] luminance in [0,1]). */
export function estimateFlow(previous: tf.Tensor4D, current: tf.Tensor4D, options: FlowOptions = {}): tf.Tensor4D {
  const window = options.window ?? 9;
  const iterations = options.iterations ?? 5;
  return tf.tidy(() => {
    const pyramid: [tf.Tensor4D, tf.Tensor4D][] = [[previous, current]];
    const wanted = options.levels ?? 4;
    while (pyramid.length < wanted) {
      const [p, c] = pyramid[pyramid.length - 1]!;
      if (Math.min(p.shape[1], p.shape[2]) < 32) break;
      pyramid.push([tf.avgPool(p, 2, 2, 'same'), tf.avgPool(c, 2, 2, 'same')]);
    }
    let flow: [tf.Tensor4D, tf.Tensor4D] | undefined;
    for (let level = pyramid.length - 1; level >= 0; level--) {
      const [p, c] = pyramid[level]!;
      const [, h, w] = p.shape;
      const up = (plane: tf.Tensor4D): tf.Tensor4D => tf.mul(tf.image.resizeBilinear(plane, [h, w]), 2);
      const start: [tf.Tensor4D, tf.Tensor4D] = flow ? [up(flow[0]), up(flow[1])] : [tf.zeros([1, h, w, 1]), tf.zeros([1, h, w, 1])];
      flow = refine(p, c, start, { iterations, window: level === 0 ? window : Math.max(5, window - 2), ridge: options.ridge ?? RIDGE, smooth: options.smooth ?? SMOOTH });
    }
    return fromPlanes(...flow!);
  });
}

/**
 * 1 where the motion is trustworthy, 0 where it is not: pixels whose source lies outside the
 * previous frame (disoccluded at the border) or whose forward and backward flows disagree
 * (occlusions, failures): |f + b(x+f)|² > 0.01·(|f|² + |b(x+f)|²) + 0.5.
 */
export function occlusionMask(forward: tf.Tensor4D, backward: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [, h, w] = forward.shape;
    const f = toPlanes(forward);
    const back = toPlanes(warpByPlanes(backward, f, 'bilinear'));
    const ones = tf.ones([1, 2]);
    const sumOfPlanes = (t: tf.Tensor): tf.Tensor => tf.matMul(ones, t as tf.Tensor2D);
    const disagreement = sumOfPlanes(tf.square(tf.add(f, back)));
    const bound = tf.add(tf.mul(tf.add(sumOfPlanes(tf.square(f)), sumOfPlanes(tf.square(back))), 0.01), 0.5);
    const consistent = tf.lessEqual(disagreement, bound);
    const grid = pixelGrid(h, w);
    const source = tf.add(grid.coords, f);
    const insideBoth = tf.logicalAnd(tf.greaterEqual(source, -0.5), tf.lessEqual(source, tf.add(grid.upper, 0.5)));
    const inside = tf.equal(tf.matMul(ones, tf.cast(insideBoth, 'float32')), 2);
    return tf.reshape(tf.cast(tf.logicalAnd(consistent, inside), 'float32'), [1, h, w, 1]) as tf.Tensor4D;
  });
}

/**
 * `gray` with the global mean and contrast of `reference`. Lucas–Kanade assumes brightness
 * constancy; a fade or an exposure change would otherwise read as motion.
 */
export function matchExposure(gray: tf.Tensor4D, reference: tf.Tensor4D): tf.Tensor4D {
  const { mean, variance } = tf.moments(gray);
  const target = tf.moments(reference);
  const gain = tf.sqrt(tf.div(tf.add(target.variance, 1e-6), tf.add(variance, 1e-6)));
  return tf.add(tf.mul(tf.sub(gray, mean), gain), target.mean);
}
