/**
 * A live frame painted by the stream's learned painter, once it is READY (live-painter.ts): its
 * picture at the full working size, blended with the painting before it, then the optimiser steps
 * that still fit the budget (often none).
 */
import { resizeImage } from '../../codec/image-codec.js';
import type { StylizeResult, Stylizer } from '../../engine/stylizer.js';
import type { LiveSettings } from '../live-settings.js';
import type { DeadlineController } from './deadline.js';
import type { LivePainter } from './live-painter.js';
import { finishFrame, type FrameInput, type FrameOutput, type PaintResult } from './painted-frame.js';

/**
 * A painting stream's blend with the painting before it (issue 12). Along the cheap flow
 * (FollowOptions.light: forward only, at half size; 56 ms at 256×144 here) when the stream
 * follows motion and that fits the frame's budget, else the residual blend (no motion estimate).
 * The flow steadies the painter's picture, whose ¼-resolution trunk redraws its texture at every
 * small shift: cockatoo, shipped Starry Night painter, flicker 4.13 → 2.06 (the optimiser's
 * 2.32), style match 89 → 85 % (outside judge) and 74 → 57 % (loss net), by eye smoother and
 * less grainy (`npm run bench -- quality --long --configs live-painter --shipped-painter
 * --ready-motion residual|flow-light`, README). A residual stream tries the flow again every
 * `retryEvery` frames, in case the machine was only busy.
 */
export const PAINTER_FLOW_BLEND = { retryEvery: 50, smoothing: 0.3 } as const;

export type PainterBlendMode = 'flow' | 'residual';

/** Picks a painting frame's blend by what the flow blend has cost this stream (PAINTER_FLOW_BLEND). */
export interface BlendChooser {
  choose(motion: LiveSettings['motion'], painterMs: number, overheadMs: number, budget: number): PainterBlendMode;
  /** The flow blend's own cost, ms (0 while unknown). */
  readonly flowMs: number;
  /** How the frame went: `blendMs` is its stylize time less the painter's pass. */
  observe(blend: PainterBlendMode, result: Pick<StylizeResult, 'steps' | 'warmStarted'>, blendMs: number): void;
}

export function createBlendChooser(): BlendChooser {
  /** A painting frame's flow blend cost (ms, smoothed), and painting frames since the last one. */
  let flowBlendMs: number | undefined;
  let framesSinceFlow = 0;
  return {
    choose(motion, painterMs, overheadMs, budget) {
      const fits =
        motion === 'flow' &&
        (flowBlendMs === undefined || framesSinceFlow >= PAINTER_FLOW_BLEND.retryEvery || painterMs + flowBlendMs + overheadMs <= budget);
      return fits ? 'flow' : 'residual';
    },
    get flowMs() {
      return flowBlendMs ?? 0;
    },
    observe(blend, result, blendMs) {
      if (blend === 'flow' && result.steps === 0 && result.warmStarted) {
        flowBlendMs = flowBlendMs === undefined ? blendMs : flowBlendMs + PAINTER_FLOW_BLEND.smoothing * (blendMs - flowBlendMs);
        framesSinceFlow = 0;
      } else if (blend === 'residual') {
        framesSinceFlow++;
      }
    },
  };
}

export interface PainterFrameContext extends FrameOutput {
  stylizer: Stylizer;
  deadline: DeadlineController;
  blend: BlendChooser;
}

/**
 * The painter's picture, blended with the previous painting's stylization where the frame did not
 * change (along the cheap flow when it fits, else the residual warm start), then the optimiser
 * steps that still fit the budget. `work`: the stream's largest working size.
 */
export async function paintWithPainter(
  context: PainterFrameContext,
  painter: LivePainter,
  input: FrameInput,
  work: { width: number; height: number },
  settings: LiveSettings,
  cold: boolean,
  budget: number,
): Promise<PaintResult> {
  const { deadline, blend: chooser } = context;
  const { photo } = input;
  const content = work.width === photo.width && work.height === photo.height ? photo : await resizeImage(photo, work);
  const stylizeStarted = performance.now();
  const picture = await painter.picture(content);
  const painterMs = performance.now() - stylizeStarted;
  const blend = chooser.choose(settings.motion, painterMs, deadline.overheadMs, budget);
  const steps = deadline.stepsLeft(budget - painterMs - (blend === 'flow' ? chooser.flowMs : 0), content.width * content.height, settings.steps);
  const result = await context.stylizer.stylizeFrame(content, {
    steps,
    base: picture,
    warmStart: !cold,
    motion: blend,
    // With no step the cheap flow will do (no occlusion mask needed); steps get the full one and the temporal term.
    ...(blend === 'flow' ? { lightFlow: true, temporalWeight: steps > 0 ? settings.temporalWeight : 0 } : { temporalWeight: 0 }),
    ...(Number.isFinite(budget) ? { stopAfterMs: Math.max(0, 1.25 * budget - deadline.overheadMs - painterMs) } : {}),
  });
  const stylizeMs = performance.now() - stylizeStarted;
  chooser.observe(blend, result, stylizeMs - painterMs);
  // The painter's pass is neither a step nor overhead the optimiser's plan should carry.
  const finished = await finishFrame(context, input, content, result, { stylizeMs, stepsMs: stylizeMs - painterMs });
  return { painted: { ...finished, painter: { ...painter.stats(), blend }, fullPlanMs: finished.processMs }, content, shown: result.image };
}
