/**
 * `stylize painters train --style <id>`: a live stream's learned painter (live/stream-process/live-painter.ts)
 * taught a style ahead of time, on frames of short clips, and kept under the same key a live
 * stream with the default weights looks up (style bytes, network, α, β): that stream then starts
 * painting with it at once instead of learning for its first minute.
 */
import path from 'node:path';
import { sizeForShortSide } from '../codec/image-codec.js';
import { DEFAULTS, SERVER_DEFAULTS, type BackendName, type ModelChoice, readEnv } from '../config.js';
import type { RgbImage } from '../engine/image.js';
import { loadEngine } from '../engine/load-engine.js';
import { trainingSize } from '../engine/painter-net/paint-with.js';
import { createPainterCache, freshPainter } from '../painter/painter-cache.js';
import { createPainterTrainer, RESUME_WARM_UP_STEPS, type TrainingSample } from '../engine/painter-net/painter-trainer.js';
import { BadInputError } from '../errors.js';
import { DEFAULT_DATA_DIR, DEFAULT_MODELS_DIR, DEFAULT_STYLES_DIR, PROJECT_ROOT, SHIPPED_PAINTERS_DIR } from '../paths.js';
import { LIVE_PAINTER } from '../live/stream-process/live-painter.js';
import { createStyleLibrary } from '../styles/style-library.js';
import { decodeRgbFrames, probeVideo } from '../video/ffmpeg.js';
import { createProgress } from './progress.js';

export interface TrainFlags {
  style: string;
  steps: number;
  /** Train only up to this many steps in all (none if the kept painter has them). */
  upTo?: number;
  /** Start from a fresh painter, not the kept or shipped one (how the shipped painters are made). */
  fresh?: boolean;
  clip?: string;
  size?: number;
  stylesDir?: string;
  model?: ModelChoice;
  backend?: BackendName;
}

const DEFAULT_CLIPS = ['cockatoo_640x360_6s_h264.mp4', 'bbb_320x180_10s_vp9.webm'].map((f) => path.join(PROJECT_ROOT, 'fixtures/video', f));
/** Frames taken from each clip (each with the frame before it, for the temporal term). */
const FRAMES_PER_CLIP = 12;

export async function trainPainterForStyle(flags: TrainFlags): Promise<void> {
  const env = readEnv();
  const dataDir = env.dataDir ?? DEFAULT_DATA_DIR;
  if (!(flags.steps >= 1 && flags.steps <= 100_000)) throw new BadInputError('--steps must be between 1 and 100000');
  if (flags.upTo !== undefined && !(flags.upTo >= 1 && flags.upTo <= 1_000_000)) throw new BadInputError('--up-to must be between 1 and 1000000');
  const styles = createStyleLibrary({ stylesDir: flags.stylesDir ?? env.stylesDir ?? DEFAULT_STYLES_DIR, uploadsDir: path.join(dataDir, 'styles') });
  if (!(await styles.has(flags.style))) throw new BadInputError(`unknown style "${flags.style}"; the styles are: ${(await styles.list()).map((s) => s.id).join(', ')}`);
  const clips = flags.clip ? flags.clip.split(',').map((c) => c.trim()).filter(Boolean) : DEFAULT_CLIPS;

  const { backend, network } = await loadEngine({
    model: flags.model ?? DEFAULTS.model,
    modelsDir: env.modelsDir ?? DEFAULT_MODELS_DIR,
    seed: DEFAULTS.seed,
    backend: flags.backend ?? env.backend,
    threads: env.wasmThreads,
  });
  process.stderr.write(`${backend.name}, ${network.description}\n`);
  try {
    // The stream it is for (16:9 at --size) and the size its painter trains at, as live-painter.ts does.
    const work = sizeForShortSide({ width: 16, height: 9 }, flags.size ?? SERVER_DEFAULTS.liveSize);
    const size = trainingSize(work, network.minSide);
    const samples: TrainingSample[] = [];
    for (const clip of clips) samples.push(...(await samplesOf(clip, size)));
    const style = await styles.decoded(flags.style, Math.max(network.minSide, Math.round(Math.max(work.width, work.height) / 2)), network.minSide);
    // A built-in painting goes on from the painter shipped for it (unless --fresh); what it learns is kept in the data directory.
    const cache = createPainterCache(path.join(dataDir, 'painters'), { warn: (m) => process.stderr.write(`warning: ${m}\n`), ...(flags.fresh ? {} : { shipped: SHIPPED_PAINTERS_DIR }) });
    // The key a live stream in this style with the default weights uses (stream-process-main.ts).
    const what = {
      styleBytes: (await styles.image(flags.style)).bytes,
      styleName: flags.style,
      network: network.name,
      contentWeight: DEFAULTS.contentWeight,
      styleWeight: DEFAULTS.styleWeight,
      preserveColors: false,
    };
    const { painter, meta, learned } = flags.fresh ? freshPainter(what) : await cache.open(what);
    const stepsHere = flags.upTo === undefined ? flags.steps : Math.max(0, Math.min(flags.steps, flags.upTo - meta.steps));
    try {
      if (stepsHere === 0) {
        process.stdout.write(`${JSON.stringify({ style: flags.style, model: network.name, steps: meta.steps, framesSeen: meta.framesSeen, skipped: `it has ${meta.steps} steps (--up-to ${flags.upTo})`, readyForLive: meta.steps >= LIVE_PAINTER.minSteps })}\n`);
        return;
      }
      const trainer = createPainterTrainer(network, painter, style, {
        contentWeight: what.contentWeight,
        styleWeight: what.styleWeight,
        temporalWeight: LIVE_PAINTER.temporalWeight,
        learningRate: LIVE_PAINTER.learningRate,
        ...(learned ? { warmUpSteps: RESUME_WARM_UP_STEPS } : {}),
      });
      const progress = createProgress('train', stepsHere);
      let loss = Number.NaN;
      try {
        for (let s = 0; s < stepsHere; s++) {
          const batch = Array.from({ length: LIVE_PAINTER.batch }, (_, k) => samples[(s * LIVE_PAINTER.batch + k * 7) % samples.length]!);
          loss = (await trainer.step(batch)).total;
          progress.update(s + 1, `loss ${loss.toExponential(2)}`);
        }
      } finally {
        progress.stop();
        trainer.dispose();
      }
      const steps = meta.steps + stepsHere;
      await cache.save(what, painter, { ...meta, steps, framesSeen: meta.framesSeen + samples.length, loss });
      process.stdout.write(
        `${JSON.stringify({ style: flags.style, model: network.name, steps, framesSeen: meta.framesSeen + samples.length, loss, trainedAt: `${size.width}x${size.height}`, dir: cache.dir, readyForLive: steps >= LIVE_PAINTER.minSteps })}\n`,
      );
    } finally {
      painter.dispose();
    }
  } finally {
    network.dispose();
  }
}

/** FRAMES_PER_CLIP frames spread over a clip, each with the frame before it, at `size`. */
async function samplesOf(clip: string, size: { width: number; height: number }): Promise<TrainingSample[]> {
  const info = await probeVideo(clip).catch((error: Error) => {
    throw new BadInputError(`cannot read --clip ${clip}: ${error.message}`);
  });
  const every = Math.max(2, Math.floor(info.frames / FRAMES_PER_CLIP));
  const out: TrainingSample[] = [];
  let previous: RgbImage | undefined;
  let index = 0;
  for await (const data of decodeRgbFrames(clip, info, size)) {
    const frame = { ...size, data };
    if (index % every === 1 && previous) out.push({ frame, previous });
    previous = frame;
    index++;
  }
  if (out.length === 0) throw new BadInputError(`--clip ${clip}: too short to learn from`);
  return out;
}
