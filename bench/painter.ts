/**
 * The feed-forward painter's costs on this machine, to choose its size (issue 12): per shape, one
 * forward pass (painting a frame) and one training step (painter forward + loss network forward
 * and backward to the painter's weights + Adam), beside one optimiser step (the per-frame Gatys
 * step the painter would replace) — all in the same run, same size, same network.
 * Then, for the chosen shape, a short learning curve on the cockatoo clip: the perceptual loss of
 * held-out frames against training seconds (judge: the loss itself — the objective the painter
 * is trained on; the outside judges come with the long-mode quality bench).
 *
 *   npm run bench -- painter [--size 256x144] [--shapes 16x2,32x3,48x4] [--reps 5]
 *     [--curve-shape 32x3] [--curve-size 128x72] [--curve-seconds 60]
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { decodeImage } from '../server/codec/image-codec.js';
import { selectBackend } from '../server/engine/backend.js';
import { imageToTensor, type RgbImage } from '../server/engine/image.js';
import { loadNetwork } from '../server/engine/networks/load-network.js';
import { createPainterNet, painterFlops, type PainterShape } from '../server/engine/painter-net/painter-net.js';
import { createPainterTrainer } from '../server/engine/painter-net/painter-trainer.js';
import { createStylizer } from '../server/engine/stylizer.js';
import { DEFAULT_MODELS_DIR } from '../server/paths.js';
import { decodeRgbFrames, probeVideo } from '../server/video/ffmpeg.js';
import { COCKATOO, STARRY_NIGHT } from '../test/helpers/paths.js';
import { ENGINE_DEFAULTS } from '../server/engine/engine-options.js';
import { PAINTER_TUNING } from '../server/painter/painter-tuning.js';

const parseSize = (s: string): { width: number; height: number } => {
  const [width, height] = s.split('x').map(Number);
  return { width: width!, height: height! };
};
const parseShape = (s: string): PainterShape => {
  const [channels, blocks] = s.split('x').map(Number);
  return { channels: channels!, blocks: blocks! };
};
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number, digits = 1): number => Number(x.toFixed(digits));

async function clipFrames(size: { width: number; height: number }, count: number, every: number): Promise<RgbImage[]> {
  const info = await probeVideo(COCKATOO);
  const frames: RgbImage[] = [];
  let i = 0;
  for await (const rgb of decodeRgbFrames(COCKATOO, info, size)) {
    if (i++ % every === 0) frames.push({ ...size, data: rgb });
    if (frames.length === count) break;
  }
  return frames;
}

export async function runPainterBench(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      size: { type: 'string', default: '256x144' },
      shapes: { type: 'string', default: '16x2,32x3,48x4' },
      reps: { type: 'string', default: '5' },
      'curve-shape': { type: 'string', default: '32x3' },
      'curve-size': { type: 'string', default: '128x72' },
      'curve-seconds': { type: 'string', default: '60' },
    },
  });
  const backend = await selectBackend({});
  const network = (await loadNetwork({ model: 'vgg19-blocks1-3', modelsDir: DEFAULT_MODELS_DIR, seed: 1 })).network;
  const style = await decodeImage(STARRY_NIGHT, { exact: { width: 256, height: 202 } });
  const size = parseSize(values.size);
  const reps = Number(values.reps);
  const [frame] = await clipFrames(size, 1, 1);
  console.log(JSON.stringify({ bench: 'painter', backend: backend.name, threads: backend.threads, network: network.description, size: values.size }));

  // The optimiser step it would replace, same frame, same network.
  const stylizer = createStylizer(network, { contentWeight: 10, styleWeight: 40 }, { ownsNetwork: false });
  stylizer.setStyle([{ image: style }]);
  await stylizer.stylizeFrame(frame!, { steps: 1 });
  const optimiserMs: number[] = [];
  for (let r = 0; r < reps; r++) {
    const started = performance.now();
    await stylizer.stylizeFrame(frame!, { steps: 1, warmStart: true });
    optimiserMs.push(performance.now() - started);
  }
  stylizer.dispose();
  console.log(JSON.stringify({ what: 'optimiser step (warm, 1 step, incl. overhead)', ms: round(median(optimiserMs)) }));

  for (const shapeText of values.shapes.split(',')) {
    const shape = parseShape(shapeText);
    const painter = createPainterNet(shape, 1);
    const trainer = createPainterTrainer(network, painter, style, { contentWeight: 10, styleWeight: 40, learningRate: 1e-3 });
    const input = imageToTensor(frame!);
    tf.tidy(() => painter.apply(input).dataSync()); // first run: kernels compile
    const forwardMs: number[] = [];
    for (let r = 0; r < reps; r++) {
      const started = performance.now();
      tf.tidy(() => painter.apply(input).dataSync());
      forwardMs.push(performance.now() - started);
    }
    await trainer.step([frame!]);
    const trainMs: number[] = [];
    for (let r = 0; r < reps; r++) {
      const started = performance.now();
      await trainer.step([frame!]);
      trainMs.push(performance.now() - started);
    }
    const flops = painterFlops(shape, size.height, size.width);
    console.log(
      JSON.stringify({
        shape: shapeText,
        params: painter.variables.reduce((n, v) => n + v.size, 0),
        forwardMs: round(median(forwardMs)),
        forwardGflops: round(flops / 1e9, 3),
        forwardGflopPerS: round(flops / 1e6 / median(forwardMs)),
        trainStepMs: round(median(trainMs)),
      }),
    );
    trainer.dispose();
    painter.dispose();
    input.dispose();
  }

  // Learning curve: held-out loss against training seconds.
  const curveSize = parseSize(values['curve-size']);
  const frames = await clipFrames(curveSize, 36, 4);
  const heldOut = frames.filter((_, i) => i % 6 === 5);
  const training = frames.filter((_, i) => i % 6 !== 5);
  const painter = createPainterNet(parseShape(values['curve-shape']), 1);
  const trainer = createPainterTrainer(network, painter, style, { contentWeight: ENGINE_DEFAULTS.contentWeight, styleWeight: ENGINE_DEFAULTS.styleWeight, learningRate: PAINTER_TUNING.learningRate });
  const started = performance.now();
  const limitMs = Number(values['curve-seconds']) * 1000;
  let nextReport = 0;
  for (let s = 0; performance.now() - started < limitMs; s++) {
    if (performance.now() - started >= nextReport) {
      const loss = await trainer.evaluate(heldOut);
      console.log(JSON.stringify({ curve: values['curve-shape'], size: values['curve-size'], seconds: round((performance.now() - started) / 1000), steps: s, heldOut: { total: round(loss.total, 0), content: round(loss.content, 0), style: round(loss.style, 0) } }));
      nextReport += limitMs / 6;
    }
    await trainer.step([training[(2 * s) % training.length]!, training[(2 * s + 1) % training.length]!]);
  }
  const loss = await trainer.evaluate(heldOut);
  console.log(JSON.stringify({ curve: values['curve-shape'], seconds: round((performance.now() - started) / 1000), steps: trainer.steps, heldOut: { total: round(loss.total, 0), content: round(loss.content, 0), style: round(loss.style, 0) } }));
  trainer.dispose();
  painter.dispose();
  network.dispose();
}
