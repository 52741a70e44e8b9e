/** Guided upsampling and the resampler under it: identities, hand-checked cases and a real photo. */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, resizeImage } from '../../server/codec/image-codec.js';
import { guidedUpsample } from '../../server/engine/guided-upsample.js';
import type { RgbImage } from '../../server/engine/image.js';
import { resizePlane } from '../../server/engine/resample.js';
import { useWasm } from '../helpers/backend.js';
import { CAT } from '../helpers/paths.js';

beforeAll(useWasm);

const luma = (d: Uint8Array, i: number): number => (0.299 * d[i * 3]! + 0.587 * d[i * 3 + 1]! + 0.114 * d[i * 3 + 2]!) / 255;

/** Grey image from a function of (x, y) in [0, 1]. */
function grey(width: number, height: number, f: (x: number, y: number) => number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.fill(Math.round(f(x, y) * 255), (y * width + x) * 3, (y * width + x) * 3 + 3);
  return { width, height, data };
}

/** The painting as a function of the photo's luminance, pixel by pixel (the same for all channels). */
function paintedFrom(photo: RgbImage, f: (l: number) => number): RgbImage {
  const data = new Uint8Array(photo.data.length);
  for (let i = 0; i < photo.width * photo.height; i++) data.fill(Math.round(Math.min(1, Math.max(0, f(luma(photo.data, i)))) * 255), i * 3, i * 3 + 3);
  return { ...photo, data };
}

/** The plain cubic resize the guided one starts from. */
function cubic(image: RgbImage, width: number, height: number): RgbImage {
  const out = resizePlane({ width: image.width, height: image.height, channels: 3, data: Float32Array.from(image.data, (v) => v / 255) }, width, height, 'cubic');
  return { width, height, data: Uint8Array.from(out.data, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255)) };
}

const meanAbs = (a: RgbImage, b: RgbImage): number => a.data.reduce((s, v, i) => s + Math.abs(v - b.data[i]!), 0) / a.data.length;

describe('resizePlane', () => {
  it('linear, 2 → 4 samples: pixel centres line up as in sharp (¼ and ¾ between the two)', () => {
    const out = resizePlane({ width: 2, height: 1, channels: 1, data: Float32Array.from([0, 1]) }, 4, 1, 'linear');
    expect([...out.data]).toEqual([0, 0.25, 0.75, 1]);
  });

  it('keeps a constant, for every kernel, up and down', () => {
    const flat = { width: 5, height: 3, channels: 2, data: new Float32Array(30).fill(0.4) };
    for (const kernel of ['linear', 'cubic', 'lanczos3'] as const) {
      for (const [w, h] of [[13, 7], [2, 2]]) resizePlane(flat, w!, h!, kernel).data.forEach((v) => expect(v).toBeCloseTo(0.4, 5));
    }
  });
});

describe('guidedUpsample', () => {
  it('is the identity when the working size is the output size', () => {
    const photo = grey(16, 9, (x, y) => ((x * 7 + y * 3) % 11) / 10);
    const painted = grey(16, 9, (x) => x / 15);
    expect(guidedUpsample(painted, photo, photo)).toBe(painted);
  });

  it('by hand, 2×2 → 4×4 of a flat photo: no detail to add, the painting resized (bilinear here) and nothing else', () => {
    const flat = grey(2, 2, () => 0.5);
    const painted = grey(2, 2, (x) => (x === 0 ? 0 : 1));
    const out = guidedUpsample(painted, flat, grey(4, 4, () => 0.5), { kernel: 'linear' });
    // Columns at ¼ and ¾ between the two painted columns, as resizePlane above.
    for (let y = 0; y < 4; y++) expect([0, 1, 2, 3].map((x) => out.data[(y * 4 + x) * 3])).toEqual([0, 64, 191, 255]);
  });

  it('gives back the sharp photo where the painting follows it, and pastes nothing where it does not', async () => {
    const full = await decodeImage(CAT, { exact: { width: 256, height: 144 } });
    const low = await resizeImage(full, { width: 64, height: 36 });
    // A painting that is the photo, darkened and lifted: A ≈ 0.5 on edges, so the output ≈ 0.5·I + 0.2 at full size.
    const following = paintedFrom(low, (l) => 0.5 * l + 0.2);
    const target = paintedFrom(full, (l) => 0.5 * l + 0.2);
    const guided = guidedUpsample(following, low, full);
    const plain = cubic(following, 256, 144);
    expect(meanAbs(guided, target)).toBeLessThan(0.6 * meanAbs(plain, target));
    // A painting with no relation to the photo (vertical stripes over it): A ≈ 0, the stripes come back
    // about as a plain resize gives them, where the detail transfer (A ≡ 1) would paste the cat over them.
    const stripes = grey(64, 36, (x) => (Math.floor(x / 4) % 2 === 0 ? 0.2 : 0.8));
    const stripesUp = cubic(stripes, 256, 144);
    const pasted = guidedUpsample(stripes, low, full, { fixedGain: 1 });
    expect(meanAbs(guidedUpsample(stripes, low, full), stripesUp)).toBeLessThan(0.5 * meanAbs(pasted, stripesUp));
    // A painting that inverts the photo: A is clamped at 0, so no edge comes back the wrong way round.
    const inverted = paintedFrom(low, (l) => 1 - l);
    expect(meanAbs(guidedUpsample(inverted, low, full), cubic(inverted, 256, 144))).toBeLessThan(0.5);
  });

  it('makes no tensors (plain loops: nothing to leak, nothing to dispose)', () => {
    const before = tf.memory().numTensors;
    const photo = grey(32, 18, (x, y) => ((x + y) % 5) / 4);
    guidedUpsample(grey(16, 9, (x) => x / 15), grey(16, 9, () => 0.5), photo);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses a painting that is not the size of its photo, or a smaller output', () => {
    const a = grey(8, 8, () => 0.5);
    expect(() => guidedUpsample(a, grey(4, 4, () => 0.5), grey(16, 16, () => 0.5))).toThrow(/photo/);
    expect(() => guidedUpsample(a, a, grey(4, 4, () => 0.5))).toThrow(/smaller/);
  });
});
