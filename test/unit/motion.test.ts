/** Motion estimation and warping on a real photograph with known motion. */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../../server/codec/image-codec.js';
import { imageToTensor } from '../../server/engine/image.js';
import { followChange, followMotion } from '../../server/engine/follow-motion.js';
import { estimateFlow, occlusionMask, toGray } from '../../server/engine/motion.js';
import { warp, type Sampling } from '../../server/engine/warp.js';
import { useWasm } from '../helpers/backend.js';
import { CAT } from '../helpers/paths.js';

let big: tf.Tensor4D; // the cat, grey, 240×180 or so
let bigRgb: tf.Tensor4D;
const W = 128;
const H = 96;

beforeAll(async () => {
  await useWasm();
  const image = await decodeImage(CAT, { longSide: 240 });
  bigRgb = tf.keep(imageToTensor(image));
  big = tf.keep(toGray(bigRgb));
});

const crop = (x: number, y: number): tf.Tensor4D => tf.slice(big, [0, y, x, 0], [1, H, W, 1]);
const cropRgb = (x: number, y: number): tf.Tensor4D => tf.slice(bigRgb, [0, y, x, 0], [1, H, W, 3]);
const constantFlow = (dx: number, dy: number): tf.Tensor4D => tf.add(tf.zeros([1, H, W, 2]), tf.tensor1d([dx, dy]));
const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
/** Mean |image − its 3×3 box blur| over the interior: how much fine texture is left. */
const texture = (t: tf.Tensor4D): number =>
  tf.tidy(() => tf.mean(tf.abs(tf.slice(tf.sub(t, tf.avgPool(t, 3, 1, 'same')), [0, 8, 8, 0], [1, H - 16, W - 16, 1]))).dataSync()[0]!);

/** Mean |estimated − expected| flow (px) over the interior, away from the borders. */
function meanError(flow: tf.Tensor4D, expected: (x: number, y: number) => [number, number], margin = 12): number {
  const data = flow.dataSync();
  let sum = 0;
  let n = 0;
  for (let y = margin; y < H - margin; y++) {
    for (let x = margin; x < W - margin; x++) {
      const [ex, ey] = expected(x, y);
      const i = (y * W + x) * 2;
      sum += Math.hypot(data[i]! - ex, data[i + 1]! - ey);
      n++;
    }
  }
  return sum / n;
}

describe('warp', () => {
  it('is a no-op for zero flow and moves pixels by a known shift', () => {
    tf.tidy(() => {
      const image = crop(40, 30);
      expect(Array.from(warp(image, tf.zeros([1, H, W, 2])).dataSync())).toEqual(Array.from(image.dataSync()));
      // warped(x) = image(x + (2, 1))
      const shifted = warp(image, tf.add(tf.zeros([1, H, W, 2]), tf.tensor1d([2, 1]))).dataSync();
      const original = image.dataSync();
      for (const [x, y] of [[0, 0], [10, 20], [100, 80]] as const) expect(shifted[y * W + x]).toBeCloseTo(original[(y + 1) * W + x + 2]!, 6);
      // Half-pixel shifts interpolate linearly.
      const half = warp(image, tf.add(tf.zeros([1, H, W, 2]), tf.tensor1d([0.5, 0]))).dataSync();
      expect(half[5 * W + 5]).toBeCloseTo((original[5 * W + 5]! + original[5 * W + 6]!) / 2, 6);
    });
  });
});

describe('nearest warp', () => {
  it('snaps to whole pixels: sub-half-pixel motion leaves texture untouched', () => {
    tf.tidy(() => {
      const image = crop(40, 30);
      const original = image.dataSync();
      const small = warp(image, tf.add(tf.zeros([1, H, W, 2]), tf.tensor1d([0.4, -0.3])), 'nearest').dataSync();
      expect(Array.from(small)).toEqual(Array.from(original));
      const big = warp(image, tf.add(tf.zeros([1, H, W, 2]), tf.tensor1d([0.6, 0])), 'nearest').dataSync();
      expect(big[10 * W + 10]).toBe(original[10 * W + 11]);
    });
  });
});

describe('estimateFlow', () => {
  it('recovers a real translation of a photograph within 0.5 px on average', () => {
    const error = tf.tidy(() => {
      // current(x) = big(x + (43, 32)) = previous(x + (3, 2)) with previous = big(x + (40, 30)).
      const flow = estimateFlow(crop(40, 30), crop(43, 32));
      return meanError(flow, () => [3, 2]);
    });
    expect(error).toBeLessThan(0.5);
  });

  it('recovers a small rotation within 0.5 px on average', () => {
    const angle = (2 * Math.PI) / 180;
    const [cx, cy] = [W / 2, H / 2];
    // source(x) = R·(x − c) + c: where the pixel x of the rotated frame was in the original.
    const source = (x: number, y: number): [number, number] => [
      Math.cos(angle) * (x - cx) - Math.sin(angle) * (y - cy) + cx,
      Math.sin(angle) * (x - cx) + Math.cos(angle) * (y - cy) + cy,
    ];
    const error = tf.tidy(() => {
      const previous = crop(40, 30);
      const p = previous.dataSync();
      // The rotated frame is made here with plain bilinear sampling, independent of warp().
      const rotated = new Float32Array(W * H);
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          const [sx, sy] = source(x, y);
          const x0 = Math.max(0, Math.min(W - 2, Math.floor(sx)));
          const y0 = Math.max(0, Math.min(H - 2, Math.floor(sy)));
          const fx = Math.min(1, Math.max(0, sx - x0));
          const fy = Math.min(1, Math.max(0, sy - y0));
          const at = (xx: number, yy: number): number => p[yy * W + xx]!;
          rotated[y * W + x] = (at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx) * (1 - fy) + (at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx) * fy;
        }
      }
      const flow = estimateFlow(previous, tf.tensor4d(rotated, [1, H, W, 1]));
      return meanError(flow, (x, y) => {
        const [sx, sy] = source(x, y);
        return [sx - x, sy - y];
      });
    });
    expect(error).toBeLessThan(0.5);
  });
});

describe('occlusionMask', () => {
  it('marks the band that enters the frame, trusts the rest', () => {
    const { band, interior } = tf.tidy(() => {
      const previous = crop(40, 30);
      const current = crop(44, 30); // the camera pans right by 4 px: new content on the right
      const forward = estimateFlow(previous, current);
      const backward = estimateFlow(current, previous);
      const mask = occlusionMask(forward, backward).dataSync();
      let inBand = 0;
      let inside = 0;
      let nb = 0;
      let ni = 0;
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          if (x >= W - 3) {
            inBand += mask[y * W + x]!;
            nb++;
          } else if (x >= 12 && x < W - 12 && y >= 12 && y < H - 12) {
            inside += mask[y * W + x]!;
            ni++;
          }
        }
      }
      return { band: inBand / nb, interior: inside / ni };
    });
    expect(band).toBeLessThan(0.1);
    expect(interior).toBeGreaterThan(0.9);
  });

  it('leaks no tensors', () => {
    const before = tf.memory().numTensors;
    // Outside tf.tidy on purpose: every intermediate must be freed by the functions themselves.
    const [a, b, ra, rb] = [crop(40, 30), crop(42, 31), cropRgb(40, 30), cropRgb(42, 31)];
    const forward = estimateFlow(a, b);
    const backward = estimateFlow(b, a);
    const mask = occlusionMask(forward, backward);
    const warped = (['bilinear', 'bicubic', 'spline', 'nearest'] as const).map((s) => warp(ra, forward, s));
    const followed = followMotion(ra, rb, ra);
    tf.dispose([a, b, ra, rb, forward, backward, mask, ...warped, followed.warped, followed.mask]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('cubic warps', () => {
  it('are exact at whole-pixel shifts: Catmull–Rom exactly, the prefiltered B-spline within 0.1 %', () => {
    tf.tidy(() => {
      const image = crop(40, 30);
      expect(maxAbsDiff(warp(image, tf.zeros([1, H, W, 2]), 'bicubic'), image)).toBe(0);
      expect(maxAbsDiff(warp(image, tf.zeros([1, H, W, 2]), 'spline'), image)).toBeLessThan(1e-3);
      // warped(x) = image(x + (2, 1)), compared away from the clamped border.
      const shifted = (s: Sampling): tf.Tensor => tf.slice(warp(image, constantFlow(2, 1), s), [0, 0, 0, 0], [1, H - 1, W - 2, 1]);
      const expected = tf.slice(image, [0, 1, 2, 0], [1, H - 1, W - 2, 1]);
      expect(maxAbsDiff(shifted('bicubic'), expected)).toBeLessThan(1e-5);
      expect(maxAbsDiff(shifted('spline'), expected)).toBeLessThan(1e-3);
    });
  });

  it('keep the texture through repeated sub-pixel shifts, where bilinear blurs it away', () => {
    const kept = (sampling: Sampling): number =>
      tf.tidy(() => {
        const image = crop(40, 30);
        let moved: tf.Tensor4D = image;
        // Eight round trips of half a pixel there and back: the worst case for interpolation.
        for (let i = 0; i < 8; i++) moved = warp(warp(moved, constantFlow(0.5, 0.5), sampling), constantFlow(-0.5, -0.5), sampling);
        return texture(moved) / texture(image);
      });
    const [bilinear, bicubic, spline] = [kept('bilinear'), kept('bicubic'), kept('spline')];
    // Measured: bilinear keeps 11 %, Catmull–Rom 32 %, the prefiltered B-spline 50 %.
    expect(bilinear).toBeLessThan(0.2);
    expect(bicubic).toBeGreaterThan(bilinear * 2);
    expect(spline).toBeGreaterThan(bicubic * 1.3);
    expect(spline).toBeGreaterThan(0.4);
  });
});

describe('followChange (the residual warm start)', () => {
  it('keeps the stylization where the input is still, drops it where edges moved', () => {
    const { still, moved, flat } = tf.tidy(() => {
      const frame = cropRgb(40, 30);
      const painting = tf.add(tf.mul(cropRgb(60, 50), 0.5), 0.25) as tf.Tensor4D; // room on both sides of [0, 1]
      const stylization = tf.sub(painting, frame);
      const panned = cropRgb(46, 30); // 6 px: the old stylization no longer lines up with the edges
      const start = followChange(frame, panned, painting);
      const edges = tf.greater(tf.avgPool(tf.abs(toGray(tf.sub(panned, frame) as tf.Tensor4D)), 3, 1, 'same'), 0.15);
      const carried = toGray(tf.sub(start, panned) as tf.Tensor4D); // the stylization left in the start
      const at = (where: tf.Tensor): number => tf.div(tf.sum(tf.where(where, tf.abs(carried), tf.zerosLike(carried))), tf.sum(tf.cast(where, 'float32'))).dataSync()[0]!;
      return {
        still: maxAbsDiff(followChange(frame, frame, painting), painting),
        moved: at(edges) / tf.mean(tf.abs(toGray(stylization as tf.Tensor4D))).dataSync()[0]!,
        flat: maxAbsDiff(followChange(frame, tf.add(frame, 0.001) as tf.Tensor4D, painting), tf.add(painting, 0.001)),
      };
    });
    expect(still).toBeLessThan(1e-6);
    expect(flat).toBeLessThan(1e-3);
    // Where the edges moved, under a tenth of the stylization is left.
    expect(moved).toBeLessThan(0.1);
  });
});

describe('followMotion', () => {
  it('on a still scene returns the previous output as it was and trusts every pixel', () => {
    tf.tidy(() => {
      const frame = cropRgb(40, 30);
      const output = tf.sub(1, cropRgb(60, 50)) as tf.Tensor4D; // any picture
      const { warped, mask } = followMotion(frame, frame, output);
      expect(maxAbsDiff(warped, output)).toBeLessThan(2e-3);
      expect(tf.min(mask).dataSync()[0]).toBe(1);
    });
  });

  it('leaves a still scene\'s painting unchanged frame after frame: no drift from resampling', { timeout: 240_000 }, () => {
    const [h, w] = [48, 64];
    const frame = tf.slice(cropRgb(40, 30), [0, 0, 0, 0], [1, h, w, 3]);
    // A painting-like picture with fine texture, the kind resampling errors would wear away.
    const painting = tf.tidy(() =>
      tf.clipByValue(tf.add(tf.sub(1, tf.slice(cropRgb(60, 50), [0, 0, 0, 0], [1, h, w, 3])), tf.randomUniform([1, h, w, 3], -0.2, 0.2, 'float32', 5)), 0, 1),
    ) as tf.Tensor4D;
    let output = painting.clone();
    for (let i = 0; i < 20; i++) {
      const { warped, mask } = followMotion(frame, frame, output);
      mask.dispose();
      output.dispose();
      output = warped;
    }
    // With the B-spline prefilter cut at |k| ≤ 6 it moved by up to 0.4/255 a frame: 2/255 here, 30/255 after 300 frames.
    expect(maxAbsDiff(output, painting)).toBeLessThan(0.25 / 255);
    tf.dispose([output, painting, frame]);
  });

  it('follows a fade: the change the motion cannot explain is added to the start', () => {
    const { added, faded } = tf.tidy(() => {
      const frame = cropRgb(40, 30);
      const darker = tf.mul(frame, 0.8) as tf.Tensor4D;
      const output = tf.add(tf.mul(cropRgb(60, 50), 0.5), 0.25) as tf.Tensor4D; // room on both sides of [0, 1]
      const { warped } = followMotion(frame, darker, output);
      return { added: tf.mean(tf.sub(warped, output)).dataSync()[0]!, faded: tf.mean(tf.sub(darker, frame)).dataSync()[0]! };
    });
    expect(faded).toBeLessThan(-0.05);
    expect(Math.abs(added - faded)).toBeLessThan(Math.abs(faded) * 0.15);
  });

  it('moves the previous output with a pan', () => {
    const error = tf.tidy(() => {
      const output = cropRgb(60, 50);
      // The camera pans right by 3 px: current(x) = previous(x + 3); the output should follow.
      const { warped } = followMotion(cropRgb(40, 30), cropRgb(43, 30), output);
      const expected = tf.slice(output, [0, 8, 11, 0], [1, H - 16, W - 19, 3]);
      return tf.mean(tf.abs(tf.sub(tf.slice(warped, [0, 8, 8, 0], [1, H - 16, W - 19, 3]), expected))).dataSync()[0]!;
    });
    expect(error).toBeLessThan(0.02);
  });

  it('the cheap follow (light: forward flow at half size, no mask) moves it with a pan too, and trusts every pixel', () => {
    const { error, minMask } = tf.tidy(() => {
      const output = cropRgb(60, 50);
      const { warped, mask } = followMotion(cropRgb(40, 30), cropRgb(43, 30), output, { light: true });
      const expected = tf.slice(output, [0, 8, 11, 0], [1, H - 16, W - 19, 3]);
      return {
        error: tf.mean(tf.abs(tf.sub(tf.slice(warped, [0, 8, 8, 0], [1, H - 16, W - 19, 3]), expected))).dataSync()[0]!,
        minMask: tf.min(mask).dataSync()[0]!,
      };
    });
    expect(error).toBeLessThan(0.02);
    expect(minMask).toBe(1);
  });
});
