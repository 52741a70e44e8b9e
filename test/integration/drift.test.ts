/**
 * No drift over a real clip: painted as a live stream paints it (one warm step a frame at 10 fps
 * with the shipped VGG19 blocks 1–3 at 96×54, the cheap "residual" warm start deadline mode uses
 * below half size), the painting stays anchored to the current frame. The bird walks up to a
 * moving camera.
 *
 * Drift (as in `npm run bench -- quality --long`): a distance to the current input frame, mean
 * over the last 10 % of the frames ÷ mean over frames 5–15; the bench target is ≤ 1.10. Two
 * distances: the structure of the luminance (1 − SSIM, judge-free: what the eye follows) and
 * the loss net's own content cost.
 *
 * Measured on this exact run (deterministic: wasm, seeded): before the per-pixel residual carry
 * (follow-motion.ts RESIDUAL_CARRY; the whole stylization carried) structure drift 1.12 and
 * content drift 1.48: the old frame's edges piled up as ghosts and the face melted. With it:
 * 1.05 and 0.80.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../server/config.js';
import type { RgbImage } from '../../server/engine/image.js';
import { loadNetwork } from '../../server/engine/networks/load-network.js';
import type { FeatureNetwork } from '../../server/engine/networks/network.js';
import { createStylizer } from '../../server/engine/stylizer.js';
import { DEFAULT_MODELS_DIR } from '../../server/paths.js';
import { decodeRgbFrames, probeVideo } from '../../server/video/ffmpeg.js';
import { contentDistances, mean, structureLoss } from '../../bench/quality-judge.js';
import { useWasm } from '../helpers/backend.js';
import { COCKATOO, STARRY_NIGHT } from '../helpers/paths.js';
import { decodeImage } from '../../server/codec/image-codec.js';

const DRIFT_TARGET = 1.1;
const SIZE = { width: 96, height: 54 };

let network: FeatureNetwork;
beforeAll(async () => {
  await useWasm();
  network = (await loadNetwork({ model: 'vgg19-blocks1-3', modelsDir: DEFAULT_MODELS_DIR, seed: DEFAULTS.seed })).network;
  return () => network.dispose();
});

/** Frames 5–15 and the last 10 %: the ones drift() reads. */
function judged(t: number, n: number): boolean {
  return (t >= 5 && t < 16) || t >= Math.floor(n * 0.9);
}

function drift(series: number[]): number {
  const n = series.length;
  return mean(series.slice(Math.floor(n * 0.9))) / mean(series.slice(5, 16));
}

describe('a live-like painting of a real clip', () => {
  it('does not drift over 60 frames: structure and content stay as close to the current frame as at frame 10', async () => {
    const info = await probeVideo(COCKATOO);
    // 20 fps painted at 10 fps: every other frame, as "latest frame wins" leaves them.
    const frames: RgbImage[] = [];
    let index = 0;
    for await (const data of decodeRgbFrames(COCKATOO, info, SIZE, { start: 0, end: 120 })) if (index++ % 2 === 0) frames.push({ ...SIZE, data });
    expect(frames).toHaveLength(60);
    const stylizer = createStylizer(network, {}, { ownsNetwork: false });
    stylizer.setStyle([{ image: await decodeImage(STARRY_NIGHT, { longSide: SIZE.width }) }]);
    const structure: number[] = [];
    const content: number[] = [];
    for (const [t, frame] of frames.entries()) {
      const { image } = await stylizer.stylizeFrame(frame, { steps: 1, warmStart: t > 0, motion: 'residual' });
      structure.push(structureLoss(image, frame));
      // The loss net's content cost only on the frames drift() reads (it costs two forward passes).
      content.push(judged(t, frames.length) ? contentDistances(network, image, frame).absolute : Number.NaN);
    }
    stylizer.dispose();
    // It is painted: the structure differs from the photo's from the start.
    expect(mean(structure.slice(5, 16))).toBeGreaterThan(0.05);
    expect(drift(structure)).toBeLessThanOrEqual(DRIFT_TARGET);
    expect(drift(content)).toBeLessThanOrEqual(DRIFT_TARGET);
  }, 300_000);
});
