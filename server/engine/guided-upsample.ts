/**
 * Guided upsampling of a painting made below the output size (live deadline mode): the full-
 * resolution input frame puts back the sharp edges a plain resize cannot, where — and only
 * where — the painting follows the photo.
 *
 *   out_c = up(P_c) + A_c · (I − up(i))
 *
 * P: the painting at the working size; i, I: the photo's luminance at the working and at the
 * output size, so I − up(i) is exactly the detail the working size lost; up: a cubic resize.
 * A_c is the local linear fit of the painting to the photo, as in He et al.'s guided filter
 * (a = cov(i, P_c) / (var(i) + ε) over a (2r+1)² window at the working size, averaged over the
 * window, then upsampled with the rest): about 1 where the painting keeps an edge of the photo, so
 * the edge comes back sharp; about 0 where the painting paints its own strokes over flat or
 * unrelated parts of the photo, so no photo texture is pasted over the painting. With A ≡ 1 this
 * is the plain detail transfer up(P − p) + I (p: the photo at the working size), which also pastes
 * the photo's texture and edges over brush strokes that replaced them.
 *
 * At equal sizes I − up(i) = 0: the painting comes back unchanged. Plain typed-array loops, no
 * tensors: at 256×144 it costs a few milliseconds (see `npm run bench -- upsample`).
 */
import type { RgbImage } from './image.js';
import { resizePlane, type Kernel, type Plane } from './resample.js';

export interface GuidedUpsampleOptions {
  /** Window radius of the local fit, in working-size pixels. */
  radius?: number;
  /** Regularisation of the fit (luminance in [0, 1]): a smaller ε follows weaker edges. */
  eps?: number;
  /** Bounds of A: below 0 would invert the photo's edges, above 1 sharpen beyond the photo. */
  maxGain?: number;
  /** The resize for the painting and the guide. */
  kernel?: Kernel;
  /** A fixed A instead of the local fit (1: the plain detail transfer up(P − p) + I; for comparisons). */
  fixedGain?: number;
}

export const GUIDED_DEFAULTS = { radius: 2, eps: 1e-3, maxGain: 1, kernel: 'cubic' as Kernel };

/**
 * `painted` (at the working size) brought to `guideFull`'s size. `guideLow` is the photo the
 * painting was made from (the same size as `painted`), `guideFull` the same photo at the output
 * size. Returns `painted` itself when the sizes are equal.
 */
export function guidedUpsample(painted: RgbImage, guideLow: RgbImage, guideFull: RgbImage, options: GuidedUpsampleOptions = {}): RgbImage {
  const { radius, eps, maxGain, kernel, fixedGain } = { ...GUIDED_DEFAULTS, ...options };
  if (painted.width !== guideLow.width || painted.height !== guideLow.height) {
    throw new RangeError(`the painting is ${painted.width}×${painted.height} but its photo ${guideLow.width}×${guideLow.height}`);
  }
  if (guideFull.width < painted.width || guideFull.height < painted.height) {
    throw new RangeError(`cannot upsample ${painted.width}×${painted.height} to a smaller ${guideFull.width}×${guideFull.height}`);
  }
  if (guideFull.width === painted.width && guideFull.height === painted.height) return painted;
  const { width: w, height: h } = painted;
  const { width: W, height: H } = guideFull;

  const low = luminance(guideLow);
  const p = toPlane(painted);
  const gains = fixedGain === undefined ? localGains(low, p, radius, eps, maxGain) : new Float32Array(p.data.length).fill(fixedGain);

  // One resize for all seven: the painting (3), its gains (3) and the photo's luminance (1).
  const n = w * h;
  const packed = new Float32Array(n * 7);
  for (let i = 0; i < n; i++) {
    const o = i * 7;
    packed[o] = p.data[i * 3]!;
    packed[o + 1] = p.data[i * 3 + 1]!;
    packed[o + 2] = p.data[i * 3 + 2]!;
    packed[o + 3] = gains[i * 3]!;
    packed[o + 4] = gains[i * 3 + 1]!;
    packed[o + 5] = gains[i * 3 + 2]!;
    packed[o + 6] = low[i]!;
  }
  const up = resizePlane({ width: w, height: h, channels: 7, data: packed }, W, H, kernel).data;
  const full = guideFull.data;
  // Clamped: stores round and clip to 0–255 by themselves.
  const out = new Uint8ClampedArray(W * H * 3);
  for (let i = 0, o = 0, j = 0; i < W * H; i++, o += 7, j += 3) {
    const detail = (0.299 * full[j]! + 0.587 * full[j + 1]! + 0.114 * full[j + 2]!) / 255 - up[o + 6]!;
    // The cubic may overshoot a little: keep A within its bounds.
    out[j] = 255 * (up[o]! + bounded(up[o + 3]!, maxGain) * detail);
    out[j + 1] = 255 * (up[o + 1]! + bounded(up[o + 4]!, maxGain) * detail);
    out[j + 2] = 255 * (up[o + 2]! + bounded(up[o + 5]!, maxGain) * detail);
  }
  return { width: W, height: H, data: new Uint8Array(out.buffer) };
}

function bounded(gain: number, max: number): number {
  return gain < 0 ? 0 : gain > max ? max : gain;
}

/** Rec. 601 luma in [0, 1]. */
function luminance(image: RgbImage): Float32Array {
  const out = new Float32Array(image.width * image.height);
  const d = image.data;
  for (let i = 0; i < out.length; i++) out[i] = (0.299 * d[i * 3]! + 0.587 * d[i * 3 + 1]! + 0.114 * d[i * 3 + 2]!) / 255;
  return out;
}

function toPlane(image: RgbImage): Plane {
  const data = new Float32Array(image.data.length);
  for (let i = 0; i < data.length; i++) data[i] = image.data[i]! / 255;
  return { width: image.width, height: image.height, channels: 3, data };
}

/**
 * Per pixel and channel, the window-averaged slope a of the painting against the photo's
 * luminance (He et al.'s mean_a), clamped to [0, maxGain].
 */
function localGains(guide: Float32Array, painted: Plane, radius: number, eps: number, maxGain: number): Float32Array {
  const { width: w, height: h } = painted;
  const n = w * h;
  const meanI = boxMean(guide, w, h, radius);
  const squares = new Float32Array(n);
  for (let i = 0; i < n; i++) squares[i] = guide[i]! * guide[i]!;
  const meanII = boxMean(squares, w, h, radius);
  const a = new Float32Array(n * 3);
  const channel = new Float32Array(n);
  const product = new Float32Array(n);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < n; i++) {
      channel[i] = painted.data[i * 3 + c]!;
      product[i] = channel[i]! * guide[i]!;
    }
    const meanP = boxMean(channel, w, h, radius);
    const meanIP = boxMean(product, w, h, radius);
    const slope = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const variance = meanII[i]! - meanI[i]! * meanI[i]!;
      const covariance = meanIP[i]! - meanI[i]! * meanP[i]!;
      slope[i] = bounded(covariance / (variance + eps), maxGain);
    }
    const smoothed = boxMean(slope, w, h, radius);
    for (let i = 0; i < n; i++) a[i * 3 + c] = smoothed[i]!;
  }
  return a;
}

/** Mean over the (2r+1)² window, clipped at the borders (each pixel divided by its own count). */
function boxMean(values: Float32Array, w: number, h: number, r: number): Float32Array {
  // Integral image, one row and column of zeros in front; float64 so long sums keep their digits.
  const sums = new Float64Array((w + 1) * (h + 1));
  for (let y = 0; y < h; y++) {
    let row = 0;
    for (let x = 0; x < w; x++) {
      row += values[y * w + x]!;
      sums[(y + 1) * (w + 1) + x + 1] = sums[y * (w + 1) + x + 1]! + row;
    }
  }
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const y0 = Math.max(0, y - r);
    const y1 = Math.min(h, y + r + 1);
    for (let x = 0; x < w; x++) {
      const x0 = Math.max(0, x - r);
      const x1 = Math.min(w, x + r + 1);
      const sum = sums[y1 * (w + 1) + x1]! - sums[y0 * (w + 1) + x1]! - sums[y1 * (w + 1) + x0]! + sums[y0 * (w + 1) + x0]!;
      out[y * w + x] = sum / ((y1 - y0) * (x1 - x0));
    }
  }
  return out;
}
