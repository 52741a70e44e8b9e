/**
 * The style's colours on the photo before the first step: the optimiser's start. Matching the
 * photo's colour mean and covariance to the style's (the linear transfer of Gatys et al. 2016,
 * "Preserving color in neural artistic style transfer", §2, run the other way: style colours onto
 * the content) does in one matrix product what the first tens of Adam steps spend on the palette.
 *
 *   x' = μ_s + Σ_s^½ · Σ_c^−½ · (x − μ_c)
 *
 * with Σ^½ the symmetric square root (the transfer that moves colours least, unlike Cholesky's).
 * Where we differ from the paper: it is a start, not a pre-processing of the style; the costs
 * still pull towards the photo's content and the style's Grams.
 */
import * as tf from '@tensorflow/tfjs-core';

type Vec3 = [number, number, number];
/** Row-major 3×3. */
export type Mat3 = [Vec3, Vec3, Vec3];

export interface ColourStats {
  /** Mean R, G, B on 0–1. */
  mean: Vec3;
  /** Covariance of R, G, B. */
  covariance: Mat3;
}

/** Mean and covariance of packed RGB bytes (or 0–1 floats: pass scale 1). */
export function colourStats(rgb: ArrayLike<number>, scale = 1 / 255): ColourStats {
  const n = rgb.length / 3;
  if (!(n >= 1) || !Number.isInteger(n)) throw new RangeError('colourStats needs whole RGB pixels');
  const sum: Vec3 = [0, 0, 0];
  const products = [0, 0, 0, 0, 0, 0]; // rr rg rb gg gb bb
  for (let i = 0; i < rgb.length; i += 3) {
    const r = rgb[i]! * scale;
    const g = rgb[i + 1]! * scale;
    const b = rgb[i + 2]! * scale;
    sum[0] += r;
    sum[1] += g;
    sum[2] += b;
    products[0]! += r * r;
    products[1]! += r * g;
    products[2]! += r * b;
    products[3]! += g * g;
    products[4]! += g * b;
    products[5]! += b * b;
  }
  const mean: Vec3 = [sum[0] / n, sum[1] / n, sum[2] / n];
  const c = (k: number, i: number, j: number): number => products[k]! / n - mean[i]! * mean[j]!;
  const rr = c(0, 0, 0);
  const rg = c(1, 0, 1);
  const rb = c(2, 0, 2);
  const gg = c(3, 1, 1);
  const gb = c(4, 1, 2);
  const bb = c(5, 2, 2);
  return { mean, covariance: [[rr, rg, rb], [rg, gg, gb], [rb, gb, bb]] };
}

/** The statistics of the styles' pixels pooled with these shares (weights summing to 1). */
export function mixColourStats(parts: readonly { stats: ColourStats; share: number }[]): ColourStats {
  const mean: Vec3 = [0, 0, 0];
  for (const { stats, share } of parts) for (let i = 0; i < 3; i++) mean[i]! += share * stats.mean[i]!;
  const covariance = zero();
  for (const { stats, share } of parts) {
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) covariance[i]![j]! += share * (stats.covariance[i]![j]! + stats.mean[i]! * stats.mean[j]!);
    }
  }
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) covariance[i]![j]! -= mean[i]! * mean[j]!;
  return { mean, covariance };
}

/**
 * Eigen-decomposition of a symmetric 3×3 matrix by cyclic Jacobi rotations: values and the
 * eigenvectors as the columns of `vectors`.
 */
export function symmetricEigen(m: Mat3): { values: Vec3; vectors: Mat3 } {
  // Flat row-major copies: a[3·i + j].
  const a = Float64Array.from(m.flat());
  const v = Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]);
  const at = (x: Float64Array, i: number, j: number): number => x[3 * i + j]!;
  for (let sweep = 0; sweep < 50; sweep++) {
    if (at(a, 0, 1) ** 2 + at(a, 0, 2) ** 2 + at(a, 1, 2) ** 2 < 1e-30) break;
    for (const [p, q] of [[0, 1], [0, 2], [1, 2]] as const) {
      const apq = at(a, p, q);
      if (Math.abs(apq) < 1e-300) continue;
      const theta = (at(a, q, q) - at(a, p, p)) / (2 * apq);
      const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
      const c = 1 / Math.sqrt(t * t + 1);
      const s = t * c;
      // a ← Jᵀ·a·J and v ← v·J, J the rotation in the (p, q) plane.
      for (let k = 0; k < 3; k++) {
        const kp = at(a, k, p);
        const kq = at(a, k, q);
        a[3 * k + p] = c * kp - s * kq;
        a[3 * k + q] = s * kp + c * kq;
      }
      for (let k = 0; k < 3; k++) {
        const pk = at(a, p, k);
        const qk = at(a, q, k);
        a[3 * p + k] = c * pk - s * qk;
        a[3 * q + k] = s * pk + c * qk;
      }
      for (let k = 0; k < 3; k++) {
        const kp = at(v, k, p);
        const kq = at(v, k, q);
        v[3 * k + p] = c * kp - s * kq;
        v[3 * k + q] = s * kp + c * kq;
      }
    }
  }
  const row = (x: Float64Array, i: number): Vec3 => [at(x, i, 0), at(x, i, 1), at(x, i, 2)];
  return { values: [at(a, 0, 0), at(a, 1, 1), at(a, 2, 2)], vectors: [row(v, 0), row(v, 1), row(v, 2)] };
}

/** Σ^power for a symmetric positive (semi)definite Σ; eigenvalues floored at `floor` first. */
export function symmetricPower(m: Mat3, power: number, floor = 1e-5): Mat3 {
  const { values, vectors } = symmetricEigen(m);
  const d = values.map((x) => Math.max(x, floor) ** power);
  const out = zero();
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      let sum = 0;
      for (let k = 0; k < 3; k++) sum += vectors[i]![k]! * d[k]! * vectors[j]![k]!;
      out[i]![j] = sum;
    }
  }
  return out;
}

export function multiply(a: Mat3, b: Mat3): Mat3 {
  const out = zero();
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 3; k++) out[i]![j]! += a[i]![k]! * b[k]![j]!;
  return out;
}

/**
 * The most the transfer may raise the picture's contrast (the ratio of colour spreads, √trace Σ):
 * a near-black or flat frame has almost no spread, and matching the style's would blow its
 * sensor noise up into blotches. Ordinary photos need far less (the repository's: 1.3–1.9).
 */
export const MAX_CONTRAST_GAIN = 4;

/**
 * The affine map x' = M·x + offset that gives `from`'s pixels `to`'s mean and covariance (the
 * covariance scaled down where that would raise the contrast more than MAX_CONTRAST_GAIN).
 */
export function colourTransfer(from: ColourStats, to: ColourStats): { matrix: Mat3; offset: Vec3 } {
  const trace = (m: Mat3): number => m[0][0] + m[1][1] + m[2][2];
  const gain = Math.sqrt(trace(to.covariance) / Math.max(trace(from.covariance), 1e-12));
  const shrink = gain > MAX_CONTRAST_GAIN ? (MAX_CONTRAST_GAIN / gain) ** 2 : 1;
  const target = to.covariance.map((row) => row.map((x) => x * shrink)) as Mat3;
  const matrix = multiply(symmetricPower(target, 0.5), symmetricPower(from.covariance, -0.5));
  const offset = [0, 1, 2].map((i) => to.mean[i]! - matrix[i]!.reduce((s, mij, j) => s + mij * from.mean[j]!, 0)) as Vec3;
  return { matrix, offset };
}

/**
 * `image` ([1,H,W,3] on 0–1) with `to`'s colour statistics, clipped to [0, 1]; `strength` 0 leaves
 * it as it is, 1 transfers fully (the matrix and offset interpolated towards the identity).
 */
export function matchColours(image: tf.Tensor4D, to: ColourStats, strength = 1): tf.Tensor4D {
  const [, h, w, c] = image.shape;
  if (c !== 3) throw new RangeError('matchColours needs an RGB image');
  const from = colourStats(image.dataSync(), 1);
  const { matrix, offset } = colourTransfer(from, to);
  const mixed = matrix.map((row, i) => row.map((x, j) => strength * x + (1 - strength) * (i === j ? 1 : 0)));
  return tf.tidy(() => {
    const flat = tf.reshape(image, [h * w, 3]) as tf.Tensor2D;
    // Row vectors: x'ᵀ = xᵀ·Mᵀ + offsetᵀ.
    const transposed = [0, 1, 2].map((j) => [0, 1, 2].map((i) => mixed[i]![j]!));
    const moved = tf.add(tf.matMul(flat, tf.tensor2d(transposed, [3, 3])), tf.tensor1d(offset.map((o) => o * strength)));
    return tf.clipByValue(tf.reshape(moved, [1, h, w, 3]), 0, 1) as tf.Tensor4D;
  });
}

function zero(): Mat3 {
  return [[0, 0, 0], [0, 0, 0], [0, 0, 0]];
}
