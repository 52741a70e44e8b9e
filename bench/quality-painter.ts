/**
 * The learned painter in the long-mode quality bench (issue 12): a video file painted as a job
 * would paint it with `painter: learned`: first a training pass over frames sampled from the clip
 * (at a reduced size: a training step costs about one optimiser step at the same size), then
 * every frame = painter(frame) at the working size, refined by `steps` optimiser steps (0: the
 * painter alone). The training time is part of the figures (msPerFrame, wall seconds).
 */
import * as tf from '@tensorflow/tfjs-core';
import { decodeImage, encodeImage } from '../server/codec/image-codec.js';
import { imageToTensor, tensorToImage, type RgbImage } from '../server/engine/image.js';
import type { FeatureNetwork } from '../server/engine/networks/network.js';
import { BLOCK } from '../server/engine/painter-net/painter-layers.js';
import { createPainterNet, DEFAULT_PAINTER_SHAPE } from '../server/engine/painter-net/painter-net.js';
import { createPainterTrainer } from '../server/engine/painter-net/painter-trainer.js';
import { createStylizer, type StylizerSettings } from '../server/engine/stylizer.js';
import { DEFAULTS } from '../server/config.js';
import { PAINTER_TUNING } from '../server/painter/painter-tuning.js';

export interface PainterPlan {
  /** Optimiser steps after the painter on each frame (0: the painter alone). */
  steps: number;
  /** Training steps of the first pass. */
  trainSteps: number;
  /** Frames per training step. */
  batch: number;
  /** Short side of the training frames (multiple of 4). */
  trainShort: number;
  learningRate: number;
  /** 'flow': the painter's picture blended with the previous painting carried along the motion (as a job does); 'none': each frame alone. */
  motion: 'flow' | 'none';
  /** PainterBlend's persistence (default the engine's). */
  persistence?: number;
}

export const DEFAULT_PAINTER_PLAN: PainterPlan = { steps: 1, trainSteps: PAINTER_TUNING.job.freshSteps, batch: PAINTER_TUNING.batch, trainShort: 72, learningRate: PAINTER_TUNING.learningRate, motion: 'flow' };

export interface PaintedWithPainter {
  outputs: RgbImage[];
  trainMs: number;
  paintMs: number;
  /** Held-out perceptual loss (the training objective) before and after the training pass. */
  heldOut: { before: number; after: number };
}

async function resize(image: RgbImage, size: { width: number; height: number }): Promise<RgbImage> {
  return decodeImage(await encodeImage(image, 'png', 90, size));
}

export async function paintWithPainter(loss: FeatureNetwork, settings: Partial<StylizerSettings>, style: RgbImage, frames: RgbImage[], plan: PainterPlan): Promise<PaintedWithPainter> {
  const { width, height } = frames[0]!;
  if (width % BLOCK || height % BLOCK) throw new RangeError(`frames must be multiples of ${BLOCK} pixels`);
  const trainSize = { height: plan.trainShort, width: Math.round((width * plan.trainShort) / height / BLOCK) * BLOCK };
  // Every 3rd frame with the one before it (the temporal term); every 6th pair held out.
  const pairs: { frame: RgbImage; previous: RgbImage }[] = [];
  for (let i = 3; i < frames.length; i += 3) pairs.push({ frame: await resize(frames[i]!, trainSize), previous: await resize(frames[i - 1]!, trainSize) });
  const heldOut = pairs.filter((_, i) => i % 6 === 5);
  const training = pairs.filter((_, i) => i % 6 !== 5);
  const contentWeight = settings.contentWeight ?? DEFAULTS.contentWeight;
  const styleWeight = settings.styleWeight ?? DEFAULTS.styleWeight;
  const painter = createPainterNet(DEFAULT_PAINTER_SHAPE, 1);
  const trainStyle = await decodeImage(await encodeImage(style, 'png', 90), { longSide: Math.max(trainSize.width, trainSize.height), minShortSide: loss.minSide });
  const trainer = createPainterTrainer(loss, painter, trainStyle, { contentWeight, styleWeight, temporalWeight: DEFAULTS.temporalWeight, learningRate: plan.learningRate });
  const before = (await trainer.evaluate(heldOut)).total;
  const trainStarted = performance.now();
  for (let s = 0; s < plan.trainSteps; s++) {
    const batch = Array.from({ length: plan.batch }, (_, k) => training[(s * plan.batch + k) % training.length]!);
    await trainer.step(batch);
    if ((s + 1) % 10 === 0) process.stderr.write(`painter: ${s + 1}/${plan.trainSteps} training steps, ${Math.round((performance.now() - trainStarted) / 1000)} s\n`);
  }
  const trainMs = performance.now() - trainStarted;
  const after = (await trainer.evaluate(heldOut)).total;
  trainer.dispose();

  const stylizer = createStylizer(loss, settings, { ownsNetwork: false });
  stylizer.setStyle([{ image: style }]);
  const outputs: RgbImage[] = [];
  const paintStarted = performance.now();
  for (const [t, frame] of frames.entries()) {
    const input = imageToTensor(frame);
    const painted = tf.tidy(() => painter.apply(input));
    const base = await tensorToImage(painted);
    tf.dispose([input, painted]);
    // As a job paints (stylize-chunk.ts): the refinement carried along the motion, the optimiser kept.
    const follow = plan.motion === 'flow' && t > 0;
    const options = { steps: plan.steps, base, warmStart: follow, motion: 'flow' as const, temporalWeight: follow ? DEFAULTS.temporalWeight : 0 };
    outputs.push((await stylizer.stylizeFrame(frame, plan.persistence === undefined ? options : { ...options, persistence: plan.persistence })).image);
  }
  const paintMs = performance.now() - paintStarted;
  stylizer.dispose();
  painter.dispose();
  return { outputs, trainMs, paintMs, heldOut: { before, after } };
}
