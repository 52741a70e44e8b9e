/**
 * The "reference gap" judge (issue 21): how close a picture comes to a reference painting of the
 * same photo, with no neural network in it.
 *
 *   d(x, r) = mean over σ ∈ {1, 3} px of the mean CIE76 ΔE between Lab(blur_σ(x)) and Lab(blur_σ(r))
 *   gap(x)  = d(x, reference) / d(photo, reference)
 *
 * 0 is the reference itself, 1 no closer to it than the photo. The blurs forgive a stroke drawn a
 * pixel or two off; the two scales weigh fine texture and the layout of colour both.
 */
import type { RgbImage } from '../server/engine/image.js';

const SIGMAS = [1, 3];

export function referenceGap(picture: RgbImage, reference: RgbImage, photo: RgbImage): number {
  return labDistance(picture, reference) / labDistance(photo, reference);
}

/** d(x, r) above: mean blurred-Lab ΔE over the two scales. */
export function labDistance(a: RgbImage, b: RgbImage): number {
  if (a.width !== b.width || a.height !== b.height) throw new RangeError(`sizes differ: ${a.width}×${a.height} vs ${b.width}×${b.height}`);
  let sum = 0;
  for (const sigma of SIGMAS) {
    const la = toLab(blur(a, sigma));
    const lb = toLab(blur(b, sigma));
    let d = 0;
    for (let i = 0; i < la.length; i += 3) d += Math.hypot(la[i]! - lb[i]!, la[i + 1]! - lb[i + 1]!, la[i + 2]! - lb[i + 2]!);
    sum += d / (la.length / 3);
  }
  return sum / SIGMAS.length;
}

/** Separable Gaussian blur of 8-bit RGB to 0–1 floats (radius 3σ, borders clamped). */
export function blur(image: RgbImage, sigma: number): Float32Array {
  const { width, height, data } = image;
  const r = Math.ceil(3 * sigma);
  const taps = Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const total = taps.reduce((s, t) => s + t, 0);
  const k = taps.map((t) => t / total);
  const across = new Float32Array(data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let t = -r; t <= r; t++) s += k[t + r]! * data[(y * width + Math.min(width - 1, Math.max(0, x + t))) * 3 + c]!;
        across[(y * width + x) * 3 + c] = s / 255;
      }
    }
  }
  const out = new Float32Array(data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let t = -r; t <= r; t++) s += k[t + r]! * across[(Math.min(height - 1, Math.max(0, y + t)) * width + x) * 3 + c]!;
        out[(y * width + x) * 3 + c] = s;
      }
    }
  }
  return out;
}

/** sRGB (0–1) → CIE L*a*b* under D65, per pixel. */
export function toLab(rgb: Float32Array): Float32Array {
  const out = new Float32Array(rgb.length);
  const linear = (v: number): number => (v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
  const f = (t: number): number => (t > 216 / 24389 ? Math.cbrt(t) : (841 / 108) * t + 4 / 29);
  for (let i = 0; i < rgb.length; i += 3) {
    const r = linear(rgb[i]!);
    const g = linear(rgb[i + 1]!);
    const b = linear(rgb[i + 2]!);
    const x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
    const y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    const z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
    const fx = f(x);
    const fy = f(y);
    const fz = f(z);
    out[i] = 116 * fy - 16;
    out[i + 1] = 500 * (fx - fy);
    out[i + 2] = 200 * (fy - fz);
  }
  return out;
}
