/**
 * One live frame through the engine: decode (once, at the stream size) → stylize at the working
 * size, warm-started from the previous output unless this is the first frame, a new style or a
 * scene cut → back to the stream size, guided by the photo → encode once.
 * Each frame has a time budget (the stream's target rate, or its share of the painter): the
 * deadline controller picks steps and working size to fit it, never below the floor
 * (`floorShortSide`); after a cold start the first frames are painted coarser and sharpen
 * (cold-start.ts). Streams larger than `maxWorkPixels` are painted at that and brought back up.
 * Runs inside a painter process (painter-worker.ts), never on the server's loop.
 */
import { decodeImage, encodeImage, probeImage, resizeImage, sizeForShortSide } from '../codec/image-codec.js';
import { guidedUpsample } from '../engine/guided-upsample.js';
import type { Stylizer } from '../engine/stylizer.js';
import { createColdStartRamp, rampSteps } from './cold-start.js';
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
  /** The least working short side worth showing (the stream's own size if smaller), px. */
  floorShortSide: number;
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
  cost: CostHint | undefined;
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
  const ramp = createColdStartRamp();
  let styleKey: string | undefined;
  let restartPending = true;

  return {
    async process(frame, settings, budgetMs = Number.POSITIVE_INFINITY, hint) {
      const started = performance.now();
      if (hint) deadline.seed(hint);
      const queueAgeMs = started - frame.receivedAt;
      const label = `frame ${frame.seq}`;
      const source = await probeImage(frame.jpeg, label, deps.maxImagePixels);
      // One decode, at the stream size: the guide that brings the painting back to this size, and
      // the source of the working-size copy (shrinking the decoded frame is cheaper than decoding twice).
      const full = sizeForShortSide(source, settings.size);
      const photo = await decodeImage(frame.jpeg, { exact: full, label, probed: source, maxPixels: deps.maxImagePixels });
      // The largest working size this stream may have (the memory cap); the plan is made within it.
      const cap = Math.min(1, Math.sqrt((deps.maxWorkPixels ?? Number.POSITIVE_INFINITY) / (full.width * full.height)));
      const pixels = full.width * full.height * cap * cap;

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
      // Thumbnails are 16×9 whatever the size, so frames at different sizes compare.
      const cut = cuts.isCut(photo);
      const cold = restartPending || cut;
      restartPending = false;
      if (cold) ramp.restart();

      const budget = settings.targetFps > 0 ? Math.min(budgetMs, 1000 / settings.targetFps) : budgetMs;
      const floorScale = Math.min(1, deps.floorShortSide / (settings.size * cap));
      let plan = settings.steps === 0 ? { steps: 0, scale: 1 } : deadline.plan(budget, pixels, settings.steps, floorScale);
      const factor = settings.steps === 0 ? 1 : ramp.next();
      if (factor < 1) {
        const scale = plan.scale * factor;
        plan = { scale, steps: rampSteps(plan.steps, factor, (most) => deadline.stepsWithin(budget, pixels * scale * scale, most)) };
      }
      const workShort = Math.max(deps.minSide, Math.round(settings.size * cap * plan.scale));
      const work = workShort >= settings.size ? full : sizeForShortSide(source, workShort);
      const content = work.width === full.width && work.height === full.height ? photo : await resizeImage(photo, work);

      const stylizeStarted = performance.now();
      const motion = affordableMotion(settings.motion, plan);
      const result = await deps.stylizer.stylizeFrame(content, {
        steps: plan.steps,
        warmStart: !cold,
        motion,
        temporalWeight: motion === 'flow' ? settings.temporalWeight : 0,
        // A little slack: the plan already fits the budget; this only stops a step that runs long.
        ...(Number.isFinite(budget) ? { stopAfterMs: Math.max(0, 1.25 * budget - deadline.overheadMs) } : {}),
      });
      const stylizeMs = performance.now() - stylizeStarted;
      // Painted below the stream size: the photo's own edges come back where the painting keeps them.
      const painted = content === photo ? result.image : guidedUpsample(result.image, content, photo);
      const jpeg = await encodeImage(painted, 'jpeg', deps.jpegQuality ?? 82);
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
