/**
 * Teaches a style's stroke painter (issue 22) ahead of time: the optimiser paints keyframes of
 * the shipped training frames (models/painter-training/) or of given clips at the live working
 * size, as `stylize image` paints a still, and the U-Net learns to copy them from patches
 * (keyframe-trainer.ts). Kept under the key a live stream in the `keyframes` painter mode looks up
 * (style bytes, network, the default weights, the stroke painter's shape).
 *
 * `stylize painters train --kind stroke` prints what it returns; the server's background training
 * runs it for an uploaded style (painter-training-main.ts).
 */
import { sizeForShortSide } from '../codec/image-codec.js';
import { DEFAULTS, SERVER_DEFAULTS } from '../config.js';
import type { FeatureNetwork } from '../engine/networks/network.js';
import { createKeyframeTrainer } from '../engine/painter-net/keyframe-trainer.js';
import type { PainterCache } from './painter-cache.js';
import { strokePainterFor } from './stroke-painter-key.js';
import { freshPainter } from './painter-cache.js';
import { asStreamed, paintKeyframes } from './keyframes.js';
import { PAINTER_TUNING } from './painter-tuning.js';
import type { StyleLibrary } from '../styles/style-library.js';
import { clipTrainingSamples, shippedTrainingSamples } from './training-frames.js';

const STROKE = PAINTER_TUNING.stroke;

export interface StrokeLesson {
  style: string;
  /** Training steps this run (after the keyframes are painted). */
  steps: number;
  upTo?: number;
  fresh?: boolean;
  clips?: readonly string[];
  /** Short side of the live stream the painter is for. */
  size?: number;
  /** Keyframes to paint (spread over the frames), and optimiser steps for each. */
  keyframes?: number;
  keyframeSteps?: number;
}

export interface StrokeHooks {
  warn?(message: string): void;
  /** A stage of work: `label` ('keyframes' | 'train'), its total; update(done, value) as it goes. */
  progress?(total: number, label?: string): { update(done: number, value: number): void; stop(): void };
}

export type StrokeResult =
  | { style: string; model: string; kind: 'stroke'; steps: number; framesSeen: number; skipped: string; readyForLive: boolean }
  | { style: string; model: string; kind: 'stroke'; steps: number; framesSeen: number; loss: number; keyframes: number; trainedAt: string; dir: string; readyForLive: boolean };

export async function trainStrokePainter(network: FeatureNetwork, styles: StyleLibrary, cache: PainterCache, lesson: StrokeLesson, hooks: StrokeHooks = {}): Promise<StrokeResult> {
  const work = sizeForShortSide({ width: 16, height: 9 }, lesson.size ?? SERVER_DEFAULTS.liveSize);
  // The painter's sizes must be multiples of 4 (two halvings).
  const size = { width: Math.round(work.width / 4) * 4, height: Math.round(work.height / 4) * 4 };
  const what = strokePainterFor((await styles.image(lesson.style)).bytes, lesson.style, network.name);
  const { painter, meta, learned } = lesson.fresh ? freshPainter(what) : await cache.open(what);
  const head = { style: lesson.style, model: network.name, kind: 'stroke' as const };
  try {
    const stepsHere = lesson.upTo === undefined ? lesson.steps : Math.max(0, Math.min(lesson.steps, lesson.upTo - meta.steps));
    if (stepsHere === 0) {
      return { ...head, steps: meta.steps, framesSeen: meta.framesSeen, skipped: `it has ${meta.steps} steps (--up-to ${lesson.upTo})`, readyForLive: learned && meta.steps >= STROKE.minSteps };
    }
    const samples = lesson.clips ? await clipTrainingSamples(lesson.clips, size) : await shippedTrainingSamples(size);
    const frames = spread(samples.map((s) => s.frame), lesson.keyframes ?? STROKE.keyframes);
    // The style as the still sees it: at the working size's long side.
    const style = await styles.decoded(lesson.style, Math.max(size.width, size.height), network.minSide);
    const painting = hooks.progress?.(frames.length, 'keyframes');
    const keyframes = await paintKeyframes(network, style, frames, { styleStrength: DEFAULTS.styleStrength, steps: lesson.keyframeSteps ?? STROKE.keyframeSteps }, { onKeyframe: (done) => painting?.update(done, done) });
    painting?.stop();
    const trainer = createKeyframeTrainer(painter, network, STROKE);
    // The live stream's painter: it learns from the photos as a stream sends them (JPEG).
    trainer.setKeyframes(await asStreamed(keyframes));
    const progress = hooks.progress?.(stepsHere, 'train');
    let loss = Number.NaN;
    try {
      for (let s = 0; s < stepsHere; s++) {
        loss = await trainer.step();
        progress?.update(s + 1, loss);
      }
    } finally {
      progress?.stop();
      trainer.dispose();
    }
    const steps = meta.steps + stepsHere;
    const framesSeen = meta.framesSeen + keyframes.length;
    await cache.save(what, painter, { ...meta, steps, framesSeen, loss });
    return { ...head, steps, framesSeen, loss, keyframes: keyframes.length, trainedAt: `${size.width}x${size.height}`, dir: cache.dir, readyForLive: steps >= STROKE.minSteps };
  } finally {
    painter.dispose();
  }
}

/** `count` frames spread evenly over `frames` (all of them if there are fewer). */
export function spread<T>(frames: readonly T[], count: number): T[] {
  if (frames.length <= count) return [...frames];
  return Array.from({ length: count }, (_, k) => frames[Math.floor(((k + 0.5) * frames.length) / count)]!);
}
