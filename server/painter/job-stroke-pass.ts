/**
 * A video job's stroke painter (issue 22; job option `painter: keyframes`), for one chunk: the
 * style's kept stroke painter (shipped for a built-in painting, or kept by an earlier job or the
 * background training), else one taught here: the optimiser paints a few keyframes spread over
 * the chunk as fully as a still (keyframes.ts), and the U-Net learns to copy them
 * (keyframe-trainer.ts), then is kept for the next chunk, job or stream in that style.
 */
import { readFile } from 'node:fs/promises';
import { decodeImage } from '../codec/image-codec.js';
import type { RgbImage } from '../engine/image.js';
import type { FeatureNetwork } from '../engine/networks/network.js';
import { createKeyframeTrainer } from '../engine/painter-net/keyframe-trainer.js';
import type { PainterNet } from '../engine/painter-net/painter-net.js';
import type { ChunkTask } from '../jobs/chunk-process/chunk-process-protocol.js';
import { styleLongSide } from '../jobs/job-queue.js';
import { decodeRgbFrames } from '../video/ffmpeg.js';
import { paintKeyframes } from './keyframes.js';
import type { PainterCache } from './painter-cache.js';
import { PAINTER_TUNING } from './painter-tuning.js';
import { strokePainterFor } from './stroke-painter-key.js';
import { spread } from './train-stroke-painter.js';

const STROKE = PAINTER_TUNING.stroke;

export interface StrokePainterForChunk {
  painter: PainterNet;
  /** Training steps this chunk ran (0: a kept painter was used as it is), and the painter's in all. */
  stepsHere: number;
  stepsInAll: number;
}

export async function strokePainterForChunk(
  task: ChunkTask,
  network: FeatureNetwork,
  cache: PainterCache,
  checkAborted: () => void,
  /** Keyframes and training steps done of those planned (the job shows it while no frame is painted yet). */
  onStep?: (step: number, steps: number) => void,
): Promise<StrokePainterForChunk> {
  const what = strokePainterFor(new Uint8Array(await readFile(task.stylePath)), `style of job ${task.jobId}`, network.name);
  const { painter, meta, learned } = await cache.open(what);
  if (learned && meta.steps >= STROKE.minSteps) return { painter, stepsHere: 0, stepsInAll: meta.steps };
  // The painter goes back to the caller only when taught and kept; on any failure it is freed here.
  try {
    const frames = await chunkKeyframes(task, STROKE.jobKeyframes);
    checkAborted();
    const style = await decodeImage(task.stylePath, { longSide: styleLongSide(task.workSize, network.minSide), minShortSide: network.minSide });
    const total = frames.length + STROKE.jobSteps;
    onStep?.(0, total);
    const keyframes = await paintKeyframes(network, style, frames, undefined, { checkAborted, onKeyframe: (done) => onStep?.(done, total) });
    const trainer = createKeyframeTrainer(painter, network, STROKE);
    try {
      trainer.setKeyframes(keyframes);
      for (let s = 0; s < STROKE.jobSteps; s++) {
        checkAborted();
        await trainer.step();
        onStep?.(frames.length + s + 1, total);
      }
    } finally {
      trainer.dispose();
    }
    const stepsInAll = meta.steps + STROKE.jobSteps;
    await cache.save(what, painter, { ...meta, steps: stepsInAll, framesSeen: meta.framesSeen + keyframes.length });
    return { painter, stepsHere: STROKE.jobSteps, stepsInAll };
  } catch (error) {
    painter.dispose();
    throw error;
  }
}

/** `count` frames spread over the chunk, at the working size (only those are kept while it is decoded). */
async function chunkKeyframes(task: ChunkTask, count: number): Promise<RgbImage[]> {
  const { chunk, workSize } = task;
  const indices = Array.from({ length: chunk.end - chunk.start }, (_, k) => chunk.start + k);
  const wanted = new Set(spread(indices, count));
  const out: RgbImage[] = [];
  let index = chunk.start;
  for await (const data of decodeRgbFrames(task.input, task.info, workSize, { start: chunk.start, end: chunk.end })) {
    if (wanted.has(index++)) out.push({ ...workSize, data });
  }
  return out;
}
