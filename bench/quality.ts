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
import { followMotion } from '../server/engine/follow-motion.js';
import { readWeights } from '../server/engine/networks/load-network.js';
import { createRandomMultiscale } from '../server/engine/networks/random-multiscale.js';
import { createVgg19 } from '../server/engine/networks/vgg19.js';
import { createStylizer, type StylizeFrameOptions } from '../server/engine/stylizer.js';
import { decodeRgbFrames, probeVideo } from '../server/video/ffmpeg.js';
import { COCKATOO, ROOT, SHIPPED_VGG19, WAVE } from '../test/helpers/paths.js';
import { runLongQualityBench } from './quality-long.js';
import { concat, contentDistance, flicker, judgeGrams, mean, round, styleDistance } from './quality-judge.js';


type Method = 'independent' | 'warm' | 'residual' | 'flow' | 'flow+temporal';
const METHODS: Method[] = ['independent', 'warm', 'residual', 'flow', 'flow+temporal'];
const FIRST_FRAME_STEPS = 60;
const STILL_STEPS = 200;

export async function runQualityBench(argv: string[]): Promise<void> {
  if (argv.includes('--long')) return runLongQualityBench(argv.filter((a) => a !== '--long'));
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
