/**
 * The long quality bench's `live-painter` config (issue 12): a live stream with the learned
 * painter (server/live/stream-process/live-painter.ts), made deterministic. The clip is played back and forth
 * (ping-pong) for --learn-seconds of stream while the painter learns; then the clip is painted
 * once more, as the stream paints it once the painter is ready, and that pass is judged.
 *
 * Timing is fixed, not measured (the machine is shared and noisy), from costs measured on the
 * 2-core CI machine: a LEARNING frame is the live plan (one step at the floor, FLOOR_FRAME_MS)
 * followed by training worth LIVE_PAINTER.learningShare of it (TRAIN_STEP_MS a step, saved up as
 * the product does), so the stream paints a frame every (1 + share)·FLOOR_FRAME_MS; a READY frame is
 * the painter's pass at the full working size plus the blend along the cheap flow, as a stream
 * that follows motion does (PAINTER_FLOW_BLEND in frame-stylizer.ts; `--ready-motion residual`
 * for the in-place blend), READY_FRAME_MS, at 10 fps, with the rest of each 100 ms trained.
 */
import os from 'node:os';
import path from 'node:path';
import { resizeImage, sizeForShortSide } from '../server/codec/image-codec.js';
import { DEFAULTS, SERVER_DEFAULTS } from '../server/config.js';
import type { RgbImage } from '../server/engine/image.js';
import type { FeatureNetwork } from '../server/engine/networks/network.js';
import { createStylizer, type StylizerSettings } from '../server/engine/stylizer.js';
import { affordableMotion } from '../server/live/stream-process/deadline.js';
import { createPainterCache } from '../server/painter/painter-cache.js';
import { SHIPPED_PAINTERS_DIR } from '../server/paths.js';
import { createLivePainter, LIVE_PAINTER, LivePainterState } from '../server/live/stream-process/live-painter.js';
import { createSceneCutDetector, LIVE_CUT_THRESHOLD } from '../server/engine/scene-cut.js';

/** One live frame at the floor (170×96, 1 step, flow) on the CI machine, ms (bench quality --long live). */
export const FLOOR_FRAME_MS = 350;
/** One training step (batch 2 at 128×72, shipped VGG) on the CI machine, ms. */
export const TRAIN_STEP_MS = 400;
/**
 * A READY frame: the painter at 256×144 + the flow blend + JPEG, ms (`bench live --serve-args
 * "--painter learned"`: 62–76 ms of painting a frame; 45 with the residual blend).
 */
export const READY_FRAME_MS = 75;
const READY_FPS = 10;
/** Every how many source frames the READY pass paints one (10 fps, latest frame wins). */
export function readyPassEvery(fps: number): number {
  return Math.max(1, Math.round(fps / READY_FPS));
}

export interface LearningPoint {
  /** Seconds of stream when this frame was painted. */
  seconds: number;
  state: string;
  steps: number;
  loss: number | undefined;
  shownLoss: number | undefined;
}

/** The painter's own pictures (no blend) of the judged frames at one point of the stream. */
export interface Snapshot {
  seconds: number;
  steps: number;
  state: string;
  pictures: RgbImage[];
}

export interface LivePainterRun {
  inputs: RgbImage[];
  outputs: RgbImage[];
  cold: boolean[];
  /** Every how many source frames the judged (READY) pass paints one. */
  every: number;
  curve: LearningPoint[];
  /** Seconds of stream until READY (undefined: not within --learn-seconds). */
  readyAfterS: number | undefined;
  /** For the learning curve: every `snapshotEvery` seconds while learning. */
  snapshots: Snapshot[];
  plan: string;
}

export async function paintLiveWithPainter(
  loss: FeatureNetwork,
  settings: Partial<StylizerSettings>,
  style: RgbImage,
  frames: RgbImage[],
  fps: number,
  learnSeconds: number,
  curve: { judged: RgbImage[]; snapshotEvery: number; untilEnd: boolean },
  options: {
    /** Keep the learnt painter here and start from it next time (skips the learning phase: for tuning the painting stream). */
    reuseDir?: string;
    /**
     * Start from the painter shipped for this style (models/painters), looked up by the style
     * file's bytes as a live stream does (skips the learning phase: what a first stream in a
     * built-in painting gets with the learned painter on).
     */
    shippedFor?: Uint8Array;
    /** The READY pass's blend: the share of the carried painting kept (PainterBlend), and how it follows the video. */
    persistence?: number;
    motion?: 'residual' | 'flow' | 'flow-light';
  } = {},
): Promise<LivePainterRun> {
  const stream = { width: frames[0]!.width, height: frames[0]!.height };
  const floor = sizeForShortSide(stream, SERVER_DEFAULTS.minWorkingSize);
  const contentWeight = settings.contentWeight ?? DEFAULTS.contentWeight;
  const styleWeight = settings.styleWeight ?? DEFAULTS.styleWeight;
  const painterStyle = await resizeImage(style, sizeForShortSide(style, Math.round(Math.min(style.width, style.height) / 2)));
  const cache = options.shippedFor
    ? {
        store: createPainterCache(path.join(os.tmpdir(), `stylize-bench-shipped-${process.pid}`), { shipped: SHIPPED_PAINTERS_DIR }),
        what: { styleBytes: options.shippedFor, styleName: 'bench', network: loss.name, contentWeight, styleWeight, preserveColors: false },
      }
    : options.reuseDir
    ? {
        store: createPainterCache(options.reuseDir),
        // Keyed by the style's pixels, the weights and how long it learnt.
        what: { styleBytes: Buffer.concat([Buffer.from(style.data), Buffer.from(`${learnSeconds}`)]), styleName: 'bench', network: loss.name, contentWeight, styleWeight, preserveColors: false },
      }
    : undefined;
  const painter = await createLivePainter({ network: loss, style: painterStyle, contentWeight, styleWeight, workSize: stream, ...(cache ? { cache } : {}) });
  const reused = painter.state === LivePainterState.READY;
  const stylizer = createStylizer(loss, settings, { ownsNetwork: false });
  stylizer.setStyle([{ image: style }]);
  const cuts = createSceneCutDetector(LIVE_CUT_THRESHOLD);
  const points: LearningPoint[] = [];
  const snapshots: Snapshot[] = [];
  let nextSnapshot = 0;
  const snapshot = async (ms: number): Promise<void> => {
    const st = painter.stats();
    const pictures: RgbImage[] = [];
    for (const frame of curve.judged) pictures.push(await painter.picture(frame));
    snapshots.push({ seconds: ms / 1000, steps: st.steps, state: st.state, pictures });
  };
  let readyAfterS: number | undefined;
  // Ping-pong: 0 … n−1, n−2 … 1, 0 … (no jump at the turn, so no scene cut).
  const period = 2 * frames.length - 2;
  const at = (t: number): RgbImage => frames[t % period < frames.length ? t % period : period - (t % period)]!;
  try {
    const learnFrameMs = (1 + LIVE_PAINTER.learningShare) * FLOOR_FRAME_MS;
    const plan = { steps: 1, scale: SERVER_DEFAULTS.minWorkingSize / SERVER_DEFAULTS.liveSize };
    const motion = affordableMotion(DEFAULTS.motion, plan);
    let credit = 0;
    for (let ms = 0; !reused && ms < learnSeconds * 1000; ms += learnFrameMs) {
      const frame = at(Math.floor((ms / 1000) * fps));
      const content = await resizeImage(frame, floor);
      const cut = cuts.isCut(content);
      const result = await stylizer.stylizeFrame(content, { steps: plan.steps, warmStart: ms > 0 && !cut, motion, temporalWeight: motion === 'flow' ? DEFAULTS.temporalWeight : 0 });
      await painter.offer(content, result.image);
      // The share of this frame's time, in whole training steps at the CI machine's step cost.
      credit += LIVE_PAINTER.learningShare * FLOOR_FRAME_MS;
      const steps = Math.floor(credit / TRAIN_STEP_MS);
      credit -= steps * TRAIN_STEP_MS;
      if (steps > 0) {
        let n = 0;
        await painter.train(Number.POSITIVE_INFINITY, () => n++ >= steps);
      }
      const s = painter.stats();
      points.push({ seconds: Math.round(ms / 100) / 10, state: s.state, steps: s.steps, loss: s.loss, shownLoss: s.shownLoss });
      process.stderr.write(`  learning ${(ms / 1000).toFixed(1)} s: ${s.state}, ${s.steps} steps, loss ${s.loss?.toExponential(2) ?? '–'} vs shown ${s.shownLoss?.toExponential(2) ?? '–'}\n`);
      if (ms >= nextSnapshot) {
        await snapshot(ms);
        nextSnapshot += curve.snapshotEvery * 1000;
      }
      if (painter.stats().state === LivePainterState.READY && readyAfterS === undefined) readyAfterS = ms / 1000;
      // For the learning curve the schedule goes on to the end (after READY the product trains in
      // the ~55 ms each 100 ms frame leaves: about the same steps a second as while learning).
      if (readyAfterS !== undefined && !curve.untilEnd) break;
    }
    await snapshot(learnSeconds * 1000);
    await painter.save();

    // The judged pass: the clip at 10 fps, painted as a READY stream paints it (latest frame wins).
    const every = readyPassEvery(fps);
    const inputs = frames.filter((_, i) => i % every === 0);
    const outputs: RgbImage[] = [];
    const cold: boolean[] = [];
    const idleCreditPerFrame = 1000 / READY_FPS - READY_FRAME_MS;
    const readyMotion = options.motion ?? 'flow-light';
    stylizer.reset();
    credit = 0;
    for (const [t, frame] of inputs.entries()) {
      const isCold = t === 0 || cuts.isCut(frame);
      const picture = await painter.picture(frame);
      const result = await stylizer.stylizeFrame(frame, {
        steps: 0,
        base: picture,
        warmStart: !isCold,
        motion: readyMotion === 'residual' ? 'residual' : 'flow',
        ...(readyMotion === 'flow-light' ? { lightFlow: true } : {}),
        temporalWeight: 0,
        ...(options.persistence === undefined ? {} : { persistence: options.persistence }),
      });
      outputs.push(result.image);
      cold.push(isCold);
      await painter.offer(frame, result.image);
      credit += idleCreditPerFrame;
      if (credit >= TRAIN_STEP_MS) {
        credit -= TRAIN_STEP_MS;
        let n = 0;
        await painter.train(Number.POSITIVE_INFINITY, () => n++ >= 1);
      }
    }
    const s = painter.stats();
    return {
      inputs,
      outputs,
      cold,
      every,
      curve: points,
      readyAfterS,
      snapshots,
      plan: `learned painter: ${options.shippedFor && reused ? 'shipped for the style' : reused ? `kept from an earlier run of ${learnSeconds} s` : readyAfterS === undefined ? `not ready after ${learnSeconds} s` : `ready after ${readyAfterS.toFixed(1)} s of stream`} (${s.steps} steps in all); then painter + ${readyMotion} blend${options.persistence === undefined ? '' : ` (persistence ${options.persistence})`} at ${stream.width}×${stream.height}, 0 steps, every ${every}th frame of ${fps} fps`,
    };
  } finally {
    stylizer.dispose();
    painter.dispose();
  }
}
