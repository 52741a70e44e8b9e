/**
 * A video job's learned painter (issue 12), for one chunk: the painter kept for this style and
 * settings (or a fresh one), taught on frames of this chunk before they are painted, then kept
 * again for the next chunk, job or stream with the same style. Training is at half the working
 * size: a training step costs about one optimiser step at the same size (the loss network's
 * forward and backward passes dominate), and the painter is convolutional, so what it learns at
 * half size it paints at full size.
 */
import { decodeImage } from '../codec/image-codec.js';
import type { RgbImage } from '../engine/image.js';
import type { FeatureNetwork } from '../engine/networks/network.js';
import type { PainterCache, PainterFor } from './painter-cache.js';
import { trainingSize } from '../engine/painter-net/paint-with.js';
import type { PainterNet } from '../engine/painter-net/painter-net.js';
import { createPainterTrainer, RESUME_WARM_UP_STEPS, type TrainingSample } from '../engine/painter-net/painter-trainer.js';
import { decodeRgbFrames } from '../video/ffmpeg.js';
import { styleLongSide } from '../jobs/job-queue.js';
import type { ChunkTask } from '../jobs/chunk-process/chunk-process-protocol.js';
import { PAINTER_TUNING } from './painter-tuning.js';

export { trainingSize } from '../engine/painter-net/paint-with.js';

/**
 * Training steps a chunk gives its painter: many for a painter that has learnt nothing yet, a few
 * for one that has (it goes on improving with use), frames per step, every how many frames one is
 * taken for training (with the frame before it, for the temporal term), Adam's learning rate.
 * Measured with `npm run bench -- quality --long --configs painter` (README, issue 12's note).
 */
export const PAINTER_TRAINING = PAINTER_TUNING.job;

export interface LearnedPainter {
  painter: PainterNet;
  /** Training steps this chunk ran, and the painter's steps in all. */
  stepsHere: number;
  stepsInAll: number;
  loss: number;
}

export async function learnPainter(
  task: ChunkTask,
  network: FeatureNetwork,
  cache: PainterCache,
  what: PainterFor,
  checkAborted: () => void,
  /** After each training step (step of steps): the job shows it while no frame is painted yet. */
  onStep?: (step: number, steps: number) => void,
): Promise<LearnedPainter> {
  const { chunk, workSize } = task;
  const size = trainingSize(workSize, network.minSide);
  const samples: TrainingSample[] = [];
  let previous: RgbImage | undefined;
  let index = chunk.start;
  for await (const data of decodeRgbFrames(task.input, task.info, size, { start: chunk.start, end: chunk.end })) {
    const frame = { ...size, data };
    if ((index - chunk.start) % PAINTER_TRAINING.every === 1 && previous) samples.push({ frame, previous });
    previous = frame;
    index++;
  }
  if (samples.length === 0 && previous) samples.push({ frame: previous });
  checkAborted();
  const style = await decodeImage(task.stylePath, { longSide: styleLongSide(size, network.minSide), minShortSide: network.minSide });
  const { painter, meta, learned } = await cache.open(what);
  // The painter goes back to the caller only when trained and kept; on any failure it is freed here.
  try {
    const trainer = createPainterTrainer(network, painter, style, {
      contentWeight: task.options.contentWeight,
      styleWeight: task.options.styleWeight,
      temporalWeight: PAINTER_TRAINING.temporalWeight,
      learningRate: PAINTER_TRAINING.learningRate,
      ...(learned ? { warmUpSteps: RESUME_WARM_UP_STEPS } : {}),
    });
    const steps = learned && meta.steps >= PAINTER_TRAINING.freshSteps ? PAINTER_TRAINING.learnedSteps : PAINTER_TRAINING.freshSteps;
    let loss = Number.NaN;
    onStep?.(0, steps);
    try {
      for (let s = 0; s < steps; s++) {
        checkAborted();
        const batch = Array.from({ length: PAINTER_TRAINING.batch }, (_, k) => samples[(s * PAINTER_TRAINING.batch + k) % samples.length]!);
        loss = (await trainer.step(batch)).total;
        onStep?.(s + 1, steps);
      }
    } finally {
      trainer.dispose();
    }
    const stepsInAll = meta.steps + steps;
    await cache.save(what, painter, { ...meta, steps: stepsInAll, framesSeen: meta.framesSeen + samples.length, loss });
    return { painter, stepsHere: steps, stepsInAll, loss };
  } catch (error) {
    painter.dispose();
    throw error;
  }
}
