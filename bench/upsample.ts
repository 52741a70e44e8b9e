/**
 * Painting below the output size and bringing it back: a plain resize (sharp's lanczos3, what
 * live frames got before; and a cubic) against the detail transfer up(P − p) + I and the guided
 * upsampler (server/engine/guided-upsample.ts), at several working sizes, judged at the OUTPUT
 * size. Also what the two ways of getting the working-size photo cost (decode twice, or decode
 * at the output size once and shrink) and what the upsamplers cost, in CPU and wall ms.
 *
 *   npm run bench -- upsample [--output 144] [--sizes 54,72,96,144] [--steps 30] [--style <img>]
 *                             [--content-weight 10,100]
 *
 * Each frame (a cockatoo and a Big Buck Bunny frame) is painted cold for --steps steps at each
 * working size with the live defaults (the loss network: the shipped VGG19 blocks 1–3; α from
 * --content-weight, default DEFAULTS.contentWeight: a larger α keeps more of the photo, which is
 * where the guide has edges to give back).
 * Judges, neither of them the upsampler's: `rm` = random-multiscale features (not the loss
 * network), `vgg` = the shipped VGG19 itself (the loss network: it favours what it optimised).
 * - sharpness: mean gradient magnitude of the luminance (0–255 per pixel) at the output size;
 * - content: the judge's content distance to the photo at the output size (lower: the scene is
 *   easier to recognise);
 * - style: how much of the painting's style distance the output keeps, against the painting made
 *   at the output size with the same steps: 100 × (d(photo) − d(out)) / (d(photo) − d(full)),
 *   d = the judge's Gram distance to the style image.
 * Writes bench/out/upsample-<clip>.png: photo | painted at each size (lanczos3 | guided) | painted at full size.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { decodeImage, encodeImage, resizeImage, sizeForShortSide, writeImage } from '../server/codec/image-codec.js';
import { selectBackend } from '../server/engine/backend.js';
import { guidedUpsample } from '../server/engine/guided-upsample.js';
import { imageToTensor, type RgbImage } from '../server/engine/image.js';
import { contentCost, gramMatrix } from '../server/engine/losses.js';
import type { FeatureNetwork } from '../server/engine/networks/network.js';
import { readWeights } from '../server/engine/networks/load-network.js';
import { createRandomMultiscale } from '../server/engine/networks/random-multiscale.js';
import { createVgg19 } from '../server/engine/networks/vgg19.js';
import { resizePlane } from '../server/engine/resample.js';
import { createStylizer } from '../server/engine/stylizer.js';
import { DEFAULTS } from '../server/config.js';
import { decodeRgbFrames, probeVideo } from '../server/video/ffmpeg.js';
import { BBB_WEBM, COCKATOO, ROOT, SHIPPED_VGG19, STARRY_NIGHT } from '../test/helpers/paths.js';

type Method = 'lanczos3' | 'cubic' | 'detail' | 'guided';
const METHODS: Method[] = ['lanczos3', 'cubic', 'detail', 'guided'];

export async function runUpsampleBench(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      output: { type: 'string', default: '144' },
      sizes: { type: 'string', default: '54,72,96,144' },
      steps: { type: 'string', default: '30' },
      style: { type: 'string', default: STARRY_NIGHT },
      'content-weight': { type: 'string', default: String(DEFAULTS.contentWeight) },
    },
  });
  await selectBackend({ prefer: 'wasm' });
  const outShort = Number(values.output);
  const sizes = values.sizes.split(',').map(Number).filter((s) => s <= outShort);
  const steps = Number(values.steps);
  const { weights, source } = await readWeights(SHIPPED_VGG19);
  const loss = createVgg19({ weights, source });
  const judges: Record<string, FeatureNetwork> = { rm: createRandomMultiscale(7), vgg: loss };
  process.stderr.write(`loss: ${loss.description}; judges: rm = random-multiscale (seed 7), vgg = the loss network itself\n`);

  await costs(outShort);
  const clips = [['cockatoo', COCKATOO, 60], ['bunny', BBB_WEBM, 120]] as const;
  const cases = values['content-weight'].split(',').map(Number).flatMap((contentWeight) => clips.map((clip) => ({ contentWeight, clip })));
  for (const { contentWeight, clip: [name, clip, at] } of cases) {
    const info = await probeVideo(clip);
    const size = sizeForShortSide(info, outShort);
    let photo: RgbImage | undefined;
    for await (const data of decodeRgbFrames(clip, info, size, { start: at, end: at + 1 })) photo = { ...size, data };
    if (!photo) throw new Error(`no frame ${at} in ${clip}`);
    const style = await decodeImage(values.style, { longSide: Math.max(size.width, size.height) });
    const judged = Object.fromEntries(Object.entries(judges).map(([j, net]) => [j, { net, grams: grams(net, style) }]));
    const dPhoto = Object.fromEntries(Object.entries(judged).map(([j, { net, grams: g }]) => [j, styleDistance(net, photo!, g)]));
    const paint = async (image: RgbImage): Promise<RgbImage> => {
      const s = createStylizer(loss, { contentWeight, styleWeight: DEFAULTS.styleWeight }, { ownsNetwork: false });
      s.setStyle([{ image: style }]);
      const out = (await s.stylizeFrame(image, { steps })).image;
      s.dispose();
      return out;
    };
    const full = await paint(photo);
    const dFull = Object.fromEntries(Object.entries(judged).map(([j, { net, grams: g }]) => [j, styleDistance(net, full, g)]));
    const tiles: RgbImage[] = [photo];
    const report = (work: string, method: string, out: RgbImage): void => {
      const row: Record<string, unknown> = { bench: 'upsample', clip: name, contentWeight, output: `${size.width}x${size.height}`, work, method, steps };
      row.sharpness = round(sharpness(out), 2);
      for (const [j, { net, grams: g }] of Object.entries(judged)) {
        row[`content_${j}`] = round(contentDistance(net, out, photo!), 1);
        row[`style_${j}`] = Math.round((100 * (dPhoto[j]! - styleDistance(net, out, g))) / (dPhoto[j]! - dFull[j]!));
      }
      process.stdout.write(`${JSON.stringify(row)}\n`);
    };
    report('photo', 'none', photo);
    for (const short of sizes) {
      if (short === outShort) continue;
      const workSize = sizeForShortSide(info, short);
      const low = await resizeImage(photo, workSize);
      const painted = await paint(low);
      for (const method of METHODS) {
        // (What each costs is measured once, above, in CPU ms.)
        const out = await upsample(method, painted, low, photo);
        report(`${workSize.width}x${workSize.height}`, method, out);
        if (method === 'lanczos3' || method === 'guided') tiles.push(out);
      }
    }
    report(`${size.width}x${size.height}`, 'painted at the output size', full);
    tiles.push(full);
    await mkdir(path.join(ROOT, 'bench/out'), { recursive: true });
    const file = path.join(ROOT, `bench/out/upsample-${name}-a${contentWeight}.png`);
    await writeImage(concat(tiles), file);
    process.stderr.write(`${name}: ${file} (photo | for each working size: lanczos3, guided | painted at ${size.width}×${size.height})\n`);
  }
  for (const net of Object.values(judges)) net.dispose();
}

async function upsample(method: Method, painted: RgbImage, low: RgbImage, full: RgbImage): Promise<RgbImage> {
  switch (method) {
    case 'lanczos3':
      return resizeImage(painted, full, 'lanczos3');
    case 'cubic':
      return fromPlane(resizePlane(toPlane(painted), full.width, full.height, 'cubic'));
    case 'detail':
      return guidedUpsample(painted, low, full, { fixedGain: 1 });
    case 'guided':
      return guidedUpsample(painted, low, full);
  }
}

/** ms per frame of each step of the live path at the output size (a 256×144 and a 640×360 JPEG in). */
async function costs(outShort: number): Promise<void> {
  for (const [w, h] of [[256, 144], [640, 360]] as const) {
    const photo = await firstFrame(w, h);
    const jpeg = await encodeImage(photo, 'jpeg', 85);
    const full = sizeForShortSide(photo, outShort);
    const work = sizeForShortSide(photo, Math.round(outShort / 2));
    // CPU ms as well as wall ms: on a shared machine the wall clock mostly measures the others.
    const time = async (what: string, f: () => Promise<unknown>): Promise<void> => {
      await f();
      const cpu = process.cpuUsage();
      const started = performance.now();
      for (let i = 0; i < 20; i++) await f();
      const used = process.cpuUsage(cpu);
      process.stdout.write(
        `${JSON.stringify({ bench: 'upsample', cost: what, input: `${w}x${h} JPEG`, output: `${full.width}x${full.height}`, work: `${work.width}x${work.height}`, ms: round((performance.now() - started) / 20, 2), cpuMs: round((used.user + used.system) / 1000 / 20, 2) })}\n`,
      );
    };
    await time('decode at output size and at working size', async () => {
      await decodeImage(jpeg, { exact: full });
      await decodeImage(jpeg, { exact: work });
    });
    await time('decode at output size, shrink to working size', async () => {
      await resizeImage(await decodeImage(jpeg, { exact: full }), work);
    });
    const fullImage = await decodeImage(jpeg, { exact: full });
    const low = await resizeImage(fullImage, work);
    await time('guided upsample', async () => guidedUpsample(low, low, fullImage));
    await time('plain lanczos3 upscale (sharp)', async () => resizeImage(low, full));
  }
}

async function firstFrame(width: number, height: number): Promise<RgbImage> {
  const info = await probeVideo(COCKATOO);
  for await (const data of decodeRgbFrames(COCKATOO, info, { width, height }, { start: 0, end: 1 })) return { width, height, data };
  throw new Error('no frame');
}

function grams(judge: FeatureNetwork, image: RgbImage): tf.Tensor2D[] {
  return tf.tidy(() => {
    const f = judge.extract(imageToTensor(image), judge.styleLayers.map((l) => l.name));
    return judge.styleLayers.map((l) => {
      const a = f[l.name]!;
      return tf.div(gramMatrix(a), a.shape[1] * a.shape[2]) as tf.Tensor2D;
    });
  });
}

function styleDistance(judge: FeatureNetwork, image: RgbImage, targets: tf.Tensor2D[]): number {
  return tf.tidy(() => grams(judge, image).reduce((sum, g, i) => sum + tf.mean(tf.squaredDifference(g, targets[i]!)).dataSync()[0]!, 0));
}

function contentDistance(judge: FeatureNetwork, image: RgbImage, content: RgbImage): number {
  return tf.tidy(() => {
    const layer = judge.contentLayers[0]!.name;
    const a = judge.extract(imageToTensor(image), [layer])[layer]!;
    const b = judge.extract(imageToTensor(content), [layer])[layer]!;
    return contentCost(b, a).dataSync()[0]!;
  });
}

/** Mean gradient magnitude of the luminance (central differences), 0–255 scale. */
function sharpness(image: RgbImage): number {
  const { width: w, height: h, data } = image;
  const l = (x: number, y: number): number => {
    const i = (y * w + x) * 3;
    return 0.299 * data[i]! + 0.587 * data[i + 1]! + 0.114 * data[i + 2]!;
  };
  let sum = 0;
  for (let y = 1; y < h - 1; y++) for (let x = 1; x < w - 1; x++) sum += Math.hypot((l(x + 1, y) - l(x - 1, y)) / 2, (l(x, y + 1) - l(x, y - 1)) / 2);
  return sum / ((w - 2) * (h - 2));
}

function toPlane(image: RgbImage) {
  return { width: image.width, height: image.height, channels: 3, data: Float32Array.from(image.data, (v) => v / 255) };
}

function fromPlane(plane: { width: number; height: number; data: Float32Array }): RgbImage {
  return { width: plane.width, height: plane.height, data: Uint8Array.from(plane.data, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255)) };
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

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
