/**
 * A chunk's reports as it is painted (ChunkReport, job-progress.ts): its stage, the frames painted
 * and kept, and what it measured — the wall time of its first frame and of the frames after it
 * (decode, paint, encode: what the rest of the chunk will take), and of a painter training step.
 * The job's view turns them into the job's stage and its ETA.
 */
import type { ChunkReport, ChunkStage } from '../job-progress.js';

export interface ChunkReporter {
  /** The chunk has started: its style and first frames are being read. */
  decoding(): void;
  /** The chunk's learned painter finished training step `step` of `steps` (0: training begins). */
  learning(step: number, steps: number): void;
  /** A frame was decoded and is about to be painted (the first starts the clock). */
  frameDecoded(): void;
  /** A frame is painted and written; `kept`: not a burn-in frame. */
  framePainted(kept: boolean): void;
}

export function createChunkReporter(send: (report: ChunkReport) => void, now: () => number = () => performance.now()): ChunkReporter {
  let stage: ChunkStage = 'decoding';
  let kept = 0;
  let painted = 0;
  let frameStart: number | undefined;
  let firstFrameMs: number | undefined;
  /** Frames after the first: their count and the time since the first one ended. */
  let later = { frames: 0, since: 0 };
  let learningStart: number | undefined;
  let learningStepMs: number | undefined;
  let learningProgress: { step: number; steps: number } | undefined;
  const report = (): void =>
    send({
      stage,
      kept,
      painted,
      ...(stage === 'learning-painter' && learningProgress ? { learning: learningProgress } : {}),
      ...(firstFrameMs !== undefined ? { firstFrameMs: Math.round(firstFrameMs) } : {}),
      ...(later.frames > 0 ? { frameMs: Math.round((now() - later.since) / later.frames) } : {}),
      ...(learningStepMs !== undefined ? { learningStepMs: Math.round(learningStepMs) } : {}),
    });
  return {
    decoding() {
      stage = 'decoding';
      report();
    },
    learning(step, steps) {
      stage = 'learning-painter';
      learningStart ??= now();
      if (step > 0) learningStepMs = (now() - learningStart) / step;
      learningProgress = { step, steps };
      report();
    },
    frameDecoded() {
      if (frameStart !== undefined) return;
      frameStart = now();
      stage = 'painting-first-frame';
      report();
    },
    framePainted(isKept) {
      painted++;
      if (isKept) kept++;
      if (firstFrameMs === undefined) {
        firstFrameMs = now() - (frameStart ?? now());
        later = { frames: 0, since: now() };
      } else {
        later.frames++;
      }
      if (kept > 0) stage = 'painting';
      report();
    },
  };
}
