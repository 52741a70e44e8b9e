/**
 * A finished video job against the still painting (issue 22), with no neural network in the
 * judges: the reference gap and the patch gap of its 10th, middle and last frames against the
 * 200-step stills of the same input frames (`stylize image`'s defaults, cached; live-judge.ts),
 * the warped flicker ratio of its first 2 s (quality-judge.ts flickerRatio: the judge's own flow,
 * B-spline warp), and its cost in optimiser-step equivalents: the job's seconds ÷ (frames × one
 * default optimiser step at the job's working size, timed here in the same run).
 */
import path from 'node:path';
import { writeImage } from '../server/codec/image-codec.js';
import { DEFAULTS, resolveCostWeights, resolveStartColours } from '../server/config.js';
import { selectBackend } from '../server/engine/backend.js';
import type { RgbImage } from '../server/engine/image.js';
import { loadNetwork } from '../server/engine/networks/load-network.js';
import { OPTIMISER_RECIPES } from '../server/engine/optimiser-recipe.js';
import { createStylizer } from '../server/engine/stylizer.js';
import { DEFAULT_MODELS_DIR } from '../server/paths.js';
import { decodeRgbFrames, probeVideo } from '../server/video/ffmpeg.js';
import { defaultStill, judgeAgainstStills, liveFlicker } from './live-judge.js';

export interface VideoGapJudge {
  /** Seconds of one default optimiser step at this size (timed once per size). */
  stepSeconds(size: { width: number; height: number }): Promise<number>;
  judge(input: string, output: string, size: { width: number; height: number }, sheetFile: string): Promise<{ referenceGap: number; patchGap: number; flicker: number }>;
  dispose(): void;
}

export async function createVideoGapJudge(style: RgbImage, styleBytes: Uint8Array): Promise<VideoGapJudge> {
  await selectBackend({ prefer: 'wasm' });
  const { network } = await loadNetwork({ model: 'vgg19-blocks1-3', modelsDir: DEFAULT_MODELS_DIR, seed: DEFAULTS.seed });
  const steps = new Map<string, number>();
  return {
    async stepSeconds(size) {
      const key = `${size.width}x${size.height}`;
      if (!steps.has(key)) {
        const strength = { optimizer: DEFAULTS.optimizer, styleStrength: DEFAULTS.styleStrength };
        const stylizer = createStylizer(network, { ...DEFAULTS, ...resolveCostWeights(strength), startColours: resolveStartColours(strength), optimizer: OPTIMISER_RECIPES[DEFAULTS.optimizer] }, { ownsNetwork: false });
        stylizer.setStyle([{ image: style }]);
        const photo = { ...size, data: new Uint8Array(size.width * size.height * 3).fill(128) };
        await stylizer.stylizeFrame(photo, { steps: 2 });
        const started = performance.now();
        await stylizer.stylizeFrame(photo, { steps: 10 });
        steps.set(key, (performance.now() - started) / 10 / 1000);
        stylizer.dispose();
      }
      return steps.get(key)!;
    },
    async judge(input, output, size, sheetFile) {
      const [inputs, outputs] = await Promise.all([framesOf(input, size), framesOf(output, size)]);
      const n = Math.min(inputs.length, outputs.length);
      const picks = [9, Math.floor(n / 2), n - 1];
      const items = [];
      for (const i of picks) items.push({ index: i, photo: inputs[i]!, output: outputs[i]!, still: await defaultStill(network, style, styleBytes, inputs[i]!) });
      const { judged, sheet } = judgeAgainstStills(items);
      if (sheet) await writeImage(sheet, sheetFile);
      const fps = (await probeVideo(input)).fps;
      const span = Math.min(n, Math.round(2 * fps));
      return { referenceGap: judged.referenceGap, patchGap: judged.patchGap, flicker: liveFlicker(outputs.slice(0, span), inputs.slice(0, span)) };
    },
    dispose: () => network.dispose(),
  };
}

async function framesOf(file: string, size: { width: number; height: number }): Promise<RgbImage[]> {
  const info = await probeVideo(file);
  const out: RgbImage[] = [];
  for await (const data of decodeRgbFrames(file, info, size)) out.push({ ...size, data: new Uint8Array(data) });
  return out;
}

export const VIDEO_GAP_OUT = path.join('bench', 'out', 'video');
