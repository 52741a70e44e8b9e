/**
 * The optimiser's steps on one frame: the stepper (Adam or L-BFGS) moves the picture's parameters
 * to lower J = α·J_content + β·J_style + τ·J_tv + w·J_temporal, pixels clipped to [0, 1] after
 * each step, until the steps are done or the frame's time budget is spent.
 */
import * as tf from '@tensorflow/tfjs-core';
import { DisposedError } from './engine-errors.js';
import { contentCost, styleLayerCostFromGram, temporalCost, totalCost, totalVariationCost, weightedSum } from './losses.js';
import type { ImageParameters } from './image-parameters.js';
import { tensorToImage } from './image.js';
import type { FeatureNetwork } from './networks/network.js';
import { stepSize, type OptimiserRecipe } from './optimiser-recipe.js';
import type { Stepper } from './steppers.js';
import type { CostWeights, Costs, StylizeFrameOptions } from './stylizer-types.js';

/** What the steps pull the image towards; every tensor is owned by the caller. */
export interface StepTargets {
  /** Content activations of this frame, by layer. */
  content: ReadonlyMap<string, tf.Tensor4D>;
  /** Style Gram targets at this frame's layer sizes, by layer. */
  style: ReadonlyMap<string, tf.Tensor2D>;
  /** Ruder et al.'s temporal term: the previous output carried here and its per-pixel weight (weight 0: off). */
  temporal: { image: tf.Tensor4D; mask: tf.Tensor4D; weight: number } | undefined;
}

export interface StepRun {
  /** Costs at the last step (NaN when none ran). */
  costs: Costs;
  steps: number;
  elapsedMs: number;
}

/** `isDisposed`: the stylizer was disposed (checked between two steps). */
export async function runSteps(
  network: FeatureNetwork,
  parameters: ImageParameters,
  stepper: Stepper,
  targets: StepTargets,
  weights: CostWeights,
  { recipe, lr }: { recipe: OptimiserRecipe; lr: number },
  options: Pick<StylizeFrameOptions, 'steps' | 'stopAfterMs' | 'onStep'>,
  isDisposed: () => boolean,
): Promise<StepRun> {
  const costs: Costs = { total: Number.NaN, content: Number.NaN, style: Number.NaN, tv: Number.NaN, temporal: 0 };
  const started = performance.now();
  let stepsRun = 0;
  for (let step = 1; step <= options.steps; step++) {
    if (isDisposed()) throw new DisposedError('stylizer'); // disposed between two steps
    if (step > 1 && options.stopAfterMs !== undefined && performance.now() - started >= options.stopAfterMs) break;
    stepsRun = step;
    stepper.setLearningRate(stepSize(recipe, lr, step));
    let parts: tf.Scalar[] = [];
    const total = stepper.step(parameters, () => {
      const cost = stepCost(network, parameters.render(), targets, weights);
      parts = cost.parts.map((p) => tf.keep(p));
      return cost.total;
    });
    Object.assign(costs, await readCosts(total, parts));
    await options.onStep?.(step, { ...costs }, { picture: () => tensorToImage(parameters.picture) });
    // wasm math runs on this thread: let sockets and timers in between steps.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { costs, steps: stepsRun, elapsedMs: performance.now() - started };
}

/** J for the image as it is, and its parts [J_content, J_style, J_tv, J_temporal] (inside the optimiser's tape). */
function stepCost(network: FeatureNetwork, image: tf.Tensor4D, targets: StepTargets, weights: CostWeights): { total: tf.Scalar; parts: tf.Scalar[] } {
  const features = network.extract(image, [...network.contentLayers, ...network.styleLayers].map((l) => l.name));
  const jContent = weightedSum(
    network.contentLayers.map((l) => contentCost(targets.content.get(l.name)!, features[l.name]!)),
    network.contentLayers.map((l) => l.weight),
  );
  const jStyle = weightedSum(
    network.styleLayers.map((l) => styleLayerCostFromGram(targets.style.get(l.name)!, features[l.name]!)),
    network.styleLayers.map((l) => l.weight),
  );
  const jTv = weights.tvWeight > 0 ? totalVariationCost(image) : tf.scalar(0);
  const temporal = targets.temporal;
  const temporalWeight = temporal?.weight ?? 0;
  const jTemporal = temporal && temporalWeight > 0 ? temporalCost(image, temporal.image, temporal.mask) : tf.scalar(0);
  const total = tf.addN([
    totalCost(jContent, jStyle, weights.contentWeight, weights.styleWeight),
    tf.mul(jTv, weights.tvWeight),
    tf.mul(jTemporal, temporalWeight),
  ]) as tf.Scalar;
  return { total, parts: [jContent, jStyle, jTv, jTemporal] };
}

/** Reads a step's costs and frees its scalars. */
async function readCosts(total: tf.Scalar, parts: tf.Scalar[]): Promise<Costs> {
  const [t, c, s, v, tm] = await Promise.all([total, ...parts].map((x) => x.data()));
  total.dispose();
  parts.forEach((p) => p.dispose());
  return { total: t![0]!, content: c![0]!, style: s![0]!, tv: v![0]!, temporal: tm![0]! };
}
