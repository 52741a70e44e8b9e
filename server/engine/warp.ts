/**
 * Warping an image by a flow field: previous(x + flow(x)), with bilinear, Catmull–Rom,
 * prefiltered cubic B-spline or nearest sampling (motion.ts has the flow convention).
 *
 * Written for the wasm backend's cost model at video sizes (≈ 10⁴ pixels), where an op's fixed
 * cost outweighs its arithmetic and some ops are ten times slower than others: elementwise ops
 * take same-shape or scalar operands only (broadcasting is slow), slices and concats run along
 * axis 0 only (channel slices are slow), lookups use gatherND (not gather), and convolutions
 * see channels-last tensors. Flow components travel as planes ([2, H·W]: x then y).
 */
import * as tf from '@tensorflow/tfjs-core';

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
 * The prefilter turns pixel values into cubic B-spline coefficients (Unser 1991): the inverse
 * of the [1, 4, 1]/6 kernel, h[k] = √3·(√3 − 2)^|k|, truncated at |k| ≤ 12 and rescaled to sum
 * to 1, so flat areas stay exactly flat. The tail it drops is below 10⁻⁶. A shorter filter
 * (|k| ≤ 6, a 10⁻⁴ tail) is not enough: a video warps the painting once per frame, and a
 * still scene's painting then moved by 0.4/255 a frame, 30/255 after 300 frames.
 */
const SPLINE_PREFILTER_RADIUS = 12;

/** The prefilter's taps out to |k| ≤ r, summing to 1. */
function splinePrefilter(r: number): number[] {
  const taps = Array.from({ length: 2 * r + 1 }, (_, i) => Math.sqrt(3) * (Math.sqrt(3) - 2) ** Math.abs(i - r));
  const sum = taps.reduce((a, b) => a + b, 0);
  return taps.map((t) => t / sum);
}

function splineCoefficients(image: tf.Tensor4D): tf.Tensor4D {
  const [, h, w, c] = image.shape;
  // A mirrored pad cannot be wider than the image: tiny images get a shorter filter.
  const r = Math.min(SPLINE_PREFILTER_RADIUS, h, w);
  // The same taps for every channel, [tap][channel] (depthwise filter layout).
  const taps = splinePrefilter(r).flatMap((t) => new Array<number>(c).fill(t));
  const alongX = tf.tensor4d(taps, [1, 2 * r + 1, c, 1]);
  const alongY = tf.tensor4d(taps, [2 * r + 1, 1, c, 1]);
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
export function pixelGrid(h: number, w: number): { coords: tf.Tensor2D; upper: tf.Tensor2D } {
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
export function toPlanes(flow: tf.Tensor4D): tf.Tensor2D {
  const [, h, w] = flow.shape;
  return tf.transpose(tf.reshape(flow, [h * w, 2])) as tf.Tensor2D;
}

/** x and y planes ([1,H,W,1] each) → [1,H,W,2]. */
export function fromPlanes(dx: tf.Tensor4D, dy: tf.Tensor4D): tf.Tensor4D {
  return tf.transpose(tf.concat([dx, dy], 0), [3, 1, 2, 0]) as tf.Tensor4D;
}

/**
 * previous(x + flow(x)); sources outside the image are mirrored back in.
 * - 'bilinear': cheap, but resampling frame after frame blurs brush strokes.
 * - 'bicubic' (Catmull–Rom): sharper; still loses some texture on each sub-pixel shift.
 * - 'spline': prefiltered cubic B-spline (Unser), the sharpest.
 * - 'nearest': no blur at all, but sub-pixel motion is lost (texture sticks, then jumps).
 */
export function warp(image: tf.Tensor4D, flow: tf.Tensor4D, sampling: Sampling = 'bilinear'): tf.Tensor4D {
  return tf.tidy(() => warpByPlanes(image, toPlanes(flow), sampling));
}

/**
 * warp() with the flow already as planes ([2, H·W]); for the flow estimator's inner loop, which
 * passes the pixel grid it made once per pyramid level.
 */
export function warpByPlanes(image: tf.Tensor4D, flow: tf.Tensor2D, sampling: Sampling, grid = pixelGrid(image.shape[1], image.shape[2])): tf.Tensor4D {
  const [, h, w, c] = image.shape;
  const n = h * w;
  // Sources outside the image are mirrored back in (x → −x, x → 2·(w−1) − x): a band entering
  // the frame starts from mirrored texture rather than the border pixel smeared into streaks.
  const unbounded = tf.add(grid.coords, flow);
  const mirrored = tf.sub(grid.upper, tf.abs(tf.sub(grid.upper, tf.abs(unbounded))));
  const coords = tf.minimum(tf.maximum(mirrored, 0), grid.upper);
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
