/**
 * How the learned painter is taught, in one table for every place that teaches one: live streams
 * (live/stream-process/live-painter.ts), video jobs (job-painter-pass.ts) and `stylize painters
 * train` (train-painter.ts). The temporal weight is the engine's own (Ruder et al.'s, as the
 * optimiser uses it).
 */
import { ENGINE_DEFAULTS } from '../engine/engine-options.js';


/** What every painter's training shares. */
const SHARED = { learningRate: 1e-2, batch: 2, temporalWeight: ENGINE_DEFAULTS.temporalWeight } as const;

export const PAINTER_TUNING = {
  ...SHARED,
  /**
   * A live stream's painter: frames kept to learn from, the share of the spare time it trains in,
   * the steps before it may take over, how often it is judged and kept.
   */
  live: { ...SHARED, samples: 8, learningShare: 1, minSteps: 40, judgeEvery: 10, saveEvery: 50 },
  /** A video job's chunk: steps for a fresh and for a learnt painter, one sample every few frames. */
  job: { ...SHARED, freshSteps: 60, learnedSteps: 15, every: 3 },
  /**
   * The stroke painter (issue 22), taught by keyframes: how many the optimiser paints (spread over
   * the training frames), its steps for each, and the supervised trainer's patches, batch, step
   * size and perceptual weight; `minSteps`: trained this far, it paints live streams.
   */
  stroke: {
    patch: 48,
    batch: 8,
    learningRate: 2e-3,
    perceptualWeight: 0.1,
    keyframes: 8,
    /**
     * Optimiser steps a keyframe gets: the default recipe's painting after 60 steps is within
     * about 0.09 of its own 200-step painting by the reference gap (issue 21's convergence bench:
     * 0.11 at 50 steps, 0.07 at 100), at under a third of the time.
     */
    keyframeSteps: 60,
    minSteps: 200,
    /** An uploaded style's, in the server's background (its steps: --upload-painter-steps). */
    backgroundKeyframes: 6,
    /** A video job's chunk, when the style has no kept stroke painter: keyframes of the chunk, training steps. */
    jobKeyframes: 3,
    jobSteps: 400,
  },
} as const;
