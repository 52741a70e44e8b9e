/**
 * Deadline mode: pick steps per frame and a working resolution so stylizing keeps up with a
 * target frame rate. Cost model, learnt online: ms per frame ≈ overhead + steps · k · pixels,
 * with k (ms per step per pixel) and the overhead (decode, encode, targets) as running averages.
 * Resolution is given up only when even one step at full size misses the budget.
 */

import type { MotionMode } from '../config.js';

/** Working-size factors tried, largest first; never below a quarter of the configured size. */
export const SCALES = [1, 0.75, 0.5, 0.375, 0.25] as const;
export const MIN_SCALE = 0.25;

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
  /** What to do for the next frame at `pixels` (configured full size) with up to `maxSteps`. */
  plan(targetFps: number, pixels: number, maxSteps: number): DeadlinePlan;
  /** Report how a frame went. */
  observe(sample: { steps: number; pixels: number; stepMs: number; overheadMs: number }): void;
}

export function createDeadlineController(smoothing = 0.3): DeadlineController {
  let msPerStepPerPixel: number | undefined;
  let overheadMs = 0;
  const blend = (old: number | undefined, sample: number): number => (old === undefined ? sample : old + smoothing * (sample - old));
  return {
    plan(targetFps, pixels, maxSteps) {
      const most = Math.max(1, maxSteps);
      if (msPerStepPerPixel === undefined || targetFps <= 0) return { steps: most, scale: 1 };
      const budget = 1000 / targetFps - overheadMs;
      for (const scale of SCALES) {
        const stepMs = msPerStepPerPixel * pixels * scale * scale;
        const steps = Math.min(most, Math.floor(budget / stepMs));
        if (steps >= 1) return { steps, scale };
      }
      return { steps: 1, scale: MIN_SCALE };
    },
    observe({ steps, pixels, stepMs, overheadMs: overhead }) {
      if (steps > 0 && pixels > 0) msPerStepPerPixel = blend(msPerStepPerPixel, stepMs / pixels);
      overheadMs = blend(overheadMs, overhead);
    },
  };
}
