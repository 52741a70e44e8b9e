/**
 * Dense motion between consecutive frames, in TF.js ops, cheap enough for live use: pyramidal
 * Lucas–Kanade (coarse to fine, a few Gauss–Newton iterations a level, box windows), bilinear
 * warping by a flow field, and a forward/backward consistency mask for occlusions (Ruder et al.
 * 2016 use the same test on offline flow).
 *
 * Convention: `flow` at pixel x of the *current* frame points to where that pixel was in the
 * *previous* frame, so warp(previous, flow)(x) = previous(x + flow(x)) ≈ current(x).
 * Flow channels are (dx, dy) in pixels. Everything here is plain math: callers wrap it in tf.tidy.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface FlowOptions {
  /** Pyramid levels (each halves the size); fewer when the image gets too small. */
  levels?: number;
  /** Gauss–Newton iterations per level. */
  iterations?: number;
  /** Side of the square summation window (odd). */
  window?: number;
}

/** Luminance, [1,H,W,3] in [0,1] → [1,H,W,1]. */
export function toGray(image: tf.Tensor4D): tf.Tensor4D {
  return tf.sum(tf.mul(image, tf.tensor1d([0.299, 0.587, 0.114])), 3, true) as tf.Tensor4D;
}

/**
 * previous(x + flow(x)), samples outside clamped to the border. 'bilinear' interpolates;
 * 'nearest' takes the closest pixel, which keeps painted texture sharp: repeated bilinear
 * resampling, frame after frame, blurs brush strokes away faster than a step or two restores them.
 */
export function warp(image: tf.Tensor4D, flow: tf.Tensor4D, sampling: 'bilinear' | 'nearest' = 'bilinear'): tf.Tensor4D {
  const [, h, w, c] = image.shape;
  const [dx, dy] = tf.split(flow, 2, 3) as [tf.Tensor4D, tf.Tensor4D];
  const snap = (t: tf.Tensor): tf.Tensor => (sampling === 'nearest' ? tf.round(t) : t);
  const xs = tf.clipByValue(snap(tf.add(tf.reshape(tf.range(0, w, 1, 'float32'), [1, 1, w, 1]), dx)), 0, w - 1);
  const ys = tf.clipByValue(snap(tf.add(tf.reshape(tf.range(0, h, 1, 'float32'), [1, h, 1, 1]), dy)), 0, h - 1);
  const x0 = tf.floor(xs);
  const y0 = tf.floor(ys);
  const fx = tf.sub(xs, x0);
  const fy = tf.sub(ys, y0);
  const x1 = tf.minimum(tf.add(x0, 1), w - 1);
  const y1 = tf.minimum(tf.add(y0, 1), h - 1);
  const flat = tf.reshape(image, [h * w, c]);
  const sample = (y: tf.Tensor, x: tf.Tensor): tf.Tensor =>
    tf.reshape(tf.gather(flat, tf.cast(tf.reshape(tf.add(tf.mul(y, w), x), [h * w]), 'int32')), [1, h, w, c]);
  const top = tf.add(tf.mul(sample(y0, x0), tf.sub(1, fx)), tf.mul(sample(y0, x1), fx));
  const bottom = tf.add(tf.mul(sample(y1, x0), tf.sub(1, fx)), tf.mul(sample(y1, x1), fx));
  return tf.add(tf.mul(top, tf.sub(1, fy)), tf.mul(bottom, fy)) as tf.Tensor4D;
}

/** Added to the normal equations' diagonal: about the gradient energy of a flat, noisy patch. */
const RIDGE = 2e-5;
/** Side of the box that smooths the flow after each step. */
const SMOOTH = 5;

/** Central-difference gradients of a [1,H,W,1] image (zero at the border rows/columns). */
function gradients(gray: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] {
  const kx = tf.tensor4d([-0.5, 0, 0.5], [1, 3, 1, 1]);
  const ky = tf.tensor4d([-0.5, 0, 0.5], [3, 1, 1, 1]);
  return [tf.conv2d(gray, kx, 1, 'same'), tf.conv2d(gray, ky, 1, 'same')];
}

function boxSum(t: tf.Tensor4D, window: number): tf.Tensor4D {
  return tf.avgPool(t, window, 1, 'same');
}

/** One pyramid level: refine `flow` so previous(x + flow) matches current(x). */
function refine(previous: tf.Tensor4D, current: tf.Tensor4D, flow: tf.Tensor4D, iterations: number, window: number): tf.Tensor4D {
  for (let i = 0; i < iterations; i++) {
    const next = tf.tidy(() => {
      const warped = warp(previous, flow);
      const [ix, iy] = gradients(warped);
      const error = tf.sub(current, warped);
      const a = boxSum(tf.square(ix), window);
      const b = boxSum(tf.mul(ix, iy), window);
      const d = boxSum(tf.square(iy), window);
      const ex = boxSum(tf.mul(ix, error), window);
      const ey = boxSum(tf.mul(iy, error), window);
      // Solve [a b; b d]·δ = [ex ey] per pixel; a small ridge keeps flat areas at δ ≈ 0.
      const ridge = RIDGE;
      const aa = tf.add(a, ridge);
      const dd = tf.add(d, ridge);
      const det = tf.sub(tf.mul(aa, dd), tf.square(b));
      const du = tf.div(tf.sub(tf.mul(dd, ex), tf.mul(b, ey)), det);
      const dv = tf.div(tf.sub(tf.mul(aa, ey), tf.mul(b, ex)), det);
      // One step never moves more than a pixel at this level: Lucas–Kanade's linearisation holds.
      const step = tf.clipByValue(tf.concat([du, dv], 3), -1, 1);
      // Smoothing the field after each step spreads motion from textured areas into flat ones,
      // where the local system says little (a Horn–Schunck-like regulariser, cheap).
      return tf.avgPool(tf.add(flow, step) as tf.Tensor4D, SMOOTH, 1, 'same');
    });
    if (i > 0) flow.dispose();
    flow = next;
  }
  return flow;
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
    let flow: tf.Tensor4D | undefined;
    for (let level = pyramid.length - 1; level >= 0; level--) {
      const [p, c] = pyramid[level]!;
      const [, h, w] = p.shape;
      flow = flow ? (tf.mul(tf.image.resizeBilinear(flow, [h, w]), 2) as tf.Tensor4D) : (tf.zeros([1, h, w, 2]) as tf.Tensor4D);
      flow = refine(p, c, flow, iterations, level === 0 ? window : Math.max(5, window - 2));
    }
    return flow!;
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
    const back = warp(backward, forward);
    const sum = tf.sum(tf.square(tf.add(forward, back)), 3, true);
    const bound = tf.add(tf.mul(tf.add(tf.sum(tf.square(forward), 3, true), tf.sum(tf.square(back), 3, true)), 0.01), 0.5);
    const consistent = tf.lessEqual(sum, bound);
    const [dx, dy] = tf.split(forward, 2, 3) as [tf.Tensor4D, tf.Tensor4D];
    const xs = tf.add(tf.reshape(tf.range(0, w, 1, 'float32'), [1, 1, w, 1]), dx);
    const ys = tf.add(tf.reshape(tf.range(0, h, 1, 'float32'), [1, h, 1, 1]), dy);
    const inside = tf.logicalAnd(
      tf.logicalAnd(tf.greaterEqual(xs, -0.5), tf.lessEqual(xs, w - 0.5)),
      tf.logicalAnd(tf.greaterEqual(ys, -0.5), tf.lessEqual(ys, h - 0.5)),
    );
    return tf.cast(tf.logicalAnd(consistent, inside), 'float32') as tf.Tensor4D;
  });
}
