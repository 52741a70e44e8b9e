/**
 * A live stream's learned painter (issue 12): a small feed-forward painter taught on the stream's
 * own frames while it plays, with the optimiser's objective (painter-trainer.ts), that takes over
 * once it paints the stream's frames better, by that objective, than the optimiser does within
 * the frame budget. Then a frame costs one painter pass at the FULL working size (tens of ms on a
 * CPU) instead of optimiser steps that only fit at the floor.
 *
 * States: LEARNING (the stream is painted as before; the painter trains after each frame for a
 * share of that frame's time) → READY (the painter paints; it goes on training in the time the
 * frame budget leaves). Judged every few training steps on the newest frame: the painter's loss
 * against the loss of the picture the stream actually showed for it. Kept in the painter cache
 * (keyed by the style's bytes and the settings), so the next stream with this style starts READY.
 */
import { resizeImage } from '../../codec/image-codec.js';
import type { RgbImage } from '../../engine/image.js';
import type { FeatureNetwork } from '../../engine/networks/network.js';
import type { PainterCache, PainterFor } from '../../painter/painter-cache.js';
import { createPainterNet, type PainterNet } from '../../engine/painter-net/painter-net.js';
import type { PainterMeta } from '../../engine/painter-net/painter-store.js';
import { createPainterTrainer, RESUME_WARM_UP_STEPS, type PainterTrainer, type TrainingSample } from '../../engine/painter-net/painter-trainer.js';
import { paintImage, trainingSize } from '../../engine/painter-net/paint-with.js';
import { BLOCK } from '../../engine/painter-net/painter-layers.js';
import { createTrainingClock } from './training-clock.js';
import { PAINTER_TUNING } from '../../painter/painter-tuning.js';

export const LivePainterState = { LEARNING: 'learning', READY: 'ready' } as const;
export type LivePainterState = (typeof LivePainterState)[keyof typeof LivePainterState];

/**
 * How a live painter learns. `samples`: the newest frames kept for training (each with the frame
 * before it, for the temporal term); `learningShare`: while LEARNING, training after each frame
 * takes up to this share of that frame's own time (the stream's frame rate falls to about
 * 1 / (1 + share) of what it was, for the seconds it learns); `minSteps`: training steps before the
 * painter is judged at all; `judgeEvery`: then judged every this many steps; `saveEvery`: kept to
 * the cache every this many steps (and when the stream ends).
 */
export const LIVE_PAINTER = PAINTER_TUNING.live;

export interface LivePainterStats {
  state: LivePainterState;
  /** Training steps in all (a kept painter's included). */
  steps: number;
  framesSeen: number;
  /** The painter's loss on the newest frame at the last judgement, and the shown picture's. */
  loss: number | undefined;
  shownLoss: number | undefined;
  /** How the last painted frame was blended with the painting before it (frame-stylizer.ts); absent while learning. */
  blend?: 'flow' | 'residual';
}

export interface LivePainter {
  readonly state: LivePainterState;
  /**
   * A painted frame for training: its photo and the picture the stream showed, at the working
   * size (shrunk here to the training size).
   */
  offer(photo: RgbImage, shown: RgbImage): Promise<void>;
  /**
   * Trains for about `ms` more, stopping early when `shouldStop()` says so between steps; judges
   * readiness on the way. Resolves with the steps taken. Default: time given and not used is saved
   * up, so a step dearer than one frame's share runs every few frames (while learning). `small`:
   * only steps that fit `ms` itself, nothing saved up, each on one crop of a quarter of the
   * training size (about an eighth of a full step): for the leftover of a painted frame, which
   * must never be late.
   */
  train(ms: number, shouldStop?: () => boolean, mode?: { small: boolean }): Promise<number>;
  /** The painter's picture of a frame (any size). */
  picture(photo: RgbImage): Promise<RgbImage>;
  stats(): LivePainterStats;
  /** Keeps the painter in the cache (when one was given). */
  save(): Promise<void>;
  /** Frees the painter and its trainer; safe twice. */
  dispose(): void;
}

export interface LivePainterOptions {
  network: FeatureNetwork;
  /** The style, decoded at about the training size's long side. */
  style: RgbImage;
  contentWeight: number;
  styleWeight: number;
  /** The stream's working size: training runs at half of it (trainingSize). */
  workSize: { width: number; height: number };
  /** Where painters are kept, and what this one is for; without them it learns from scratch and is not kept. */
  cache?: { store: PainterCache; what: PainterFor };
  /** A painter to use instead of one from the cache (tests). */
  painter?: PainterNet;
}

export async function createLivePainter(options: LivePainterOptions): Promise<LivePainter> {
  const size = trainingSize(options.workSize, options.network.minSide);
  const opened = await openPainter(options);
  const { painter } = opened;
  let { meta, state } = opened;
  const trainer: PainterTrainer = createPainterTrainer(options.network, painter, options.style, {
    contentWeight: options.contentWeight,
    styleWeight: options.styleWeight,
    temporalWeight: LIVE_PAINTER.temporalWeight,
    learningRate: LIVE_PAINTER.learningRate,
    ...(opened.resumed ? { warmUpSteps: RESUME_WARM_UP_STEPS } : {}),
  });
  const samples: TrainingSample[] = [];
  let newest: { frame: RgbImage; shown: RgbImage } | undefined;
  let previousFrame: RgbImage | undefined;
  let stepsHere = 0;
  let savedAt = meta.steps;
  let loss: number | undefined;
  let shownLoss: number | undefined;
  let disposed = false;
  const clock = createTrainingClock();

  const steps = (): number => meta.steps + stepsHere;

  /** The painter against what the stream showed, on the newest frame, by the training objective (no temporal term). */
  async function judge(): Promise<void> {
    if (!newest) return;
    const [own, shown] = await Promise.all([trainer.evaluate([{ frame: newest.frame }]), trainer.evaluate([{ frame: newest.frame, picture: newest.shown }])]);
    loss = own.total;
    shownLoss = shown.total;
    if (state === LivePainterState.LEARNING && own.total <= shown.total) state = LivePainterState.READY;
  }

  return {
    get state() {
      return state;
    },
    async offer(photo, shown) {
      if (disposed) return;
      const frame = await resizeImage(photo, size);
      newest = { frame, shown: await resizeImage(shown, size) };
      samples.push(previousFrame ? { frame, previous: previousFrame } : { frame });
      if (samples.length > LIVE_PAINTER.samples) samples.shift();
      previousFrame = frame;
      meta = { ...meta, framesSeen: meta.framesSeen + 1 };
    },
    async train(ms, shouldStop = () => false, mode = { small: false }) {
      if (disposed || samples.length === 0 || !(ms > 0)) return 0;
      const turn = clock.turn(ms, mode.small);
      let taken = 0;
      while (turn.fits() && !shouldStop()) {
        const stepStarted = performance.now();
        await trainer.step(trainingBatch(samples, stepsHere, mode.small, options.network.minSide));
        stepsHere++;
        taken++;
        turn.spent(performance.now() - stepStarted);
        if (steps() >= LIVE_PAINTER.minSteps && stepsHere % LIVE_PAINTER.judgeEvery === 0) await judge();
        if (disposed) break;
      }
      return taken;
    },
    picture: (photo) => paintImage(painter, photo),
    stats() {
      return { state, steps: steps(), framesSeen: meta.framesSeen, loss, shownLoss };
    },
    async save() {
      // Only a painter that has proved itself is kept: a kept painter starts the next stream READY.
      if (disposed || !options.cache || state !== LivePainterState.READY || steps() === savedAt) return;
      savedAt = steps();
      await options.cache.store.save(options.cache.what, painter, { ...meta, steps: steps(), ...(loss === undefined ? {} : { loss }) });
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      trainer.dispose();
      painter.dispose();
    },
  };
}

/** The painter to train: the one given, the cache's for this style and settings (READY if it was kept), or a fresh one. */
async function openPainter(options: LivePainterOptions): Promise<{ painter: PainterNet; meta: PainterMeta; state: LivePainterState; resumed: boolean }> {
  const meta: PainterMeta = { style: options.cache?.what.styleName ?? 'live', contentWeight: options.contentWeight, styleWeight: options.styleWeight, steps: 0, framesSeen: 0 };
  const learning = { meta, state: LivePainterState.LEARNING, resumed: false };
  if (options.painter) return { painter: options.painter, ...learning };
  if (!options.cache) return { painter: createPainterNet(), ...learning };
  const opened = await options.cache.store.open(options.cache.what);
  // A kept painter was judged ready by the stream that trained it (it is only kept then).
  const ready = opened.learned && opened.meta.steps >= LIVE_PAINTER.minSteps;
  return { painter: opened.painter, meta: opened.meta, state: ready ? LivePainterState.READY : LivePainterState.LEARNING, resumed: opened.learned };
}

/**
 * A step's frames. Full: the newest frame, and others drawn round the kept ones (recent, but not
 * only the last). Small: one crop of the newest.
 */
function trainingBatch(samples: readonly TrainingSample[], step: number, small: boolean, minSide: number): TrainingSample[] {
  const newest = samples[samples.length - 1]!;
  if (small) return [crop(newest, step, minSide)];
  return [newest, ...Array.from({ length: LIVE_PAINTER.batch - 1 }, (_, k) => samples[(step + k) % samples.length]!)];
}

/**
 * A quarter-area crop of a training sample (and of its previous frame, same place), in the
 * painter's 4-pixel blocks, moving round the frame from step to step.
 */
function crop(sample: TrainingSample, step: number, minSide: number): TrainingSample {
  const { width: w, height: h } = sample.frame;
  // Never below what the loss network can see.
  const least = Math.ceil(minSide / BLOCK) * BLOCK;
  const cw = Math.min(w, Math.max(least, Math.floor(w / 2 / BLOCK) * BLOCK));
  const ch = Math.min(h, Math.max(least, Math.floor(h / 2 / BLOCK) * BLOCK));
  const x = (((step * 3) % 4) * Math.floor((w - cw) / 3 / BLOCK)) * BLOCK;
  const y = ((step % 3) * Math.floor((h - ch) / 2 / BLOCK)) * BLOCK;
  const cut = (image: RgbImage): RgbImage => {
    const data = new Uint8Array(cw * ch * 3);
    for (let row = 0; row < ch; row++) data.set(image.data.subarray(((y + row) * w + x) * 3, ((y + row) * w + x + cw) * 3), row * cw * 3);
    return { width: cw, height: ch, data };
  };
  return sample.previous ? { frame: cut(sample.frame), previous: cut(sample.previous) } : { frame: cut(sample.frame) };
}
