/**
 * Dense motion between consecutive frames, in TF.js ops, cheap enough for live use: pyramidal
 * Lucas–Kanade (coarse to fine, a few Gauss–Newton iterations a level, box windows), warping by
 * a flow field (bilinear, Catmull–Rom or prefiltered cubic B-spline), and a forward/backward
 * consistency mask for occlusions (Ruder et al. 2016 use the same test on offline flow).
 *
 * Convention: `flow` at pixel x of the *current* frame points to where that pixel was in the
 * *previous* frame, so warp(previous, flow)(x) = previous(x + flow(x)) ≈ current(x).
 * Flow is [1,H,W,2], channels (dx, dy) in pixels. Callers wrap the results in tf.tidy.
 *
 * Written for the wasm backend's cost model at video sizes (≈ 10⁴ pixels), where an op's fixed
 * cost outweighs its arithmetic and some ops are ten times slower than others: elementwise ops
 * take same-shape or scalar operands only (broadcasting is slow), slices and concats run along
 * axis 0 only (channel slices are slow), lookups use gatherND (not gather), and convolutions
 * see channels-last tensors. Inside, x and y components are kept as separate planes.
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
  // A 1×1 convolution: on wasm, broadcasting a [3] vector over the image is several times slower.
  return tf.conv2d(image, tf.tensor4d([0.299, 0.587, 0.114], [1, 1, 3, 1]), 1, 'valid');
}

export type Sampling = 'nearest' | 'bilinear' | 'bicubic' | 'spline';

/** Taps (offsets from floor(x)) and their weights at fraction t, per interpolating kernel. */
const KERNELS: Record<Exclude<Sampling, 'nearest'>, { offsets: number[]; weights: (t: tf.Tensor) => tf.Tensor[] }> = {
  bilinear: { offsets: [0, 1], weights: (t) => [tf.sub(1, t), t] },
  // Catmull–Rom: w(−1) = (−t³ + 2t² − t)/2, w(0) = (3t³ − 5t² + 2)/2, w(1) = (−3t³ + 4t² + t)/2, w(2) = (t³ − t²)/2
  bicubic: {
    offsets: [-1, 0, 1, 2],
    weights: (t) => {
      const t2 = tf.square(t);
      const t3 = tf.mul(t2, t);
      return [
        tf.mul(tf.sub(tf.sub(tf.mul(t2, 2), t3), t), 0.5),
        tf.add(tf.mul(tf.sub(tf.mul(t3, 3), tf.mul(t2, 5)), 0.5), 1),
        tf.mul(tf.add(tf.add(tf.mul(t3, -3), tf.mul(t2, 4)), t), 0.5),
        tf.mul(tf.sub(t3, t2), 0.5),
      ];
    },
  },
  // Cubic B-spline: w(−1) = (1−t)³/6, w(0) = (3t³ − 6t² + 4)/6, w(1) = (−3t³ + 3t² + 3t + 1)/6, w(2) = t³/6
  spline: {
    offsets: [-1, 0, 1, 2],
    weights: (t) => {
      const t2 = tf.square(t);
      const t3 = tf.mul(t2, t);
      return [
        tf.div(tf.mul(tf.square(tf.sub(1, t)), tf.sub(1, t)), 6),
        tf.add(tf.mul(tf.sub(tf.mul(t3, 3), tf.mul(t2, 6)), 1 / 6), 2 / 3),
        tf.add(tf.mul(tf.add(tf.add(tf.mul(t3, -3), tf.mul(t2, 3)), tf.mul(t, 3)), 1 / 6), 1 / 6),
        tf.div(t3, 6),
      ];
    },
  },
};

/**
 * Prefilter that turns pixel values into cubic B-spline coefficients (Unser 1991): the inverse
 * of the [1, 4, 1]/6 kernel, h[k] = √3·(√3 − 2)^|k|, truncated at |k| ≤ 6 and rescaled to sum to
 * 1, so flat areas stay exactly flat (the tail it drops is below 0.1 %).
 */
const SPLINE_PREFILTER = ((): number[] => {
  const taps = [-6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6].map((k) => Math.sqrt(3) * (Math.sqrt(3) - 2) ** Math.abs(k));
  const sum = taps.reduce((a, b) => a + b, 0);
  return taps.map((t) => t / sum);
})();

function splineCoefficients(image: tf.Tensor4D): tf.Tensor4D {
  const c = image.shape[3];
  const r = (SPLINE_PREFILTER.length - 1) / 2;
  const taps = tf.tensor1d(SPLINE_PREFILTER);
  const alongX = tf.reshape(tf.tile(tf.reshape(taps, [1, -1, 1, 1]), [1, 1, c, 1]), [1, 2 * r + 1, c, 1]) as tf.Tensor4D;
  const alongY = tf.reshape(alongX, [2 * r + 1, 1, c, 1]) as tf.Tensor4D;
  const padded = tf.mirrorPad(image, [[0, 0], [r, r], [r, r], [0, 0]], 'symmetric');
  return tf.depthwiseConv2d(tf.depthwiseConv2d(padded, alongX, 1, 'valid'), alongY, 1, 'valid');
}

interface Grid {
  /** x then y of every pixel, [2, H·W]. */
  readonly coords: Float32Array;
  /** The largest valid x then y, [2, H·W]. */
  readonly upper: Float32Array;
}
const grids = new Map<string, Grid>();

/** Pixel coordinates and their bounds, built in JS once per size (tf.tile is slow on wasm). */
function pixelGrid(h: number, w: number): { coords: tf.Tensor2D; upper: tf.Tensor2D } {
  const key = `${w}x${h}`;
  let grid = grids.get(key);
  if (!grid) {
    const coords = new Float32Array(2 * h * w);
    const upper = new Float32Array(2 * h * w);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        coords[y * w + x] = x;
        coords[h * w + y * w + x] = y;
      }
    }
    upper.fill(w - 1, 0, h * w).fill(h - 1, h * w);
    grid = { coords, upper };
    if (grids.size > 16) grids.clear();
    grids.set(key, grid);
  }
  return { coords: tf.tensor2d(grid.coords, [2, h * w]), upper: tf.tensor2d(grid.upper, [2, h * w]) };
}

/** [1,H,W,2] → its x and y planes as one [2, H·W] tensor. */
function toPlanes(flow: tf.Tensor4D): tf.Tensor2D {
  const [, h, w] = flow.shape;
  return tf.transpose(tf.reshape(flow, [h * w, 2])) as tf.Tensor2D;
}

/** x and y planes ([1,H,W,1] each) → [1,H,W,2]. */
function fromPlanes(dx: tf.Tensor4D, dy: tf.Tensor4D): tf.Tensor4D {
  return tf.transpose(tf.concat([dx, dy], 0), [3, 1, 2, 0]) as tf.Tensor4D;
}

/**
 * previous(x + flow(x)); samples outside are taken from the mirrored border.
 * - 'bilinear': cheap, but resampling frame after frame blurs brush strokes.
 * - 'bicubic' (Catmull–Rom): sharper; still loses some texture on each sub-pixel shift.
 * - 'spline': prefiltered cubic B-spline (Unser), the sharpest.
 * - 'nearest': no blur at all, but sub-pixel motion is lost (texture sticks, then jumps).
 */
export function warp(image: tf.Tensor4D, flow: tf.Tensor4D, sampling: Sampling = 'bilinear'): tf.Tensor4D {
  return tf.tidy(() => warpByPlanes(image, toPlanes(flow), sampling));
}

function warpByPlanes(image: tf.Tensor4D, flow: tf.Tensor2D, sampling: Sampling): tf.Tensor4D {
  const [, h, w, c] = image.shape;
  const n = h * w;
  const grid = pixelGrid(h, w);
  const coords = tf.minimum(tf.maximum(tf.add(grid.coords, flow), 0), grid.upper);
  if (sampling === 'nearest') {
    const [x, y] = tf.split(tf.floor(tf.add(coords, 0.5)), 2, 0);
    const index = tf.cast(tf.add(tf.mul(y!, w), x!), 'int32');
    return tf.reshape(tf.gatherND(tf.reshape(image, [n, c]), tf.reshape(index, [n, 1])), [1, h, w, c]) as tf.Tensor4D;
  }
  const { offsets, weights } = KERNELS[sampling];
  const k = offsets.length;
  const before = -offsets[0]!;
  const after = offsets[k - 1]!;
  const source = sampling === 'spline' ? splineCoefficients(image) : image;
  const padded = before + after > 0 ? tf.mirrorPad(source, [[0, 0], [before, after], [before, after], [0, 0]], 'symmetric') : source;
  const pw = w + before + after;
  const base = tf.floor(coords);
  const [fx, fy] = tf.split(tf.sub(coords, base), 2, 0);
  const [bx, by] = tf.split(base, 2, 0);
  // Index of each tap in the padded image: (y + before + oy)·pw + (x + before + ox).
  const flat = tf.reshape(padded, [-1, c]);
  const wx = weights(fx!).map((t) => tf.reshape(t, [n, 1]));
  const wy = weights(fy!).map((t) => tf.reshape(t, [n, 1]));
  const origin = tf.reshape(tf.add(tf.mul(by!, pw), bx!), [n, 1]);
  // One lookup per tap, weighted and summed: a reduction over a stacked tap axis costs more here.
  const weighted = offsets.flatMap((oy, j) =>
    offsets.map((ox, i) => {
      const index = tf.cast(tf.add(origin, (oy + before) * pw + ox + before), 'int32');
      return tf.mul(tf.gatherND(flat, index), tf.mul(wy[j]!, wx[i]!));
    }),
  );
  return tf.reshape(tf.addN(weighted), [1, h, w, c]) as tf.Tensor4D;
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

/** Central-difference gradients ∂x, ∂y of a [1,H,W,1] image (zero beyond the border). */
function gradients(gray: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] {
  return [
    tf.depthwiseConv2d(gray, tf.tensor4d([-0.5, 0, 0.5], [1, 3, 1, 1]), 1, 'same'),
    tf.depthwiseConv2d(gray, tf.tensor4d([-0.5, 0, 0.5], [3, 1, 1, 1]), 1, 'same'),
  ];
}

/**
 * One pyramid level: refine the flow planes so previous(x + flow) matches current(x). Where we
 * differ from textbook forward-additive Lucas–Kanade: the image gradients and the 2×2 systems
 * come from `current` once per level instead of from the warped image every iteration (the
 * inverse approximation DIS flow also uses; equal where the warp already fits).
 */
function refine(previous: tf.Tensor4D, current: tf.Tensor4D, start: [tf.Tensor4D, tf.Tensor4D], iterations: number, window: number): [tf.Tensor4D, tf.Tensor4D] {
  const [, h, w] = current.shape;
  return tf.tidy(() => {
    const coverage = boxCoverage(h, w, window);
    const smoothCoverage = boxCoverage(h, w, SMOOTH);
    const [ix, iy] = gradients(current);
    // Per pixel, [a b; b d]·δ = [ex ey] summed over the window; a small ridge keeps flat areas at δ ≈ 0.
    const a = tf.add(boxMean(tf.square(ix), window, coverage), RIDGE);
    const b = boxMean(tf.mul(ix, iy), window, coverage);
    const d = tf.add(boxMean(tf.square(iy), window, coverage), RIDGE);
    const inverseDet = tf.reciprocal(tf.sub(tf.mul(a, d), tf.square(b)));
    const [a1, b1, d1] = [tf.mul(a, inverseDet), tf.mul(b, inverseDet), tf.mul(d, inverseDet)];
    let [dx, dy] = start;
    for (let i = 0; i < iterations; i++) {
      const flow = tf.reshape(tf.concat([dx, dy], 0), [2, h * w]) as tf.Tensor2D;
      const error = tf.sub(current, warpByPlanes(previous, flow, 'bilinear'));
      const ex = boxMean(tf.mul(ix, error), window, coverage);
      const ey = boxMean(tf.mul(iy, error), window, coverage);
      // δ = [d −b; −b a]·[ex ey] / det. One step never moves more than a pixel at this level:
      // Lucas–Kanade's linearisation holds.
      const du = tf.clipByValue(tf.sub(tf.mul(d1, ex), tf.mul(b1, ey)), -1, 1);
      const dv = tf.clipByValue(tf.sub(tf.mul(a1, ey), tf.mul(b1, ex)), -1, 1);
      // Smoothing the field after each step spreads motion from textured areas into flat ones,
      // where the local system says little (a Horn–Schunck-like regulariser, cheap).
      dx = boxMean(tf.add(dx, du) as tf.Tensor4D, SMOOTH, smoothCoverage);
      dy = boxMean(tf.add(dy, dv) as tf.Tensor4D, SMOOTH, smoothCoverage);
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
      flow = refine(p, c, start, iterations, level === 0 ? window : Math.max(5, window - 2));
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

export interface FollowOptions {
  /** Also return the occlusion mask for the temporal loss. */
  mask: boolean;
  /** Forward flow settings (default: full resolution, 4 levels, 5 iterations, 7-pixel window). */
  flow?: FlowOptions;
  /** How the previous output is resampled (default 'spline'). */
  sampling?: Sampling;
}

/** Scale a flow estimated on a smaller image up to h×w (positions and displacements). */
function upscaleFlow(flow: tf.Tensor4D, h: number, w: number): tf.Tensor4D {
  if (flow.shape[1] === h && flow.shape[2] === w) return flow;
  // Per-channel scale as a 1×1 convolution (dx by the width ratio, dy by the height ratio).
  return tf.conv2d(tf.image.resizeBilinear(flow, [h, w]), tf.tensor4d([w / flow.shape[2], 0, 0, h / flow.shape[1]], [1, 1, 2, 2]), 1, 'valid');
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

/** Side of the box that low-passes the unexplained change added to trusted pixels. */
const LOWPASS = 9;

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
  options: FollowOptions,
): { warped: tf.Tensor4D; mask: tf.Tensor4D | undefined } {
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
    const change = tf.sub(current, warp(previous, forward, 'bilinear')) as tf.Tensor4D;
    const lowpassed = tf.avgPool(change, LOWPASS, 1, 'same');
    const unexplained = tf.add(change, tf.mul(tf.sub(lowpassed, change), trusted));
    const warped = tf.clipByValue(tf.add(warp(previousOutput, forward, options.sampling ?? 'spline'), unexplained), 0, 1) as tf.Tensor4D;
    return { warped, mask: options.mask ? mask : undefined };
  });
}
