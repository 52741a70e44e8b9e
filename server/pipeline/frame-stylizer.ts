/**
 * One live frame through the engine: decode (at the working size) → stylize, warm-started from
 * the previous output unless this is the first frame, a new style or a scene cut → encode once.
 * Deadline mode chooses steps and working size; the result is brought back to the stream size.
 */
import { decodeImage, encodeImage, probeImage, sizeForShortSide } from '../codec/image-codec.js';
import type { MotionMode } from '../config.js';
import type { Stylizer } from '../engine/stylizer.js';
import { encodeFrame } from '../realtime/protocol.js';
import { affordableMotion, createDeadlineController } from './deadline.js';
import type { IncomingFrame, StylizedFrame } from './frame.js';
import { createSceneCutDetector } from './scene-cut.js';

export interface LiveSettings {
  style: string;
  /** Short side of the stream, in pixels. */
  size: number;
  steps: number;
  contentWeight: number;
  styleWeight: number;
  preserveColors: boolean;
  /** 0: off. */
  targetFps: number;
  /** How warm starts follow the video: 'flow', 'residual' (cheap) or 'none'. */
  motion: MotionMode;
  /** Ruder et al.'s temporal loss (0 = off); needs motion 'flow'. */
  temporalWeight: number;
}

export interface FrameStylizerDeps {
  stylizer: Stylizer;
  /** Decoded style image for a style id, at a long side in pixels. */
  styleImage: (id: string, longSide: number) => Promise<import('../engine/image.js').RgbImage>;
  minSide: number;
  jpegQuality?: number;
}

export interface FrameStylizer {
  process(frame: IncomingFrame, settings: LiveSettings): Promise<StylizedFrame>;
}

export function createFrameStylizer(deps: FrameStylizerDeps): FrameStylizer {
  const deadline = createDeadlineController();
  const cuts = createSceneCutDetector();
  let styleKey: string | undefined;
  let restartPending = true;

  return {
    async process(frame, settings) {
      const started = performance.now();
      const queueAgeMs = started - frame.receivedAt;
      // The stream's size (short side settings.size) and the working size; one decode, at the latter.
      const label = `frame ${frame.seq}`;
      const source = await probeImage(frame.jpeg, label);
      const full = sizeForShortSide(source, settings.size);
      const pixels = full.width * full.height;
      const plan = settings.targetFps > 0 ? deadline.plan(settings.targetFps, pixels, settings.steps) : { steps: settings.steps, scale: 1 };
      const workShort = Math.max(deps.minSide, Math.round(settings.size * plan.scale));
      const content = await decodeImage(frame.jpeg, { exact: workShort >= settings.size ? full : sizeForShortSide(source, workShort), label });

      const key = `${settings.style}@${Math.max(full.width, full.height)}`;
      if (key !== styleKey) {
        deps.stylizer.setStyle([{ image: await deps.styleImage(settings.style, Math.max(full.width, full.height)) }]);
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
      });
      const stylizeMs = performance.now() - stylizeStarted;
      const jpeg = await encodeImage(result.image, 'jpeg', deps.jpegQuality ?? 82, { width: full.width, height: full.height });
      const processMs = performance.now() - started;
      deadline.observe({
        steps: plan.steps,
        pixels: content.width * content.height,
        stepMs: plan.steps > 0 ? stylizeMs / plan.steps : 0,
        overheadMs: processMs - stylizeMs,
      });
      return {
        seq: frame.seq,
        timestampMs: frame.timestampMs,
        message: encodeFrame(frame, jpeg),
        width: full.width,
        height: full.height,
        steps: plan.steps,
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
