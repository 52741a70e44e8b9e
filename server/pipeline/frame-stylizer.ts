/**
 * One live frame through the engine: decode (at the working size) → stylize, warm-started from
 * the previous output unless this is the first frame, a new style or a scene cut → encode once.
 * Each frame has a time budget (the stream's target rate, or its share of the painter): the
 * deadline controller picks steps and working size to fit it, and the result is brought back to
 * the stream size. Runs inside a painter process (paint-worker.ts), never on the server's loop.
 */
import { decodeImage, encodeImage, probeImage, sizeForShortSide } from '../codec/image-codec.js';
import type { Stylizer } from '../engine/stylizer.js';
import { affordableMotion, createDeadlineController } from './deadline.js';
import { encodeFrame, type IncomingFrame, type StylizedFrame } from './frame.js';
import type { LiveSettings } from './live-settings.js';
import { createSceneCutDetector } from './scene-cut.js';

export type { LiveSettings } from './live-settings.js';

export interface FrameStylizerDeps {
  stylizer: Stylizer;
  /** Decoded style image for a style id, at a long side in pixels. */
  styleImage: (id: string, longSide: number) => Promise<import('../engine/image.js').RgbImage>;
  minSide: number;
  jpegQuality?: number;
  /** The one pixel limit for decoding a frame (checked on its header). */
  maxImagePixels?: number;
  /**
   * The most pixels a frame is painted at (the optimiser's memory grows with them: about 7–10 kB
   * a pixel on wasm); larger streams are painted at this and scaled up. Default: no cap.
   */
  maxWorkPixels?: number;
}

/** A painted frame, and what the full plan the stream asked for would cost (for its share). */
export interface PaintedFrame extends StylizedFrame {
  /** Predicted ms for `settings.steps` at the full stream size; undefined until learnt. */
  fullPlanMs: number | undefined;
  /** The cost model after this frame, to seed other streams' first frames. */
  cost: { msPerStepPerPixel: number; overheadMs: number } | undefined;
}

/** Costs measured by another stream of this server (same machine and network). */
export type CostHint = { msPerStepPerPixel: number; overheadMs: number };

export interface FrameStylizer {
  /**
   * `budgetMs`: the time this frame may take (Infinity: no limit). `hint`: other streams' costs,
   * used until this stream has measured its own (so even its first frame fits its budget).
   */
  process(frame: IncomingFrame, settings: LiveSettings, budgetMs?: number, hint?: CostHint): Promise<PaintedFrame>;
}

export function createFrameStylizer(deps: FrameStylizerDeps): FrameStylizer {
  const deadline = createDeadlineController();
  const cuts = createSceneCutDetector();
  let styleKey: string | undefined;
  let restartPending = true;

  return {
    async process(frame, settings, budgetMs = Number.POSITIVE_INFINITY, hint) {
      const started = performance.now();
      if (hint) deadline.seed(hint);
      const queueAgeMs = started - frame.receivedAt;
      // The stream's size (short side settings.size) and the working size; one decode, at the latter.
      const label = `frame ${frame.seq}`;
      const source = await probeImage(frame.jpeg, label, deps.maxImagePixels);
      const full = sizeForShortSide(source, settings.size);
      // The largest working size this stream may have (the memory cap), then the plan within it.
      const cap = Math.min(1, Math.sqrt((deps.maxWorkPixels ?? Number.POSITIVE_INFINITY) / (full.width * full.height)));
      const pixels = full.width * full.height * cap * cap;
      const budget = settings.targetFps > 0 ? Math.min(budgetMs, 1000 / settings.targetFps) : budgetMs;
      const plan = settings.steps === 0 ? { steps: 0, scale: 1 } : deadline.plan(budget, pixels, settings.steps);
      const workShort = Math.max(deps.minSide, Math.round(settings.size * cap * plan.scale));
      const exact = workShort >= settings.size ? full : sizeForShortSide(source, workShort);
      const content = await decodeImage(frame.jpeg, { exact, label, probed: source, maxPixels: deps.maxImagePixels });

      // The style is seen at the stream's largest working size (where the strokes are painted),
      // which also bounds the memory its targets take.
      const styleSide = Math.max(deps.minSide, Math.round(Math.max(full.width, full.height) * cap));
      const key = `${settings.style}@${styleSide}`;
      if (key !== styleKey) {
        deps.stylizer.setStyle([{ image: await deps.styleImage(settings.style, styleSide) }]);
        styleKey = key;
        restartPending = true;
      }
      deps.stylizer.configure({
        contentWeight: settings.contentWeight,
        styleWeight: settings.styleWeight,
        preserveColors: settings.preserveColors,
      });
      // Thumbnails are 16×9 whatever the size, so frames at different working sizes compare.
      const cut = cuts.isCut(content);
      const warmStart = !restartPending && !cut;
      restartPending = false;

      const stylizeStarted = performance.now();
      const motion = affordableMotion(settings.motion, plan);
      const result = await deps.stylizer.stylizeFrame(content, {
        steps: plan.steps,
        warmStart,
        motion,
        temporalWeight: motion === 'flow' ? settings.temporalWeight : 0,
        // A little slack: the plan already fits the budget; this only stops a step that runs long.
        ...(Number.isFinite(budget) ? { stopAfterMs: Math.max(0, 1.25 * budget - deadline.overheadMs) } : {}),
      });
      const stylizeMs = performance.now() - stylizeStarted;
      const jpeg = await encodeImage(result.image, 'jpeg', deps.jpegQuality ?? 82, { width: full.width, height: full.height });
      const processMs = performance.now() - started;
      deadline.observe({
        steps: result.steps,
        pixels: content.width * content.height,
        stepMs: result.steps > 0 ? stylizeMs / result.steps : 0,
        overheadMs: processMs - stylizeMs,
      });
      return {
        fullPlanMs: deadline.predict(pixels, settings.steps),
        cost: deadline.msPerStepPerPixel === undefined ? undefined : { msPerStepPerPixel: deadline.msPerStepPerPixel, overheadMs: deadline.overheadMs },
        seq: frame.seq,
        timestampMs: frame.timestampMs,
        message: encodeFrame(frame, jpeg),
        width: full.width,
        height: full.height,
        steps: result.steps,
        workWidth: content.width,
        workHeight: content.height,
        warmStarted: result.warmStarted,
        processMs,
        stylizeMs,
        queueAgeMs,
      };
    },
  };
}
