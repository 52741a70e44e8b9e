/**
 * Temporal quality: style match, content kept and flicker for independent frames, plain warm
 * start, the cheap residual warm start, flow-warped warm start and flow + temporal loss, at 1, 2
 * and 4 steps per frame, judged by a network that is *not* the loss network.
 *
 *   npm run bench -- quality [--clip <file>] [--style <img>] [--frames 24] [--first-frame 0] [--size 72] [--temporal-weight 5e4]
 *                            [--steps 1,2,4] [--lr 0.03]
 *                            [--methods independent,warm,residual,flow,flow+temporal] (--lr and
 *                            --temporal-weight take lists too)
 *
 * Style match: (d(content) − d(result)) / (d(content) − d(still)), d the judge's Gram distance to
 * the style, "still" a 200-step still-image run on the same frame (frames 0, middle, last).
 * Flicker: mean |S_t − warp(S_t−1)| over pixels the input motion explains, divided by the same
 * for the input frames (1.0 = no added flicker); "plain" is mean|ΔS| / mean|ΔC|.
 * Writes bench/out/quality-side-by-side.png (input | independent | warm | residual | flow+temporal).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { decodeImage, writeImage } from '../server/codec/image-codec.js';
import { DEFAULTS } from '../server/config.js';
import { selectBackend } from '../server/engine/backend.js';
import { imageToTensor, type RgbImage } from '../server/engine/image.js';
import { contentCost, gramMatrix } from '../server/engine/losses.js';
import { followMotion } from '../server/engine/follow-motion.js';
import { estimateFlow, matchExposure, occlusionMask, toGray } from '../server/engine/motion.js';
import { warp, type Sampling } from '../server/engine/warp.js';
import type { FeatureNetwork } from '../server/engine/networks/network.js';
import { readWeights } from '../server/engine/networks/load-network.js';
import { createRandomMultiscale } from '../server/engine/networks/random-multiscale.js';
import { createVgg19 } from '../server/engine/networks/vgg19.js';
import { createStylizer, type StylizeFrameOptions } from '../server/engine/stylizer.js';
import { decodeRgbFrames, probeVideo } from '../server/video/ffmpeg.js';
import { COCKATOO, ROOT, SHIPPED_VGG19, WAVE } from '../test/helpers/paths.js';


type Method = 'independent' | 'warm' | 'residual' | 'flow' | 'flow+temporal';
const METHODS: Method[] = ['independent', 'warm', 'residual', 'flow', 'flow+temporal'];
const FIRST_FRAME_STEPS = 60;
const STILL_STEPS = 200;
/** The judge's flow, pinned: tuning the stylizer's flow defaults must not move the judge. */
const JUDGE_FLOW = { levels: 4, iterations: 8, window: 9, ridge: 2e-5, smooth: 5 };

export async function runQualityBench(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      clip: { type: 'string', default: COCKATOO },
      style: { type: 'string', default: WAVE },
      frames: { type: 'string', default: '24' },
      'first-frame': { type: 'string', default: '0' },
      size: { type: 'string', default: '72' },
      'temporal-weight': { type: 'string', default: String(DEFAULTS.temporalWeight) },
      steps: { type: 'string', default: '1,2,4' },
      lr: { type: 'string', default: '0.03' },
      methods: { type: 'string', default: METHODS.join(',') },
    },
  });
  await selectBackend({ prefer: 'wasm' });
  const info = await probeVideo(values.clip);
  const height = Number(values.size);
  const width = Math.round((info.width / info.height) * height / 2) * 2;
  const frames: RgbImage[] = [];
  for await (const data of decodeRgbFrames(values.clip, info, { width, height }, { start: Number(values['first-frame']), end: Number(values['first-frame']) + Number(values.frames) })) {
    frames.push({ width, height, data });
  }
  const style = await decodeImage(values.style, { longSide: Math.max(width, height), minShortSide: 32 });
  const loss = createRandomMultiscale(42);
  const { weights, source } = await readWeights(SHIPPED_VGG19);
  const judge = createVgg19({ weights, source });
  process.stderr.write(`clip ${path.basename(values.clip)}: ${frames.length} frames from frame ${values['first-frame']} at ${width}×${height}; loss ${loss.name}, judge vgg19 blocks 1–3\n`);

  const styleTargets = judgeGrams(judge, style);
  const stillFrames = [0, Math.floor(frames.length / 2), frames.length - 1];
  const still = new Map<number, RgbImage>();
  for (const i of stillFrames) {
    const s = createStylizer(loss, {}, { ownsNetwork: false });
    s.setStyle([{ image: style }]);
    still.set(i, (await s.stylizeFrame(frames[i]!, { steps: STILL_STEPS })).image);
    s.dispose();
  }
  const inputFlicker = flicker(frames, frames);
  const inputFlickerBilinear = flicker(frames, frames, 'bilinear');
  const rows: Record<string, unknown>[] = [];
  const sideBySide: RgbImage[] = [frames[frames.length - 1]!];
  for (const steps of values.steps.split(',').map(Number)) for (const lr of values.lr.split(',').map(Number)) for (const temporalWeight of values['temporal-weight'].split(',').map(Number)) {
    for (const method of values.methods.split(',') as Method[]) {
      const s = createStylizer(loss, { lr }, { ownsNetwork: false });
      s.setStyle([{ image: style }]);
      const outputs: RgbImage[] = [];
      let ms = 0;
      for (let t = 0; t < frames.length; t++) {
        const options: StylizeFrameOptions =
          t === 0 ? { steps: FIRST_FRAME_STEPS } : method === 'independent' ? { steps } : {
            steps,
            warmStart: true,
            motion: method === 'warm' ? 'none' : method === 'residual' ? 'residual' : 'flow',
            temporalWeight: method === 'flow+temporal' ? temporalWeight : 0,
          };
        const started = performance.now();
        outputs.push((await s.stylizeFrame(frames[t]!, options)).image);
        if (t > 0) ms += performance.now() - started;
      }
      s.dispose();
      const match = stillFrames.map((i) => {
        const d0 = styleDistance(judge, frames[i]!, styleTargets);
        const dStill = styleDistance(judge, still.get(i)!, styleTargets);
        return (d0 - styleDistance(judge, outputs[i]!, styleTargets)) / (d0 - dStill);
      });
      const f = flicker(outputs, frames);
      rows.push({
        method,
        lr,
        temporalWeight,
        steps,
        msPerFrame: Math.round(ms / (frames.length - 1)),
        styleMatchPct: Math.round((match.reduce((a, b) => a + b, 0) / match.length) * 100),
        styleMatchPerFrame: match.map((m) => Math.round(m * 100)),
        contentDistance: Math.round(mean(stillFrames.map((i) => contentDistance(judge, outputs[i]!, frames[i]!)))),
        flicker: round(f.warped / inputFlicker.warped, 2),
        flickerPlain: round(f.plain / inputFlicker.plain, 2),
        flickerBilinearJudge: round(flicker(outputs, frames, 'bilinear').warped / inputFlickerBilinear.warped, 2),
      });
      process.stdout.write(`${JSON.stringify({ bench: 'quality', ...rows.at(-1) })}\n`);
      if (steps === 2 && method !== 'flow') sideBySide.push(outputs[outputs.length - 1]!);
    }
  }
  const stillContent = Math.round(mean(stillFrames.map((i) => contentDistance(judge, still.get(i)!, frames[i]!))));
  process.stdout.write(`${JSON.stringify({ bench: 'quality', method: `still (${STILL_STEPS} steps)`, styleMatchPct: 100, contentDistance: stillContent })}\n`);
  process.stdout.write(`${JSON.stringify({ bench: 'quality', motionMsPerFrame: motionCost(frames) })}\n`);
  await mkdir(path.join(ROOT, 'bench/out'), { recursive: true });
  const out = path.join(ROOT, 'bench/out/quality-side-by-side.png');
  await writeImage(concat(sideBySide), out);
  process.stderr.write(`side-by-side (input | independent | warm | residual | flow+temporal, 2 steps, last frame): ${out}\n`);
  loss.dispose();
  judge.dispose();
}

/** Per-pixel Grams of the judge's style layers. */
function judgeGrams(judge: FeatureNetwork, image: RgbImage): tf.Tensor2D[] {
  return tf.tidy(() => {
    const f = judge.extract(imageToTensor(image), judge.styleLayers.map((l) => l.name));
    return judge.styleLayers.map((l) => {
      const a = f[l.name]!;
      return tf.div(gramMatrix(a), a.shape[1] * a.shape[2]) as tf.Tensor2D;
    });
  });
}

function styleDistance(judge: FeatureNetwork, image: RgbImage, targets: tf.Tensor2D[]): number {
  return tf.tidy(() => {
    const grams = judgeGrams(judge, image);
    return grams.reduce((sum, g, i) => sum + tf.mean(tf.squaredDifference(g, targets[i]!)).dataSync()[0]!, 0);
  });
}

function contentDistance(judge: FeatureNetwork, image: RgbImage, content: RgbImage): number {
  return tf.tidy(() => {
    const layer = judge.contentLayers[0]!.name;
    const a = judge.extract(imageToTensor(image), [layer])[layer]!;
    const b = judge.extract(imageToTensor(content), [layer])[layer]!;
    return contentCost(b, a).dataSync()[0]!;
  });
}

/**
 * Motion-compensated and plain frame-to-frame change; motion from the input frames. The judge's
 * warp resamples with the prefiltered cubic B-spline: a bilinear warp blurs, and would count a
 * sharp painting's own texture, carried faithfully along sub-pixel motion, as flicker. The
 * bilinear judge is reported too ("flickerBilinearJudge").
 */
function flicker(outputs: RgbImage[], inputs: RgbImage[], sampling: Sampling = 'spline'): { warped: number; plain: number } {
  let warped = 0;
  let plain = 0;
  for (let t = 1; t < outputs.length; t++) {
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

/** Milliseconds the stylizer's motion step (forward flow, backward flow, mask, warp) takes at this size. */
function motionCost(frames: RgbImage[]): number {
  const [a, b] = [frames[0]!, frames[1]!].map((f) => imageToTensor(f));
  const output = imageToTensor(frames[0]!);
  const run = (): void =>
    tf.tidy(() => {
      const { warped, mask } = followMotion(a!, b!, output);
      warped.dataSync();
      mask.dataSync();
    });
  run();
  const started = performance.now();
  for (let i = 0; i < 10; i++) run();
  tf.dispose([a!, b!, output]);
  return Math.round((performance.now() - started) / 10);
}

function concat(images: RgbImage[]): RgbImage {
  const { width, height } = images[0]!;
  const gap = 4;
  const total = images.length * width + (images.length - 1) * gap;
  const data = new Uint8Array(total * height * 3).fill(255);
  images.forEach((img, k) => {
    for (let y = 0; y < height; y++) data.set(img.data.subarray(y * width * 3, (y + 1) * width * 3), (y * total + k * (width + gap)) * 3);
  });
  return { width: total, height, data };
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
