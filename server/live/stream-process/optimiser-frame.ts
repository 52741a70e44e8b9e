/**
 * A live frame painted by the optimiser: the deadline controller picks steps and working size to
 * fit the frame's budget, never below the floor; after a cold start the cold-start ramp paints
 * the first frames coarser. Warm-started from the previous output unless the frame is cold.
 */
import { resizeImage, sizeForShortSide } from '../../codec/image-codec.js';
import type { RgbImage } from '../../engine/image.js';
import type { Stylizer } from '../../engine/stylizer.js';
import type { LiveSettings } from '../live-settings.js';
import { rampSteps, type ColdStartRamp } from './cold-start.js';
import { affordableMotion, type DeadlineController } from './deadline.js';
import { finishFrame, type FrameInput, type FrameOutput, type PaintResult } from './painted-frame.js';

export interface OptimiserFrameContext extends FrameOutput {
  stylizer: Stylizer;
  deadline: DeadlineController;
  ramp: ColdStartRamp;
  minSide: number;
  /** The least working short side worth showing, px. */
  floorShortSide: number;
}

/** Where the plan is made: the probed source size, and the memory cap on the working size (≤ 1) with the pixels it allows. */
export interface WorkLimits {
  source: { width: number; height: number };
  cap: number;
  pixels: number;
}

/** The painted frame and what was painted (for the learned painter to learn from: its photo and the shown picture). */
export async function paintWithOptimiser(
  context: OptimiserFrameContext,
  input: FrameInput,
  limits: WorkLimits,
  settings: LiveSettings,
  cold: boolean,
  budget: number,
): Promise<PaintResult> {
  const { deadline, stylizer } = context;
  const { photo } = input;
  const content = await workingCopy(context, photo, limits, settings, budget);
  const stylizeStarted = performance.now();
  const motion = affordableMotion(settings.motion, content.plan);
  const result = await stylizer.stylizeFrame(content.image, {
    steps: content.plan.steps,
    warmStart: !cold,
    motion,
    temporalWeight: motion === 'flow' ? settings.temporalWeight : 0,
    // A little slack: the plan already fits the budget; this only stops a step that runs long.
    ...(Number.isFinite(budget) ? { stopAfterMs: Math.max(0, 1.25 * budget - deadline.overheadMs) } : {}),
  });
  const stylizeMs = performance.now() - stylizeStarted;
  const finished = await finishFrame(context, input, content.image, result, { stylizeMs, stepsMs: stylizeMs });
  return { painted: { ...finished, fullPlanMs: deadline.predict(limits.pixels, settings.steps) }, content: content.image, shown: result.image };
}

/** The frame at the plan's working size (the photo itself at full size), and the plan. */
async function workingCopy(
  context: OptimiserFrameContext,
  photo: RgbImage,
  limits: WorkLimits,
  settings: LiveSettings,
  budget: number,
): Promise<{ image: RgbImage; plan: { steps: number; scale: number } }> {
  const { deadline, ramp } = context;
  const { cap, pixels } = limits;
  const floorScale = Math.min(1, context.floorShortSide / (settings.size * cap));
  let plan = settings.steps === 0 ? { steps: 0, scale: 1 } : deadline.plan(budget, pixels, settings.steps, floorScale);
  const factor = settings.steps === 0 ? 1 : ramp.next();
  if (factor < 1) {
    const scale = plan.scale * factor;
    plan = { scale, steps: rampSteps(plan.steps, factor, (most) => deadline.stepsWithin(budget, pixels * scale * scale, most)) };
  }
  const workShort = Math.max(context.minSide, Math.round(settings.size * cap * plan.scale));
  const work = workShort >= settings.size ? photo : sizeForShortSide(limits.source, workShort);
  const image = work.width === photo.width && work.height === photo.height ? photo : await resizeImage(photo, work);
  return { image, plan };
}
