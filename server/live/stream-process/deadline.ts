/**
 * Plans each live frame within a time budget: how many steps, at what working resolution.
 * Cost model, learnt online: ms per frame ≈ overhead + steps · k · pixels, with k (ms per step
 * per pixel) and the overhead (decode, encode, targets) as running averages. Steps are given up
 * before resolution; resolution only when even one step at full size misses the budget, and
 * never below the floor (`minScale`): below it the painting is a blurred photo, not worth
 * showing (bench upsample), so when one step at the floor misses the budget the frame simply
 * takes longer — the stream gets fewer frames a second, never a smaller picture.
 *
 * Every live frame has a budget now, not only in deadline mode: the server gives each stream a
 * share of the painter (paint-turns.ts), so a stream that asks for more than its share gets a
 * cheaper plan instead of making everyone else wait.
 */

import type { MotionMode } from '../../config.js';

/** Working-size factors tried, largest first (then the floor); never below a quarter of the configured size. */
export const SCALES = [1, 0.75, 0.5, 0.375, 0.25] as const;
export const MIN_SCALE = 0.25;

/**
 * Work (pixels × steps) a stream's first frame may do before its cost is known: about two steps
 * at 256×144. More would let one request of a new stream (say 2 steps at 640×360) run for
 * seconds before the budget could apply.
 */
export const FIRST_FRAME_WORK = 2 * 256 * 144;

export interface DeadlinePlan {
  steps: number;
  scale: number;
}

/**
 * The warm start a plan can afford: below half the configured size, the optical flow (whose op
 * count, not its arithmetic, sets its cost, so it does not shrink with the frame) gives way to
 * the residual warm start.
 */
export function affordableMotion(requested: MotionMode, plan: DeadlinePlan): MotionMode {
  return requested === 'flow' && plan.scale < 0.5 ? 'residual' : requested;
}

export interface DeadlineController {
  /**
   * What to do for the next frame at `pixels` (the stream's full size) with up to `maxSteps`,
   * within `budgetMs` (Infinity: no limit), at a working scale of at least `minScale`.
   */
  plan(budgetMs: number, pixels: number, maxSteps: number, minScale?: number): DeadlinePlan;
  /** The most steps (1 … maxSteps) that fit `budgetMs` at exactly `pixels` (a bounded first frame while nothing is learnt). */
  stepsWithin(budgetMs: number, pixels: number, maxSteps: number): number;
  /**
   * The steps (0 … maxSteps) that fit `budgetMs` at exactly `pixels` after the overhead, for a
   * frame that is already a picture without them (a learned painter's): 0 until a step's cost is known.
   */
  stepsLeft(budgetMs: number, pixels: number, maxSteps: number): number;
  /** Expected ms for `steps` steps at `pixels`, overhead included; undefined until learnt. */
  predict(pixels: number, steps: number): number | undefined;
  /** The overhead part of a frame (decode, encode, targets), ms. */
  readonly overheadMs: number;
  /** The learnt cost, ms per step per pixel; undefined until learnt. */
  readonly msPerStepPerPixel: number | undefined;
  /** Starts from another stream's measured costs (same machine, same network) instead of nothing. */
  seed(cost: { msPerStepPerPixel: number; overheadMs: number }): void;
  /** Report how a frame went. */
  observe(sample: { steps: number; pixels: number; stepMs: number; overheadMs: number }): void;
}

export function createDeadlineController(smoothing = 0.3): DeadlineController {
  let msPerStepPerPixel: number | undefined;
  let overheadMs = 0;
  const blend = (old: number | undefined, sample: number): number => (old === undefined ? sample : old + smoothing * (sample - old));
  return {
    plan(budgetMs, pixels, maxSteps, minScale = MIN_SCALE) {
      const most = Math.max(1, maxSteps);
      const floor = Math.min(1, Math.max(MIN_SCALE, minScale));
      const scales = [...SCALES.filter((s) => s > floor), floor];
      if (msPerStepPerPixel === undefined) {
        // Nothing learnt yet: a bounded first frame (full plan if it is small).
        if (pixels * most <= FIRST_FRAME_WORK) return { steps: most, scale: 1 };
        const scale = scales.find((s) => pixels * s * s <= FIRST_FRAME_WORK) ?? floor;
        return { steps: Math.max(1, Math.min(most, Math.floor(FIRST_FRAME_WORK / (pixels * scale * scale)))), scale };
      }
      if (!Number.isFinite(budgetMs)) return { steps: most, scale: 1 };
      const budget = budgetMs - overheadMs;
      for (const scale of scales) {
        const stepMs = msPerStepPerPixel * pixels * scale * scale;
        const steps = Math.min(most, Math.floor(budget / stepMs));
        if (steps >= 1) return { steps, scale };
      }
      // Even one step at the floor misses the budget: that step anyway (fewer fps, not a smaller picture).
      return { steps: 1, scale: floor };
    },
    stepsWithin(budgetMs, pixels, maxSteps) {
      const most = Math.max(1, maxSteps);
      if (msPerStepPerPixel === undefined) return Math.max(1, Math.min(most, Math.floor(FIRST_FRAME_WORK / pixels)));
      if (!Number.isFinite(budgetMs)) return most;
      return Math.max(1, Math.min(most, Math.floor((budgetMs - overheadMs) / (msPerStepPerPixel * pixels))));
    },
    stepsLeft(budgetMs, pixels, maxSteps) {
      if (msPerStepPerPixel === undefined) return 0;
      if (!Number.isFinite(budgetMs)) return Math.max(0, maxSteps);
      return Math.max(0, Math.min(maxSteps, Math.floor((budgetMs - overheadMs) / (msPerStepPerPixel * pixels))));
    },
    predict(pixels, steps) {
      return msPerStepPerPixel === undefined ? undefined : overheadMs + steps * msPerStepPerPixel * pixels;
    },
    get overheadMs() {
      return overheadMs;
    },
    get msPerStepPerPixel() {
      return msPerStepPerPixel;
    },
    seed(cost) {
      if (msPerStepPerPixel !== undefined) return;
      msPerStepPerPixel = cost.msPerStepPerPixel;
      overheadMs = cost.overheadMs;
    },
    observe({ steps, pixels, stepMs, overheadMs: overhead }) {
      if (steps > 0 && pixels > 0) msPerStepPerPixel = blend(msPerStepPerPixel, stepMs / pixels);
      overheadMs = blend(overheadMs, overhead);
    },
  };
}
