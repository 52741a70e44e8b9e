/**
 * A finished video job judged the way the long quality bench judges a clip (quality-long.ts), so
 * issue 12's file target (faster end to end at equal or better judged quality) is measured in the
 * same run as the speed: on the input's 10th, middle and last frames at the job's working size,
 * style match against a 200-step still run of the same frame (cached in bench/out/cache, shared
 * with the long bench) and content distance to the input frame, by the outside judge
 * (random-multiscale, seed 7) and by the loss net (the shipped VGG19 blocks 1–3).
 */
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { decodeImage, sizeForShortSide, writeImage } from '../server/codec/image-codec.js';
import { DEFAULTS } from '../server/config.js';
import { selectBackend } from '../server/engine/backend.js';
import type { RgbImage } from '../server/engine/image.js';
import { loadNetwork } from '../server/engine/networks/load-network.js';
import type { FeatureNetwork } from '../server/engine/networks/network.js';
import { createRandomMultiscale } from '../server/engine/networks/random-multiscale.js';
import { DEFAULT_MODELS_DIR } from '../server/paths.js';
import { decodeRgbFrames, probeVideo } from '../server/video/ffmpeg.js';
import { ROOT, SHIPPED_VGG19 } from '../test/helpers/paths.js';
import { stillRun } from './quality-long.js';
import { concat, contentDistance, judgeGrams, mean, stack, styleDistance, styleMatch } from './quality-judge.js';

const OUT = path.join(ROOT, 'bench/out');

export interface JudgedVideo {
  /** Mean over the three frames, in %: outside judge / loss net. */
  styleMatchPct: { outside: number; lossNet: number };
  contentDistance: { outside: number; lossNet: number };
  /** The same for the still runs (what "full quality" costs in content). */
  stillContentDistance: { outside: number; lossNet: number };
  frames: number[];
  sideBySide: string;
}

export interface VideoJudge {
  /** Judges `output` (a job's MP4) against `input` at `shortSide`; writes a side-by-side named `tag`. */
  judge(input: string, output: string, shortSide: number, tag: string): Promise<JudgedVideo>;
  dispose(): void;
}

/** `style`: the style image's bytes (as the job got them; the cached still runs are keyed by the painting they make, not by name). */
export async function createVideoJudge(style: Uint8Array): Promise<VideoJudge> {
  await selectBackend({ prefer: 'wasm' });
  const lossNet = (await loadNetwork({ model: 'vgg19-blocks1-3', modelsDir: DEFAULT_MODELS_DIR, seed: 0, shippedDir: SHIPPED_VGG19 })).network;
  const outside = createRandomMultiscale(7);
  // The long bench's still-run settings, so the cached stills are shared with it.
  const stillSettings = { contentWeight: DEFAULTS.contentWeight, styleWeight: DEFAULTS.styleWeight, lr: DEFAULTS.lr };
  await mkdir(path.join(OUT, 'cache'), { recursive: true });

  async function framesOf(file: string, size: { width: number; height: number }, picks: number[]): Promise<RgbImage[]> {
    const info = await probeVideo(file);
    const out = new Map<number, RgbImage>();
    let index = 0;
    for await (const data of decodeRgbFrames(file, info, size)) {
      if (picks.includes(index)) out.set(index, { ...size, data });
      index++;
    }
    return picks.map((i) => {
      const frame = out.get(i);
      if (!frame) throw new Error(`${path.basename(file)} has no frame ${i} (${index} frames)`);
      return frame;
    });
  }

  return {
    async judge(input, output, shortSide, tag) {
      const info = await probeVideo(input);
      const size = sizeForShortSide(info, shortSide);
      const last = info.frames - 1;
      const picks = [Math.min(10, last), Math.floor(last / 2), last];
      const [inputs, outputs] = [await framesOf(input, size, picks), await framesOf(output, size, picks)];
      const styleImage = await decodeImage(style, { longSide: Math.max(size.width, size.height), minShortSide: lossNet.minSide });
      const stills: RgbImage[] = [];
      const styleKey = createHash('sha1').update(styleImage.data).digest('hex').slice(0, 12);
      for (const [k, i] of picks.entries()) stills.push(await stillRun(lossNet, stillSettings, styleImage, inputs[k]!, 'vgg19-blocks1-3', path.basename(input), i, `style-${styleKey}`));
      const scores = (judge: FeatureNetwork): { match: number; content: number; stillContent: number } => {
        const targets = judgeGrams(judge, styleImage);
        try {
          return {
            match: mean(picks.map((_, k) => styleMatch(styleDistance(judge, inputs[k]!, targets), styleDistance(judge, outputs[k]!, targets), styleDistance(judge, stills[k]!, targets)))),
            content: mean(picks.map((_, k) => contentDistance(judge, outputs[k]!, inputs[k]!))),
            stillContent: mean(picks.map((_, k) => contentDistance(judge, stills[k]!, inputs[k]!))),
          };
        } finally {
          for (const t of targets) t.dispose();
        }
      };
      const [o, l] = [scores(outside), scores(lossNet)];
      const sideBySide = path.join(OUT, `video-${tag}.png`);
      await writeImage(stack(picks.map((_, k) => concat([inputs[k]!, outputs[k]!, stills[k]!]))), sideBySide);
      return {
        styleMatchPct: { outside: Math.round(o.match * 100), lossNet: Math.round(l.match * 100) },
        contentDistance: { outside: Math.round(o.content), lossNet: Math.round(l.content) },
        stillContentDistance: { outside: Math.round(o.stillContent), lossNet: Math.round(l.stillContent) },
        frames: picks,
        sideBySide: path.relative(ROOT, sideBySide),
      };
    },
    dispose() {
      lossNet.dispose();
      outside.dispose();
    },
  };
}
