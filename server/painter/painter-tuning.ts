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
} as const;
