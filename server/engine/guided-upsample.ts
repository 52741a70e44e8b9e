/**
 * Guided upsampling of a painting made below the output size (live deadline mode): the full-
 * resolution input frame puts back the sharp edges a plain resize cannot, where — and only
 * where — the painting follows the photo.
 *
 *   out_c = up(P_c) + A · (I − up(i))
 *
 * P: the painting at the working size; i, I: the photo's luminance at the working and at the
 * output size, so I − up(i) is exactly the detail the working size lost; up: a cubic resize.
 * A is the local linear fit of the painting's luminance to the photo's, as in He et al.'s guided
 * filter (a = cov(i, L(P)) / (var(i) + ε) over a (2r+1)² window at the working size, averaged
 * over the window, upsampled with the rest): about 1 where the painting keeps an edge of the
 * photo, so the edge comes back sharp; about 0 where the painting paints its own strokes over
 * flat or unrelated parts of the photo, so no photo texture is pasted over the painting. The
 * detail is luminance only and the same for the three channels: it sharpens, it adds no colour
 * fringes. With A ≡ 1 this is the plain detail transfer up(P − p) + I (p: the photo at the working
 * size, luminance detail), which also pastes the photo's texture and edges over brush strokes
 * that replaced them.
 *
 * At equal sizes I − up(i) = 0: the painting comes back unchanged. Plain typed-array loops, no
 * tensors: at 256×144 a few milliseconds (see `npm run bench -- upsample`).
 */
import type { RgbImage } from './image.js';
import { resizePlane, type Kernel } from './resample.js';

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

/** Planes resized together: the painting's three channels, the gain A and the photo's luminance. */
const PLANES = 5;

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
  const n = w * h;

  const photoLuma = luminance(guideLow.data, n);
  const paintedLuma = luminance(painted.data, n);
  const gains = fixedGain === undefined ? localGains(photoLuma, paintedLuma, w, h, radius, eps, maxGain) : new Float32Array(n).fill(fixedGain);

  // One resize for all five planes.
  const packed = new Float32Array(n * PLANES);
  const p = painted.data;
  for (let i = 0, o = 0, j = 0; i < n; i++, o += PLANES, j += 3) {
    packed[o] = p[j]! / 255;
    packed[o + 1] = p[j + 1]! / 255;
    packed[o + 2] = p[j + 2]! / 255;
    packed[o + 3] = gains[i]!;
    packed[o + 4] = photoLuma[i]!;
  }
  const up = resizePlane({ width: w, height: h, channels: PLANES, data: packed }, W, H, kernel).data;
  const full = guideFull.data;
  // Clamped: stores round and clip to 0–255 by themselves.
  const out = new Uint8ClampedArray(W * H * 3);
  for (let o = 0, j = 0; j < out.length; o += PLANES, j += 3) {
    // The cubic may overshoot a little: A stays within its bounds.
    const gain = up[o + 3]! < 0 ? 0 : up[o + 3]! > maxGain ? maxGain : up[o + 3]!;
    const detail = gain * ((0.299 * full[j]! + 0.587 * full[j + 1]! + 0.114 * full[j + 2]!) / 255 - up[o + 4]!);
    out[j] = 255 * (up[o]! + detail);
    out[j + 1] = 255 * (up[o + 1]! + detail);
    out[j + 2] = 255 * (up[o + 2]! + detail);
  }
  return { width: W, height: H, data: new Uint8Array(out.buffer) };
}

/** Rec. 601 luma in [0, 1] of `n` packed RGB pixels. */
function luminance(d: Uint8Array, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0, j = 0; i < n; i++, j += 3) out[i] = (0.299 * d[j]! + 0.587 * d[j + 1]! + 0.114 * d[j + 2]!) / 255;
  return out;
}

/**
 * Per pixel, the window-averaged slope a of the painting's luminance against the photo's (He et
 * al.'s mean_a), each slope clamped to [0, maxGain] first.
 */
function localGains(guide: Float32Array, painted: Float32Array, w: number, h: number, radius: number, eps: number, maxGain: number): Float32Array {
  const n = w * h;
  const squares = new Float32Array(n);
  const products = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    squares[i] = guide[i]! * guide[i]!;
    products[i] = guide[i]! * painted[i]!;
  }
  const meanI = boxMean(guide, w, h, radius);
  const meanII = boxMean(squares, w, h, radius);
  const meanP = boxMean(painted, w, h, radius);
  const meanIP = boxMean(products, w, h, radius);
  const slope = squares; // reused
  for (let i = 0; i < n; i++) {
    const a = (meanIP[i]! - meanI[i]! * meanP[i]!) / (meanII[i]! - meanI[i]! * meanI[i]! + eps);
    slope[i] = a < 0 ? 0 : a > maxGain ? maxGain : a;
  }
  return boxMean(slope, w, h, radius);
}

/** Mean over the (2r+1)² window, clipped at the borders: running sums along rows, then columns. */
function boxMean(values: Float32Array, w: number, h: number, r: number): Float32Array {
  const rows = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    let sum = 0;
    for (let x = 0; x < Math.min(r, w); x++) sum += values[row + x]!;
    for (let x = 0; x < w; x++) {
      if (x + r < w) sum += values[row + x + r]!;
      if (x - r - 1 >= 0) sum -= values[row + x - r - 1]!;
      rows[row + x] = sum / (Math.min(w - 1, x + r) - Math.max(0, x - r) + 1);
    }
  }
  const out = new Float32Array(w * h);
  for (let x = 0; x < w; x++) {
    let sum = 0;
    for (let y = 0; y < Math.min(r, h); y++) sum += rows[y * w + x]!;
    for (let y = 0; y < h; y++) {
      if (y + r < h) sum += rows[(y + r) * w + x]!;
      if (y - r - 1 >= 0) sum -= rows[(y - r - 1) * w + x]!;
      out[y * w + x] = sum / (Math.min(h - 1, y + r) - Math.max(0, y - r) + 1);
    }
  }
  return out;
}
