/**
 * The quality benches' judge: measures of a painted clip against its input frames, taken with a
 * feature network that need not be the loss network (bench/quality.ts, bench/quality-long.ts).
 *
 * - Style distance: mean over the judge's style layers of the mean squared difference between
 *   per-pixel Grams (so images of different sizes compare).
 * - Content distance: the judge's own content cost (its content layers) to the current input.
 * - Structure loss: 1 − SSIM of luminance, after a small blur, against the current input. The
 *   content distance sums over every feature; a painting's steady brush texture dominates it,
 *   and a face melting away (a few hundred pixels of edges) barely moves it. Structure of the
 *   luminance is what the eye checks: eyes, beak and outline, not the strokes' colours.
 * - Flicker: mean |S_t − warp(S_t−1)| over the pixels the input motion explains, divided by the
 *   same for the input frames (1.0 = no flicker added).
 */
import * as tf from '@tensorflow/tfjs-core';
import { imageToTensor, type RgbImage } from '../server/engine/image.js';
import { contentCost, gramMatrix } from '../server/engine/losses.js';
import { estimateFlow, matchExposure, occlusionMask, toGray } from '../server/engine/motion.js';
import type { FeatureNetwork } from '../server/engine/networks/network.js';
import { warp, type Sampling } from '../server/engine/warp.js';

/** The judge's flow, pinned: tuning the stylizer's flow defaults must not move the judge. */
export const JUDGE_FLOW = { levels: 4, iterations: 8, window: 9, ridge: 2e-5, smooth: 5 };

/** Per-pixel Grams of the judge's style layers. */
export function judgeGrams(judge: FeatureNetwork, image: RgbImage): tf.Tensor2D[] {
  return tf.tidy(() => {
    const f = judge.extract(imageToTensor(image), judge.styleLayers.map((l) => l.name));
    return judge.styleLayers.map((l) => {
      const a = f[l.name]!;
      return tf.div(gramMatrix(a), a.shape[1] * a.shape[2]) as tf.Tensor2D;
    });
  });
}

export function styleDistance(judge: FeatureNetwork, image: RgbImage, targets: tf.Tensor2D[]): number {
  return tf.tidy(() => {
    const grams = judgeGrams(judge, image);
    return grams.reduce((sum, g, i) => sum + tf.mean(tf.squaredDifference(g, targets[i]!)).dataSync()[0]!, 0);
  });
}

/** Share of the Gram-distance reduction a still run reaches: (d(input) − d(x)) / (d(input) − d(still)). */
export function styleMatch(dInput: number, dResult: number, dStill: number): number {
  return (dInput - dResult) / (dInput - dStill);
}

export function contentDistance(judge: FeatureNetwork, image: RgbImage, content: RgbImage, layers = judge.contentLayers.map((l) => l.name)): number {
  return tf.tidy(() => {
    const a = judge.extract(imageToTensor(image), layers);
    const b = judge.extract(imageToTensor(content), layers);
    return layers.reduce((sum, l) => sum + contentCost(b[l]!, a[l]!).dataSync()[0]!, 0) / layers.length;
  });
}

/**
 * The judge's content cost to the input, and the same relative to the input's own feature
 * energy, Σ(F(x) − F(c))² / Σ F(c)² (mean over the judge's content layers). The absolute figure
 * follows the scene: a close-up of smooth feathers has little feature energy, so any painting
 * scores well on it. Over a clip whose framing changes, drift is measured on the relative one.
 */
export function contentDistances(judge: FeatureNetwork, image: RgbImage, content: RgbImage, layers = judge.contentLayers.map((l) => l.name)): { absolute: number; relative: number } {
  return tf.tidy(() => {
    const a = judge.extract(imageToTensor(image), layers);
    const b = judge.extract(imageToTensor(content), layers);
    let absolute = 0;
    let relative = 0;
    for (const l of layers) {
      const squared = tf.sum(tf.squaredDifference(a[l]!, b[l]!));
      absolute += contentCost(b[l]!, a[l]!).dataSync()[0]!;
      relative += tf.div(squared, tf.sum(tf.square(b[l]!))).dataSync()[0]!;
    }
    return { absolute: absolute / layers.length, relative: relative / layers.length };
  });
}

/** Separable Gaussian blur of a [1,H,W,1] plane (σ in pixels, 3σ radius, mirrored border). */
function gaussian(plane: tf.Tensor4D, sigma: number): tf.Tensor4D {
  const r = Math.max(1, Math.ceil(3 * sigma));
  const taps = Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const sum = taps.reduce((a, b) => a + b, 0);
  const k = taps.map((t) => t / sum);
  const padded = tf.mirrorPad(plane, [[0, 0], [r, r], [r, r], [0, 0]], 'symmetric');
  return tf.conv2d(tf.conv2d(padded, tf.tensor4d(k, [1, 2 * r + 1, 1, 1]), 1, 'valid'), tf.tensor4d(k, [2 * r + 1, 1, 1, 1]), 1, 'valid');
}

/**
 * 1 − mean SSIM (Wang et al. 2004, σ = 1.5 window, luminance on 0–1) between `image` and
 * `reference`, both first blurred by `blur` px: the brush texture finer than that is not
 * structure the eye follows, and leaving it in makes every painting score near 1.
 */
export function structureLoss(image: RgbImage, reference: RgbImage, blur = 1): number {
  return tf.tidy(() => {
    const x = gaussian(toGray(imageToTensor(image)), blur);
    const y = gaussian(toGray(imageToTensor(reference)), blur);
    const mx = gaussian(x, 1.5);
    const my = gaussian(y, 1.5);
    const sxx = tf.sub(gaussian(tf.mul(x, x), 1.5), tf.mul(mx, mx));
    const syy = tf.sub(gaussian(tf.mul(y, y), 1.5), tf.mul(my, my));
    const sxy = tf.sub(gaussian(tf.mul(x, y), 1.5), tf.mul(mx, my));
    const c1 = 0.01 ** 2;
    const c2 = 0.03 ** 2;
    const ssim = tf.div(
      tf.mul(tf.add(tf.mul(tf.mul(mx, my), 2), c1), tf.add(tf.mul(sxy, 2), c2)),
      tf.mul(tf.add(tf.add(tf.mul(mx, mx), tf.mul(my, my)), c1), tf.add(tf.add(sxx, syy), c2)),
    );
    return 1 - tf.mean(ssim).dataSync()[0]!;
  });
}

/**
 * Motion-compensated and plain frame-to-frame change; motion from the input frames. The judge's
 * warp resamples with the prefiltered cubic B-spline: a bilinear warp blurs, and would count a
 * sharp painting's own texture, carried faithfully along sub-pixel motion, as flicker.
 * `skip(t)`: leave out the step into frame t (a scene cut).
 */
export function flicker(outputs: RgbImage[], inputs: RgbImage[], sampling: Sampling = 'spline', skip: (t: number) => boolean = () => false): { warped: number; plain: number } {
  let warped = 0;
  let plain = 0;
  for (let t = 1; t < outputs.length; t++) {
    if (skip(t)) continue;
    const [w, p] = tf.tidy(() => {
      const c0 = toGray(imageToTensor(inputs[t - 1]!));
      const c1 = matchExposure(toGray(imageToTensor(inputs[t]!)), c0);
      // The judge's flow: full resolution, more iterations than the stylizer affords, exposure matched.
      const forward = estimateFlow(c0, c1, JUDGE_FLOW);
      const mask = occlusionMask(forward, estimateFlow(c1, c0, JUDGE_FLOW));
      const s0 = imageToTensor(outputs[t - 1]!);
      const s1 = imageToTensor(outputs[t]!);
      const diff = tf.abs(tf.sub(s1, warp(s0, forward, sampling)));
      return [tf.div(tf.sum(tf.mul(diff, mask)), tf.add(tf.mul(tf.sum(mask), 3), 1e-6)).dataSync()[0]!, tf.mean(tf.abs(tf.sub(s1, s0))).dataSync()[0]!];
    });
    warped += w!;
    plain += p!;
  }
  return { warped, plain };
}

/**
 * flicker(outputs) ÷ flicker(inputs) with one judge flow per frame pair (the flow is most of the
 * cost), B-spline warp; and the plain ratio mean|ΔS| / mean|ΔC|.
 */
export function flickerRatio(outputs: RgbImage[], inputs: RgbImage[], skip: (t: number) => boolean = () => false): { warped: number; plain: number } {
  const sums = [0, 0, 0, 0];
  for (let t = 1; t < outputs.length; t++) {
    if (skip(t)) continue;
    const v = tf.tidy(() => {
      const c0 = toGray(imageToTensor(inputs[t - 1]!));
      const c1 = matchExposure(toGray(imageToTensor(inputs[t]!)), c0);
      const forward = estimateFlow(c0, c1, JUDGE_FLOW);
      const mask = occlusionMask(forward, estimateFlow(c1, c0, JUDGE_FLOW));
      const denominator = tf.add(tf.mul(tf.sum(mask), 3), 1e-6);
      return [outputs, inputs].flatMap((seq) => {
        const s0 = imageToTensor(seq[t - 1]!);
        const s1 = imageToTensor(seq[t]!);
        const diff = tf.abs(tf.sub(s1, warp(s0, forward, 'spline')));
        return [tf.div(tf.sum(tf.mul(diff, mask)), denominator).dataSync()[0]!, tf.mean(tf.abs(tf.sub(s1, s0))).dataSync()[0]!];
      });
    });
    v.forEach((x, i) => (sums[i]! += x));
  }
  return { warped: sums[0]! / sums[2]!, plain: sums[1]! / sums[3]! };
}

/** Images side by side, 4 px of white between them (all the same height). */
export function concat(images: RgbImage[]): RgbImage {
  const { height } = images[0]!;
  const gap = 4;
  const total = images.reduce((s, img) => s + img.width, 0) + (images.length - 1) * gap;
  const data = new Uint8Array(total * height * 3).fill(255);
  let x0 = 0;
  for (const img of images) {
    for (let y = 0; y < height; y++) data.set(img.data.subarray(y * img.width * 3, (y + 1) * img.width * 3), (y * total + x0) * 3);
    x0 += img.width + gap;
  }
  return { width: total, height, data };
}

export function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

export function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** Images one above the other, 4 px of white between them (all the same width). */
export function stack(images: RgbImage[]): RgbImage {
  const { width } = images[0]!;
  const gap = 4;
  const height = images.reduce((s, img) => s + img.height, 0) + (images.length - 1) * gap;
  const data = new Uint8Array(width * height * 3).fill(255);
  let offset = 0;
  for (const img of images) {
    data.set(img.data, offset);
    offset += (img.height + gap) * width * 3;
  }
  return { width, height, data };
}
