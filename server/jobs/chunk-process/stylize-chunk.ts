/**
 * One chunk of a video, painted: its frames in order, none dropped, each warm-started from the
 * previous one, more steps on the first frame (of the burn-in) and after scene cuts; flat frames
 * (black, a plain colour) pass through unpainted, and the first frame after them starts cold (see
 * scene-cut.ts: the optimiser would paint only their border, and carry it into the next scene); the
 * burn-in frames' output is thrown away, the kept frames are encoded to an H.264 segment. Pure: everything
 * it uses comes in (the network, the files, the signal), nothing stays behind in the module, so
 * the in-process pool and a farm worker run exactly the same code.
 */
import { readFile, rename, rm } from 'node:fs/promises';
import { decodeImage, encodeImage } from '../../codec/image-codec.js';
import { DEFAULTS } from '../../config.js';
import type { FeatureNetwork } from '../../engine/networks/network.js';
import type { RgbImage } from '../../engine/image.js';
import { OPTIMISER_RECIPES } from '../../engine/optimiser-recipe.js';
import { paintImage } from '../../engine/painter-net/paint-with.js';
import type { PainterCache } from '../../painter/painter-cache.js';
import { createStylizer, type Stylizer } from '../../engine/stylizer.js';
import { createSceneCutDetector } from '../../engine/scene-cut.js';
import { decodeRgbFrames, encodeH264, type FrameSink } from '../../video/ffmpeg.js';
import { learnPainter, type LearnedPainter } from '../../painter/job-painter-pass.js';
import { strokePainterForChunk } from '../../painter/job-stroke-pass.js';
import { styleLongSide } from '../job-queue.js';
import type { ChunkReport } from '../job-progress.js';
import type { ChunkTask } from './chunk-process-protocol.js';
import { createChunkReporter, type ChunkReporter } from './chunk-reporter.js';

const PREVIEW_EVERY_MS = 1000;

export class ChunkAbortedError extends Error {
  constructor() {
    super('chunk aborted');
    this.name = 'ChunkAbortedError';
  }
}

export interface StylizeChunkContext {
  network: FeatureNetwork;
  /** Stops the chunk between frames (its encoder and decoder are killed, no segment is left). */
  signal?: AbortSignal;
  /**
   * What the chunk is doing (its stage, frames painted and kept, measured times): at its start,
   * after each training step of its learned painter, at its first frame and after every frame.
   */
  onProgress?: (report: ChunkReport) => void;
  /** The latest kept frame as JPEG, at most once a second (the first at once). */
  onPreview?: (jpeg: Uint8Array) => void | Promise<void>;
  /** Where learned painters are kept (options.painter 'learned'); without it the option is refused. */
  painters?: PainterCache;
}

export async function stylizeChunk(task: ChunkTask, context: StylizeChunkContext): Promise<{ frames: number }> {
  const { network, signal } = context;
  const { chunk, options, workSize } = task;
  const checkAborted = (): void => {
    if (signal?.aborted) throw new ChunkAbortedError();
  };
  checkAborted();
  if (options.painter !== 'off' && !context.painters) throw new Error(`this worker keeps no painters (painter "${options.painter}")`);
  const reporter = createChunkReporter((report) => context.onProgress?.(report));
  reporter.decoding();
  const settings = { contentWeight: options.contentWeight, styleWeight: options.styleWeight, preserveColors: options.preserveColors, optimizer: OPTIMISER_RECIPES[options.optimizer ?? 'adam-pixels'], startColours: options.startColours ?? 1 };
  const stylizer = createStylizer(network, settings, { ownsNetwork: false });
  let learned: LearnedPainter | undefined;
  const tmp = `${task.segmentPath}.tmp`;
  const sink = encodeH264(tmp, task.info, workSize, task.outSize);
  const onAbort = (): void => sink.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    // Sized by pixels (about the frame's), not by its long side: a very wide frame asks no huge style.
    const style = await decodeImage(task.stylePath, { longSide: styleLongSide(workSize, network.minSide), minShortSide: network.minSide });
    stylizer.setStyle([{ image: style }]);
    if (options.painter === 'learned') {
      const what = { styleBytes: await readFile(task.stylePath), styleName: `style of job ${task.jobId}`, network: network.name, contentWeight: options.contentWeight, styleWeight: options.styleWeight, preserveColors: options.preserveColors };
      learned = await learnPainter(task, network, context.painters!, what, checkAborted, (step, steps) => reporter.learning(step, steps));
    } else if (options.painter === 'keyframes') {
      learned = { ...(await strokePainterForChunk(task, network, context.painters!, checkAborted, (step, steps) => reporter.learning(step, steps))), loss: Number.NaN };
    }
    const kept = await paintFrames(task, context, { stylizer, learned, sink, checkAborted, reporter });
    checkAborted();
    if (kept !== chunk.end - chunk.start) throw new Error(`chunk ${chunk.index}: decoded ${kept} of its ${chunk.end - chunk.start} frames`);
    await sink.finish();
    await rename(tmp, task.segmentPath);
    return { frames: kept };
  } catch (error) {
    sink.abort();
    await rm(tmp, { force: true });
    throw error;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    stylizer.dispose();
    learned?.painter.dispose();
  }
}

/** What paints a chunk's frames and where they go. */
interface ChunkPainting {
  stylizer: Stylizer;
  learned: LearnedPainter | undefined;
  sink: FrameSink;
  checkAborted: () => void;
  reporter: ChunkReporter;
}

/**
 * Paints the chunk's frames in order, the burn-in's too (with a painter as well: they are cheap,
 * and the blend carried over them joins the chunks), and writes the kept ones. Resolves with the
 * frames kept.
 */
async function paintFrames(task: ChunkTask, context: StylizeChunkContext, { stylizer, learned, sink, checkAborted, reporter }: ChunkPainting): Promise<number> {
  const { chunk, options, workSize } = task;
  const cuts = createSceneCutDetector();
  const from = chunk.decodeFrom;
  let index = from;
  let kept = 0;
  let lastPreview = Number.NEGATIVE_INFINITY;
  for await (const data of decodeRgbFrames(task.input, task.info, workSize, { start: from, end: chunk.end })) {
    checkAborted();
    reporter.frameDecoded();
    const frame = { ...workSize, data };
    // The first frame seeds the detector (and is a cut); the first after flat ones is a cut too.
    const seen = cuts.look(frame);
    const cold = index === from || seen.cut;
    // A flat frame is shown as it is: painting it would only paint its border (scene-cut.ts).
    const result = seen.flat
      ? { image: frame }
      : learned
        ? await paintLearned(stylizer, options, learned, frame, cold)
        : await stylizer.stylizeFrame(frame, {
            steps: cold ? options.firstFrameSteps : options.stepsPerFrame,
            warmStart: !cold,
            motion: options.motion ?? DEFAULTS.motion,
            temporalWeight: options.temporalWeight ?? DEFAULTS.temporalWeight,
          });
    checkAborted();
    const keep = index >= chunk.start;
    if (keep) {
      await sink.write(result.image.data);
      kept++;
    }
    // The frame counts before its preview is sent: a preview is never named ahead of its frame.
    reporter.framePainted(keep);
    if (keep && context.onPreview && performance.now() - lastPreview > PREVIEW_EVERY_MS) {
      lastPreview = performance.now();
      await context.onPreview(await encodeImage(result.image, 'jpeg', 80));
    }
    index++;
  }
  return kept;
}

/**
 * The learned painter's picture of the frame, blended with the previous painting carried along
 * the motion (PainterBlend in follow-motion.ts: a painter run on each frame alone swims), then
 * refined by stepsPerFrame optimiser steps (0: none).
 */
async function paintLearned(stylizer: Stylizer, options: ChunkTask['options'], painter: LearnedPainter, frame: RgbImage, cold: boolean): Promise<{ image: RgbImage }> {
  const base = await paintImage(painter.painter, frame);
  return stylizer.stylizeFrame(frame, {
    // The stroke painter copies the still already: optimiser steps on top cost more than they add.
    steps: options.painter === 'keyframes' ? 0 : options.stepsPerFrame,
    base,
    warmStart: !cold,
    motion: options.motion ?? DEFAULTS.motion,
    temporalWeight: options.temporalWeight ?? DEFAULTS.temporalWeight,
  });
}
