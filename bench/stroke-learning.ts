/**
 * How fast a new style's stroke painter learns (issue 22): the server's background recipe for an
 * uploaded style (PAINTER_TUNING.stroke: background keyframes of the shipped training frames,
 * painted by the optimiser, then supervised steps), timed from the start, judged every
 * `--every` seconds of training on frames it never saw (the mirrored cockatoo) against their
 * 200-step stills: reference gap and patch gap (no neural network). Beside it, the live optimiser
 * alone on the same frames (one step from the photo in the style's colours, the live step size)
 * — the painter is used once it beats that. Both paint the photos as a stream sends them (JPEG
 * at the page's quality); the stills are of the clean frames.
 *
 *   npm run bench -- stroke-learning [--style <file|id>] [--seconds 240] [--every 15] [--judge 10,60,110]
 *
 * Prints one JSON line per judgement and a table; writes the curve (PNG) and a side-by-side of
 * the last judgement to bench/out/stroke-learning/. Run it alone: seconds are the machine's.
 */
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { decodeImage, writeImage } from '../server/codec/image-codec.js';
import { DEFAULTS, resolveCostWeights, resolveStartColours } from '../server/config.js';
import { selectBackend } from '../server/engine/backend.js';
import type { RgbImage } from '../server/engine/image.js';
import { loadNetwork } from '../server/engine/networks/load-network.js';
import { OPTIMISER_RECIPES } from '../server/engine/optimiser-recipe.js';
import { createKeyframeTrainer } from '../server/engine/painter-net/keyframe-trainer.js';
import { paintImage } from '../server/engine/painter-net/paint-with.js';
import { STROKE_PAINTER_SHAPE } from '../server/engine/painter-net/painter-key.js';
import { createPainterNet } from '../server/engine/painter-net/painter-net.js';
import { createStylizer } from '../server/engine/stylizer.js';
import { LIVE_LEARNING_RATE } from '../server/live/stream-process/frame-stylizer.js';
import { asStreamed, paintKeyframes } from '../server/painter/keyframes.js';
import { PAINTER_TUNING } from '../server/painter/painter-tuning.js';
import { spread } from '../server/painter/train-stroke-painter.js';
import { shippedTrainingSamples } from '../server/painter/training-frames.js';
import { DEFAULT_MODELS_DIR, PAINTINGS_DIR } from '../server/paths.js';
import { decodeRgbFrames, probeVideo } from '../server/video/ffmpeg.js';
import { COCKATOO, ROOT, WAVE } from '../test/helpers/paths.js';
import { defaultStill, judgeAgainstStills, mirror } from './live-judge.js';
import { linePlot } from './plot.js';

const STROKE = PAINTER_TUNING.stroke;
const SIZE = { width: 256, height: 144 };

export async function runStrokeLearningBench(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      style: { type: 'string', default: WAVE },
      seconds: { type: 'string', default: '240' },
      every: { type: 'string', default: '15' },
      judge: { type: 'string', default: '10,60,110' },
      out: { type: 'string', default: 'bench/out/stroke-learning' },
    },
  });
  await selectBackend({ prefer: 'wasm' });
  const { network } = await loadNetwork({ model: 'vgg19-blocks1-3', modelsDir: DEFAULT_MODELS_DIR, seed: DEFAULTS.seed });
  const styleFile = values.style.includes('/') ? values.style : path.join(PAINTINGS_DIR, values.style);
  const styleBytes = new Uint8Array(await readFile(styleFile));
  const style = await decodeImage(styleBytes, { longSide: Math.max(SIZE.width, SIZE.height), minShortSide: network.minSide });
  // The judged frames: the cockatoo mirrored (no painter trains on them), with their stills.
  const info = await probeVideo(COCKATOO);
  const all: RgbImage[] = [];
  for await (const rgb of decodeRgbFrames(COCKATOO, info, SIZE)) all.push(mirror({ ...SIZE, data: new Uint8Array(rgb) }));
  const judged = values.judge.split(',').map(Number).map((index) => ({ index, photo: all[index]! }));
  const stills = await Promise.all(judged.map(async (j) => ({ ...j, still: await defaultStill(network, style, styleBytes, j.photo) })));
  const streamed = (await asStreamed(stills.map((s) => ({ photo: s.photo, painting: s.still })))).map((k) => k.photo);
  const live = await liveOptimiserFrames(network, style, streamed);
  const baseline = judgeAgainstStills(stills.map((s, i) => ({ ...s, output: live[i]! }))).judged;
  process.stdout.write(`${JSON.stringify({ bench: 'stroke-learning', what: 'live optimiser, 1 step', ...baseline })}\n`);

  // The background recipe, timed from here.
  const started = performance.now();
  const seconds = (): number => Math.round((performance.now() - started) / 100) / 10;
  const frames = spread((await shippedTrainingSamples(SIZE)).map((s) => s.frame), STROKE.backgroundKeyframes);
  const keyframes = await paintKeyframes(network, style, frames);
  const keyframesAt = seconds();
  const painter = createPainterNet(STROKE_PAINTER_SHAPE);
  const trainer = createKeyframeTrainer(painter, network, STROKE);
  trainer.setKeyframes(await asStreamed(keyframes));
  const rows: { seconds: number; steps: number; referenceGap: number; patchGap: number }[] = [];
  let sheet: RgbImage | undefined;
  let next = keyframesAt;
  const limit = Number(values.seconds);
  for (;;) {
    if (seconds() >= next || seconds() >= limit) {
      // Painted from the photos as a stream sends them (JPEG), judged against the clean frames' stills.
      const outputs = await Promise.all(streamed.map((photo) => paintImage(painter, photo)));
      const result = judgeAgainstStills(stills.map((s, i) => ({ ...s, output: outputs[i]! })));
      sheet = result.sheet;
      const row = { seconds: seconds(), steps: trainer.steps, referenceGap: result.judged.referenceGap, patchGap: result.judged.patchGap };
      rows.push(row);
      process.stdout.write(`${JSON.stringify({ bench: 'stroke-learning', ...row })}\n`);
      next += Number(values.every);
      if (seconds() >= limit) break;
    }
    await trainer.step();
  }
  trainer.dispose();
  painter.dispose();
  network.dispose();
  await mkdir(values.out, { recursive: true });
  const yMax = Math.max(1.2, ...rows.map((r) => r.referenceGap), baseline.referenceGap);
  await writeImage(
    linePlot(
      [
        { points: rows.map((r) => ({ x: r.seconds, y: r.referenceGap })), colour: [0, 130, 200] },
        { points: rows.map((r) => ({ x: r.seconds, y: r.patchGap })), colour: [245, 130, 48] },
        { points: [{ x: 0, y: baseline.referenceGap }, { x: limit, y: baseline.referenceGap }], colour: [128, 128, 128] },
      ],
      { xMax: limit, yMax, xTick: 30 },
    ),
    path.join(values.out, 'curve.png'),
  );
  if (sheet) await writeImage(sheet, path.join(values.out, 'side-by-side.png'));
  const table = ['| seconds | steps | reference gap | patch gap |', '| --- | --- | --- | --- |', ...rows.map((r) => `| ${r.seconds} | ${r.steps} | ${r.referenceGap} | ${r.patchGap} |`)];
  process.stdout.write(`keyframes painted after ${keyframesAt} s; live optimiser (1 step) on the same frames: reference gap ${baseline.referenceGap}, patch gap ${baseline.patchGap}\n${table.join('\n')}\n`);
  process.stderr.write(`curve: ${path.relative(ROOT, path.join(values.out, 'curve.png'))} (blue: reference gap, orange: patch gap, grey: the live optimiser's reference gap)\n`);
}

/** What the live optimiser shows for a frame from cold: one step at the live step size from the photo in the style's colours. */
async function liveOptimiserFrames(network: Awaited<ReturnType<typeof loadNetwork>>['network'], style: RgbImage, photos: RgbImage[]): Promise<RgbImage[]> {
  const strength = { optimizer: DEFAULTS.optimizer, styleStrength: DEFAULTS.styleStrength };
  const stylizer = createStylizer(network, { ...DEFAULTS, ...resolveCostWeights(strength), startColours: resolveStartColours(strength), optimizer: OPTIMISER_RECIPES[DEFAULTS.optimizer], lr: LIVE_LEARNING_RATE }, { ownsNetwork: false });
  try {
    stylizer.setStyle([{ image: style }]);
    const out: RgbImage[] = [];
    for (const photo of photos) out.push((await stylizer.stylizeFrame(photo, { steps: 1 })).image);
    return out;
  } finally {
    stylizer.dispose();
  }
}
