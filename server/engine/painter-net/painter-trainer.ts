/**
 * Teaches a painter one style, on the fly, with the optimiser's own objective (Johnson et al.'s
 * perceptual loss): for each training frame x, with P = painter(x),
 *   J = α·J_content(features(x), features(P)) + β·J_style(Gram targets, features(P)) + tv·J_tv(P)
 * — the same cost functions, layers and weights the per-frame optimiser minimises, so the painter
 * is judged by the same objective and can seed (or stand in for) the optimisation.
 * Adam on the painter's weights; the feature network stays frozen.
 * With the frame before each training frame, a temporal term (Ruder et al.'s, as the optimiser's)
 * holds P(x_t) to P(x_{t−1}) carried along the optical flow where the motion is trusted, so the
 * painter itself paints a video steadily. The carried painting is a fixed target for the step.
 */
import * as tf from '@tensorflow/tfjs-core';
import { imageToTensor, type RgbImage } from '../image.js';
import { followMotion } from '../follow-motion.js';
import { contentCost, gramMatrix, styleLayerCostFromGram, temporalCost, totalCost, totalVariationCost, weightedSum } from '../losses.js';
import type { FeatureNetwork } from '../networks/network.js';
import { BLOCK } from './painter-layers.js';
import type { PainterNet } from './painter-net.js';

export interface PainterTrainerOptions {
  contentWeight: number;
  styleWeight: number;
  tvWeight?: number;
  /** Weight of the temporal term (0: off); it needs the previous frames in step(). */
  temporalWeight?: number;
  learningRate?: number;
  /**
   * Ramp the learning rate up linearly over this many steps (0: none). For a painter that has
   * been trained before: a fresh Adam's first steps move every weight by about the full learning
   * rate (its moments are unset, so each step is ~lr·sign(g)), which undid a kept painter — style
   * match 89 % → 20 % in a few steps (bench quality --long --configs live-painter --reuse-painter).
   */
  warmUpSteps?: number;
}

/** Steps a kept painter's new trainer ramps its learning rate over (PainterTrainerOptions.warmUpSteps). */
export const RESUME_WARM_UP_STEPS = 30;

export interface PainterLoss {
  total: number;
  content: number;
  style: number;
  /** 0 without previous frames or temporal weight. */
  temporal: number;
}

/** A training frame, and the frame before it in its video (for the temporal term). */
export interface TrainingSample {
  frame: RgbImage;
  previous?: RgbImage;
  /**
   * evaluate() only: score this picture of the frame instead of the painter's (e.g. what the
   * optimiser painted), by the same objective, so the two can be compared.
   */
  picture?: RgbImage;
}

export interface PainterTrainer {
  /** One Adam step on these frames (their mean loss); resolves with the loss before the step. */
  step(samples: readonly (RgbImage | TrainingSample)[]): Promise<PainterLoss>;
  /** The mean loss of the painter's output on these frames (no training). */
  evaluate(samples: readonly (RgbImage | TrainingSample)[]): Promise<PainterLoss>;
  /** Steps taken so far. */
  readonly steps: number;
  dispose(): void;
}

/** What the trainer's loss needs: the frozen loss network, the painter, the style's per-pixel Grams. */
interface Objective {
  network: FeatureNetwork;
  painter: PainterNet;
  perPixelGrams: Record<string, tf.Tensor2D>;
  options: PainterTrainerOptions;
}

/** For a sample with a previous frame: its painting carried to this frame, and where the motion is trusted. */
type TemporalTarget = { warped: tf.Tensor4D; mask: tf.Tensor4D } | undefined;

export function createPainterTrainer(network: FeatureNetwork, painter: PainterNet, style: RgbImage, options: PainterTrainerOptions): PainterTrainer {
  const learningRate = options.learningRate ?? 1e-3;
  const optimizer = tf.train.adam(learningRate);
  /** tfjs's Adam reads its (protected) learningRate on every step: the warm-up sets it. */
  const adjustable = optimizer as unknown as { learningRate: number };
  const objective: Objective = { network, painter, perPixelGrams: styleGramsPerPixel(network, style), options };
  let steps = 0;

  return {
    async step(given) {
      const samples = asSamples(given);
      if (samples.some((s) => s.picture)) throw new RangeError('training samples carry no picture (evaluate() scores pictures)');
      const warmUp = options.warmUpSteps ?? 0;
      adjustable.learningRate = warmUp > 0 ? learningRate * Math.min(1, (steps + 1) / warmUp) : learningRate;
      const scalars = trainStep(objective, optimizer, samples);
      steps++;
      const loss = await read(scalars);
      // wasm math runs on this thread: let sockets and timers in between steps.
      await new Promise((resolve) => setImmediate(resolve));
      return loss;
    },
    async evaluate(given) {
      const samples = asSamples(given);
      const targets = temporalTargets(objective, samples);
      const scalars = tf.tidy(() => losses(objective, samples, targets));
      disposeTargets(targets);
      return read(scalars);
    },
    get steps() {
      return steps;
    },
    dispose() {
      optimizer.dispose();
      for (const g of Object.values(objective.perPixelGrams)) g.dispose();
    },
  };
}

/** The style's Gram per pixel (as the stylizer takes it), rescaled to each frame's layer sizes in losses(). */
function styleGramsPerPixel(network: FeatureNetwork, style: RgbImage): Record<string, tf.Tensor2D> {
  return tf.tidy(() => {
    const activations = network.extract(imageToTensor(style), network.styleLayers.map((l) => l.name));
    const out: Record<string, tf.Tensor2D> = {};
    for (const [name, a] of Object.entries(activations)) out[name] = tf.div(gramMatrix(a), a.shape[1] * a.shape[2]) as tf.Tensor2D;
    return out;
  });
}

/** One Adam step on the painter's weights; returns the loss before the step ([J, J_content, J_style, J_temporal], for read()). */
function trainStep(objective: Objective, optimizer: tf.AdamOptimizer, samples: readonly TrainingSample[]): tf.Scalar[] {
  const targets = temporalTargets(objective, samples);
  let parts: tf.Scalar[] = [];
  const cost = optimizer.minimize(
    () => {
      const [total, content, style, temporal] = losses(objective, samples, targets);
      parts = [tf.keep(total!.clone()), tf.keep(content!), tf.keep(style!), tf.keep(temporal!)];
      return total!;
    },
    false,
    objective.painter.variables as tf.Variable[],
  );
  cost?.dispose();
  disposeTargets(targets);
  return parts;
}

/**
 * For each sample with a previous frame: the painting of that frame carried to this one along
 * the flow, and where the motion is trusted (repeated over the channels, as the optimiser does).
 */
function temporalTargets({ painter, options }: Objective, samples: readonly TrainingSample[]): TemporalTarget[] {
  return samples.map((sample) => {
    if (!sample.previous || (options.temporalWeight ?? 0) <= 0) return undefined;
    return tf.tidy(() => {
      const previous = imageToTensor(sample.previous!);
      const followed = followMotion(previous, imageToTensor(sample.frame), painter.apply(previous));
      return { warped: followed.warped, mask: tf.conv2d(followed.mask, tf.ones([1, 1, 1, 3]) as tf.Tensor4D, 1, 'valid') };
    });
  });
}

/** Sum over the frames of [J, J_content, J_style, J_temporal], each divided by the frame count. */
function losses(objective: Objective, samples: readonly TrainingSample[], temporal: readonly TemporalTarget[]): tf.Scalar[] {
  const parts = samples.map((sample, i) => sampleLosses(objective, sample, temporal[i]));
  return [0, 1, 2, 3].map((i) => tf.div(tf.addN(parts.map((p) => p[i]!)), samples.length) as tf.Scalar);
}

/** [J, J_content, J_style, J_temporal] of one frame: the painter's picture of it, or the sample's own. */
function sampleLosses({ network, painter, perPixelGrams, options }: Objective, { frame, picture }: TrainingSample, target: TemporalTarget): tf.Scalar[] {
  if (frame.width % BLOCK || frame.height % BLOCK) throw new RangeError(`training frames must be multiples of ${BLOCK} pixels, got ${frame.width}×${frame.height}`);
  const contentNames = network.contentLayers.map((l) => l.name);
  const photo = imageToTensor(frame);
  const targets = network.extract(photo, contentNames);
  if (picture && (picture.width !== frame.width || picture.height !== frame.height)) throw new RangeError('a picture to score must be its frame\'s size');
  const painting = picture ? imageToTensor(picture) : painter.apply(photo);
  const features = network.extract(painting, [...contentNames, ...network.styleLayers.map((l) => l.name)]);
  const jContent = weightedSum(
    network.contentLayers.map((l) => contentCost(targets[l.name]!, features[l.name]!)),
    network.contentLayers.map((l) => l.weight),
  );
  const jStyle = weightedSum(
    network.styleLayers.map((l) => {
      const a = features[l.name]!;
      return styleLayerCostFromGram(tf.mul(perPixelGrams[l.name]!, a.shape[1] * a.shape[2]) as tf.Tensor2D, a);
    }),
    network.styleLayers.map((l) => l.weight),
  );
  let total = totalCost(jContent, jStyle, options.contentWeight, options.styleWeight);
  if ((options.tvWeight ?? 0) > 0) total = tf.add(total, tf.mul(totalVariationCost(painting), options.tvWeight!));
  const jTemporal = target ? temporalCost(painting, target.warped, target.mask) : tf.scalar(0);
  if (target) total = tf.add(total, tf.mul(jTemporal, options.temporalWeight ?? 0));
  return [total, jContent, jStyle, jTemporal];
}

function asSamples(samples: readonly (RgbImage | TrainingSample)[]): TrainingSample[] {
  return samples.map((s) => ('frame' in s ? s : { frame: s }));
}

function disposeTargets(targets: readonly TemporalTarget[]): void {
  for (const t of targets) if (t) tf.dispose([t.warped, t.mask]);
}

async function read(scalars: tf.Scalar[]): Promise<PainterLoss> {
  const [total, content, style, temporal] = await Promise.all(scalars.map(async (s) => (await s.data())[0]!));
  scalars.forEach((s) => s.dispose());
  return { total: total!, content: content!, style: style!, temporal: temporal! };
}
