/**
 * The end every live frame shares, whoever painted it (the optimiser, optimiser-frame.ts, or the
 * learned painter, painter-frame.ts): back to the stream size guided by the photo, encoded once,
 * its cost taught to the deadline controller, reported.
 */
import { encodeImage } from '../../codec/image-codec.js';
import { guidedUpsample } from '../../engine/guided-upsample.js';
import type { RgbImage } from '../../engine/image.js';
import type { StylizeResult } from '../../engine/stylizer.js';
import { encodeFrame, type IncomingFrame, type StylizedFrame } from '../frame.js';
import type { DeadlineController } from './deadline.js';

/** A painted frame, and what the full plan the stream asked for would cost (for its share). */
export interface PaintedFrame extends StylizedFrame {
  /** Predicted ms for `settings.steps` at the full stream size; undefined until learnt. */
  fullPlanMs: number | undefined;
  /** The cost model after this frame, to seed other streams' first frames. */
  cost: CostHint | undefined;
}

/** Costs measured by another stream of this server (same machine and network). */
export type CostHint = { msPerStepPerPixel: number; overheadMs: number };

/** A painted frame, and what was painted: the working-size photo and the picture shown for it (what a learned painter learns from). */
export interface PaintResult {
  painted: PaintedFrame;
  content: RgbImage;
  shown: RgbImage;
}

/** A frame as decoded at the stream size, and when its processing started. */
export interface FrameInput {
  frame: IncomingFrame;
  /** The frame at the stream size (the guide that brings a smaller painting back up). */
  photo: RgbImage;
  /** performance.now() when processing began, and how long the frame had waited before. */
  started: number;
  queueAgeMs: number;
}

/** What the end of a frame needs of its stream. */
export interface FrameOutput {
  deadline: DeadlineController;
  jpegQuality: number;
}

/**
 * `content`: what was painted (the photo itself or a smaller copy); `stylizeMs`: the painting's
 * time in all, `stepsMs` the part of it the optimiser's steps took (what the deadline's cost per
 * step learns from; the rest of the frame is overhead).
 */
export async function finishFrame(
  output: FrameOutput,
  input: FrameInput,
  content: RgbImage,
  result: StylizeResult,
  times: { stylizeMs: number; stepsMs: number },
): Promise<Omit<PaintedFrame, 'fullPlanMs'>> {
  const { photo, frame } = input;
  // Painted below the stream size: the photo's own edges come back where the painting keeps them.
  const painted = content === photo ? result.image : guidedUpsample(result.image, content, photo);
  const jpeg = await encodeImage(painted, 'jpeg', output.jpegQuality);
  const processMs = performance.now() - input.started;
  const { deadline } = output;
  deadline.observe({
    steps: result.steps,
    pixels: content.width * content.height,
    stepMs: result.steps > 0 ? times.stepsMs / result.steps : 0,
    overheadMs: processMs - times.stylizeMs,
  });
  return {
    cost: deadline.msPerStepPerPixel === undefined ? undefined : { msPerStepPerPixel: deadline.msPerStepPerPixel, overheadMs: deadline.overheadMs },
    seq: frame.seq,
    timestampMs: frame.timestampMs,
    message: encodeFrame(frame, jpeg),
    width: photo.width,
    height: photo.height,
    steps: result.steps,
    workWidth: content.width,
    workHeight: content.height,
    warmStarted: result.warmStarted,
    processMs,
    stylizeMs: times.stylizeMs,
    queueAgeMs: input.queueAgeMs,
  };
}
