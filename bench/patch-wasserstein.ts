/**
 * The placement-blind judge (issue 22): "the same kind of paint", with no neural network in it.
 *
 *   d(x, r) = mean over scales s ∈ {full, half} of SW₁(patches₇ₓ₇(Lab(x_s)), patches₇ₓ₇(Lab(r_s)))
 *   gap(x)  = d(x, reference) / d(photo, reference)
 *
 * SW₁ is the sliced Wasserstein-1 distance: the two sets of 147-long patch vectors are projected
 * on the same random unit directions (seeded: every run uses the same ones), each projection
 * sorted, and the sorted values compared position by position. Where strokes lie does not
 * matter, only which strokes and colours there are and how many: a frame painted with the
 * still's brushwork in other places reads near 0, a colour grade of the photo near 1.
 */
import type { RgbImage } from '../server/engine/image.js';
import { toLab } from './reference-gap.js';

const PATCH = 7;
const DIRECTIONS = 48;
/** Every how many pixels a patch is taken (both axes): 2 keeps it fast and loses little. */
const STRIDE = 2;

export function patchWassersteinGap(picture: RgbImage, reference: RgbImage, photo: RgbImage): number {
  return patchDistance(picture, reference) / patchDistance(photo, reference);
}

/** d(x, r) above. */
export function patchDistance(a: RgbImage, b: RgbImage): number {
  if (a.width !== b.width || a.height !== b.height) throw new RangeError(`sizes differ: ${a.width}×${a.height} vs ${b.width}×${b.height}`);
  const directions = randomDirections(PATCH * PATCH * 3, DIRECTIONS, 22);
  let sum = 0;
  for (const [x, y] of [
    [a, b],
    [halve(a), halve(b)],
  ] as const) {
    sum += slicedWasserstein(patches(x), patches(y), directions);
  }
  return sum / 2;
}

/** Lab of an 8-bit image, as floats. */
function lab(image: RgbImage): Float32Array {
  const rgb = new Float32Array(image.data.length);
  for (let i = 0; i < rgb.length; i++) rgb[i] = image.data[i]! / 255;
  return toLab(rgb);
}

/** All 7×7 patches (every STRIDE px) as rows of a flat array, 147 values each. */
function patches(image: RgbImage): { rows: number; values: Float32Array } {
  const { width, height } = image;
  const l = lab(image);
  const dim = PATCH * PATCH * 3;
  const xs = Math.floor((width - PATCH) / STRIDE) + 1;
  const ys = Math.floor((height - PATCH) / STRIDE) + 1;
  const values = new Float32Array(xs * ys * dim);
  let o = 0;
  for (let py = 0; py < ys; py++) {
    for (let px = 0; px < xs; px++) {
      for (let dy = 0; dy < PATCH; dy++) {
        const start = ((py * STRIDE + dy) * width + px * STRIDE) * 3;
        values.set(l.subarray(start, start + PATCH * 3), o);
        o += PATCH * 3;
      }
    }
  }
  return { rows: xs * ys, values };
}

function slicedWasserstein(a: { rows: number; values: Float32Array }, b: { rows: number; values: Float32Array }, directions: Float32Array[]): number {
  let total = 0;
  for (const d of directions) {
    const pa = project(a, d).sort();
    const pb = project(b, d).sort();
    let s = 0;
    for (let i = 0; i < pa.length; i++) s += Math.abs(pa[i]! - pb[Math.min(pb.length - 1, Math.floor((i * pb.length) / pa.length))]!);
    total += s / pa.length;
  }
  return total / directions.length;
}

function project({ rows, values }: { rows: number; values: Float32Array }, direction: Float32Array): Float32Array {
  const dim = direction.length;
  const out = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let k = 0; k < dim; k++) s += values[r * dim + k]! * direction[k]!;
    out[r] = s;
  }
  return out;
}

/** Unit vectors from a seeded Gaussian (Box–Muller on a small LCG). */
function randomDirections(dim: number, count: number, seed: number): Float32Array[] {
  let s = seed >>> 0;
  const uniform = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 2 ** 32;
  };
  return Array.from({ length: count }, () => {
    const v = new Float32Array(dim);
    let norm = 0;
    for (let i = 0; i < dim; i++) {
      v[i] = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
      norm += v[i]! ** 2;
    }
    norm = Math.sqrt(norm);
    for (let i = 0; i < dim; i++) v[i]! /= norm;
    return v;
  });
}

/** A 2×2 box average (the half-size scale). */
function halve(image: RgbImage): RgbImage {
  const width = Math.floor(image.width / 2);
  const height = Math.floor(image.height / 2);
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        const at = (yy: number, xx: number): number => image.data[(yy * image.width + xx) * 3 + c]!;
        data[(y * width + x) * 3 + c] = Math.round((at(2 * y, 2 * x) + at(2 * y, 2 * x + 1) + at(2 * y + 1, 2 * x) + at(2 * y + 1, 2 * x + 1)) / 4);
      }
    }
  }
  return { width, height, data };
}
