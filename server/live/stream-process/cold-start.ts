/**
 * A progressive cold start. A frame that starts from the photo (a new stream, a new style, a
 * scene cut, a replaced painter) needs many steps before it looks painted; giving them to that
 * one frame would freeze the stream for seconds and hold every other stream's turn. Instead the
 * first frames after a cold start are painted coarser: at half, then ~0.7 of the planned working
 * size, each with the same work as a normal frame (so 4×, then 2× the steps) and within the same
 * time budget, each warm-started from the one before. The first painted frame comes after one
 * ordinary frame time, already further from the photo than a full-size frame would be; the next
 * ones add detail at growing sizes, so the picture sharpens over the first few frames instead of
 * appearing late. The ramp lasts at most about a second (after its first frame): a stream painted
 * at 1 fps gets one coarse frame, not four seconds of them.
 */

/** Working-size factors (of the plan's working size) of the frames after a cold start. */
export const COLD_START_RAMP: readonly number[] = [0.5, 0.5, 0.71, 0.71];
/** No coarse frame starts later than this after the cold start (the first one always is coarse), ms. */
export const COLD_START_MS = 1000;

export interface ColdStartRamp {
  /** A cold start: the ramp begins again. */
  restart(): void;
  /** The working-size factor for this frame (1 once the ramp is over); moves the ramp on. */
  next(): number;
}

export function createColdStartRamp(
  { ramp = COLD_START_RAMP, windowMs = COLD_START_MS, now = () => performance.now() }: { ramp?: readonly number[]; windowMs?: number; now?: () => number } = {},
): ColdStartRamp {
  let frame = ramp.length;
  let startedAt = 0;
  return {
    restart() {
      frame = 0;
      startedAt = now();
    },
    next() {
      if (frame >= ramp.length || (frame > 0 && now() - startedAt > windowMs)) {
        frame = ramp.length;
        return 1;
      }
      return ramp[frame++]!;
    },
  };
}

/**
 * Steps for a ramp frame at `factor` of the working size: the work (steps × pixels) of the
 * stream's own frame, at most; `fit` caps it at what the time budget allows at that size.
 */
export function rampSteps(planSteps: number, factor: number, fit: (maxSteps: number) => number): number {
  return fit(Math.max(1, Math.floor(planSteps / (factor * factor))));
}
