/**
 * Teaches a live stream's learned painter (live/stream-process/live-painter.ts) a style ahead of
 * time, on the shipped training frames (models/painter-training/) or frames of given clips, and
 * keeps it under the key a live stream with the default weights looks up (style bytes, network,
 * α, β): that stream then paints with it from its first frame instead of learning for a minute.
 *
 * A library: `stylize painters train` prints what it returns, and the server's background
 * training (painter-training.ts) runs it in a child process of its own (painter-training-main.ts).
 */
import path from 'node:path';
import { sizeForShortSide } from '../codec/image-codec.js';
import { DEFAULT_COST_WEIGHTS, DEFAULTS, SERVER_DEFAULTS, type BackendName, type ModelChoice } from '../config.js';
import { loadEngine } from '../engine/load-engine.js';
import type { FeatureNetwork } from '../engine/networks/network.js';
import { trainingSize } from '../engine/painter-net/paint-with.js';
import type { PainterNet } from '../engine/painter-net/painter-net.js';
import { createPainterTrainer, RESUME_WARM_UP_STEPS, type TrainingSample } from '../engine/painter-net/painter-trainer.js';
import type { RgbImage } from '../engine/image.js';
import { BadInputError } from '../errors.js';
import { PAINTER_TUNING } from './painter-tuning.js';
import { SHIPPED_PAINTERS_DIR } from '../paths.js';
import { createStyleLibrary, type StyleLibrary } from '../styles/style-library.js';
import { createPainterCache, freshPainter, type PainterFor } from './painter-cache.js';
import { clipTrainingSamples, shippedTrainingSamples } from './training-frames.js';
import { trainStrokePainter, type StrokeResult } from './train-stroke-painter.js';

const LIVE_PAINTER = PAINTER_TUNING.live;

export interface TrainPainterRequest {
  style: string;
  /**
   * 'gram' (default): the live 'learned' painter, taught the Gram objective on the frames;
   * 'stroke': the keyframes mode's stroke painter, taught to copy keyframes the optimiser paints
   * (train-stroke-painter.ts).
   */
  kind?: 'gram' | 'stroke';
  /** The stroke painter: keyframes to paint, and optimiser steps for each. */
  keyframes?: number;
  keyframeSteps?: number;
  steps: number;
  /** Train only up to this many steps in all (none if the kept painter has them). */
  upTo?: number;
  /** Start from a fresh painter, not the kept or shipped one (how the shipped painters are made). */
  fresh?: boolean;
  /** Video files to learn from instead of the shipped training frames. */
  clips?: readonly string[];
  /** Short side of the live stream the painter is for (default the server's live size). */
  size?: number;
  stylesDir: string;
  /** The painter is kept in `<dataDir>/painters`; uploaded styles are read from `<dataDir>/styles`. */
  dataDir: string;
  modelsDir: string;
  model: ModelChoice;
  backend?: BackendName | undefined;
  threads?: number | undefined;
}

export interface TrainPainterHooks {
  /** Once the engine is loaded: its backend and the network's description. */
  engine?(backend: string, network: string): void;
  warn?(message: string): void;
  /** When training starts (not when skipped): reports each step's loss, stopped at the end; `label` names the stage. */
  progress?(total: number, label?: string): { update(step: number, loss: number): void; stop(): void };
}

/** What `stylize painters train` prints (one JSON line), in this order. */
export type TrainPainterResult =
  | { style: string; model: string; steps: number; framesSeen: number; skipped: string; readyForLive: boolean }
  | { style: string; model: string; steps: number; framesSeen: number; loss: number; trainedAt: string; dir: string; readyForLive: boolean }
  | StrokeResult;

export async function trainPainter(request: TrainPainterRequest, hooks: TrainPainterHooks = {}): Promise<TrainPainterResult> {
  checkSteps(request);
  const styles = createStyleLibrary({ stylesDir: request.stylesDir, uploadsDir: path.join(request.dataDir, 'styles') });
  if (!(await styles.has(request.style))) {
    throw new BadInputError(`unknown style "${request.style}"; the styles are: ${(await styles.list()).map((s) => s.id).join(', ')}`);
  }
  const { backend, network } = await loadEngine({
    model: request.model,
    modelsDir: request.modelsDir,
    seed: DEFAULTS.seed,
    backend: request.backend,
    threads: request.threads,
  });
  hooks.engine?.(backend.name, network.description);
  try {
    if (request.kind === 'stroke') {
      const cache = createPainterCache(path.join(request.dataDir, 'painters'), { ...(hooks.warn ? { warn: hooks.warn } : {}), ...(request.fresh ? {} : { shipped: SHIPPED_PAINTERS_DIR }) });
      return await trainStrokePainter(network, styles, cache, request, hooks);
    }
    return await trainWith(network, styles, request, hooks);
  } finally {
    network.dispose();
  }
}

function checkSteps(request: TrainPainterRequest): void {
  if (!(request.steps >= 1 && request.steps <= 100_000)) throw new BadInputError('--steps must be between 1 and 100000');
  if (request.upTo !== undefined && !(request.upTo >= 1 && request.upTo <= 1_000_000)) throw new BadInputError('--up-to must be between 1 and 1000000');
}

/** The painter for the style, opened (or fresh), trained the steps it still needs, and kept. */
async function trainWith(network: FeatureNetwork, styles: StyleLibrary, request: TrainPainterRequest, hooks: TrainPainterHooks): Promise<TrainPainterResult> {
  // The stream it is for (16:9 at size) and the size its painter trains at, as live-painter.ts does.
  const work = sizeForShortSide({ width: 16, height: 9 }, request.size ?? SERVER_DEFAULTS.liveSize);
  const size = trainingSize(work, network.minSide);
  const samples = request.clips ? await clipTrainingSamples(request.clips, size) : await shippedTrainingSamples(size);
  const style = await styles.decoded(request.style, Math.max(network.minSide, Math.round(Math.max(work.width, work.height) / 2)), network.minSide);
  // A built-in painting goes on from the painter shipped for it (unless fresh); what it learns is kept in the data directory.
  const cache = createPainterCache(path.join(request.dataDir, 'painters'), { ...(hooks.warn ? { warn: hooks.warn } : {}), ...(request.fresh ? {} : { shipped: SHIPPED_PAINTERS_DIR }) });
  // The key a live stream in this style with the default weights uses (stream-process-main.ts).
  const what: PainterFor = {
    styleBytes: (await styles.image(request.style)).bytes,
    styleName: request.style,
    network: network.name,
    ...DEFAULT_COST_WEIGHTS,
    preserveColors: false,
  };
  const { painter, meta, learned } = request.fresh ? freshPainter(what) : await cache.open(what);
  const head = { style: request.style, model: network.name };
  try {
    const stepsHere = request.upTo === undefined ? request.steps : Math.max(0, Math.min(request.steps, request.upTo - meta.steps));
    if (stepsHere === 0) {
      return { ...head, steps: meta.steps, framesSeen: meta.framesSeen, skipped: `it has ${meta.steps} steps (--up-to ${request.upTo})`, readyForLive: meta.steps >= LIVE_PAINTER.minSteps };
    }
    const loss = await runSteps({ network, painter, style, samples, what, resumed: learned, steps: stepsHere }, hooks);
    const steps = meta.steps + stepsHere;
    const framesSeen = meta.framesSeen + samples.length;
    await cache.save(what, painter, { ...meta, steps, framesSeen, loss });
    return { ...head, steps, framesSeen, loss, trainedAt: `${size.width}x${size.height}`, dir: cache.dir, readyForLive: steps >= LIVE_PAINTER.minSteps };
  } finally {
    painter.dispose();
  }
}

interface Lesson {
  network: FeatureNetwork;
  painter: PainterNet;
  style: RgbImage;
  samples: readonly TrainingSample[];
  what: PainterFor;
  /** A painter trained before: its new optimiser ramps up (RESUME_WARM_UP_STEPS). */
  resumed: boolean;
  steps: number;
}

/** `steps` training steps with the live painter's settings; resolves with the last step's loss. */
async function runSteps(lesson: Lesson, hooks: TrainPainterHooks): Promise<number> {
  const trainer = createPainterTrainer(lesson.network, lesson.painter, lesson.style, {
    contentWeight: lesson.what.contentWeight,
    styleWeight: lesson.what.styleWeight,
    temporalWeight: LIVE_PAINTER.temporalWeight,
    learningRate: LIVE_PAINTER.learningRate,
    ...(lesson.resumed ? { warmUpSteps: RESUME_WARM_UP_STEPS } : {}),
  });
  const progress = hooks.progress?.(lesson.steps);
  const { samples } = lesson;
  let loss = Number.NaN;
  try {
    for (let s = 0; s < lesson.steps; s++) {
      const batch = Array.from({ length: LIVE_PAINTER.batch }, (_, k) => samples[(s * LIVE_PAINTER.batch + k * 7) % samples.length]!);
      loss = (await trainer.step(batch)).total;
      progress?.update(s + 1, loss);
    }
  } finally {
    progress?.stop();
    trainer.dispose();
  }
  return loss;
}
