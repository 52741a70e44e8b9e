/**
 * Teaches a painter one style, on the fly, with the optimiser's own objective (Johnson et al.'s
 * perceptual loss): for each training frame x, with P = painter(x),
 *   J = α·J_content(features(x), features(P)) + β·J_style(Gram targets, features(P)) + tv·J_tv(P)
 * — the same cost functions, layers and weights the per-frame optimiser minimises, so the painter
 * is judged by the same objective and can seed (or stand in for) the optimisation.
 * Adam on the painter's weights; the feature network stays frozen.
 */
import * as tf from '@tensorflow/tfjs-core';
import { imageToTensor, type RgbImage } from '../image.js';
import { contentCost, gramMatrix, styleLayerCostFromGram, totalCost, totalVariationCost, weightedSum } from '../losses.js';
import type { FeatureNetwork } from '../networks/network.js';
import { BLOCK } from './painter-layers.js';
import type { PainterNet } from './painter-net.js';

export interface PainterTrainerOptions {
  contentWeight: number;
  styleWeight: number;
  tvWeight?: number;
  learningRate?: number;
}

export interface PainterLoss {
  total: number;
  content: number;
  style: number;
}

export interface PainterTrainer {
  /** One Adam step on these frames (their mean loss); resolves with the loss before the step. */
  step(frames: readonly RgbImage[]): Promise<PainterLoss>;
  /** The mean loss of the painter's output on these frames (no training). */
  evaluate(frames: readonly RgbImage[]): Promise<PainterLoss>;
  /** Steps taken so far. */
  readonly steps: number;
  dispose(): void;
}

export function createPainterTrainer(network: FeatureNetwork, painter: PainterNet, style: RgbImage, options: PainterTrainerOptions): PainterTrainer {
  const contentNames = network.contentLayers.map((l) => l.name);
  const styleNames = network.styleLayers.map((l) => l.name);
  const optimizer = tf.train.adam(options.learningRate ?? 1e-3);
  // The style's Gram per pixel (as the stylizer takes it), rescaled to each frame's layer sizes.
  const perPixelGrams = tf.tidy(() => {
    const activations = network.extract(imageToTensor(style), styleNames);
    const out: Record<string, tf.Tensor2D> = {};
    for (const [name, a] of Object.entries(activations)) out[name] = tf.div(gramMatrix(a), a.shape[1] * a.shape[2]) as tf.Tensor2D;
    return out;
  });
  let steps = 0;

  /** Sum over the frames of [J, J_content, J_style], each divided by the frame count. */
  function losses(frames: readonly RgbImage[]): tf.Scalar[] {
    const parts = frames.map((frame) => {
      if (frame.width % BLOCK || frame.height % BLOCK) throw new RangeError(`training frames must be multiples of ${BLOCK} pixels, got ${frame.width}×${frame.height}`);
      const photo = imageToTensor(frame);
      const targets = network.extract(photo, contentNames);
      const painting = painter.apply(photo);
      const features = network.extract(painting, [...contentNames, ...styleNames]);
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
      return [total, jContent, jStyle];
    });
    return [0, 1, 2].map((i) => tf.div(tf.addN(parts.map((p) => p[i]!)), frames.length) as tf.Scalar);
  }

  async function read(scalars: tf.Scalar[]): Promise<PainterLoss> {
    const [total, content, style] = await Promise.all(scalars.map(async (s) => (await s.data())[0]!));
    scalars.forEach((s) => s.dispose());
    return { total: total!, content: content!, style: style! };
  }

  return {
    async step(frames) {
      let parts: tf.Scalar[] = [];
      const cost = optimizer.minimize(
        () => {
          const [total, content, style] = losses(frames);
          parts = [tf.keep(total!.clone()), tf.keep(content!), tf.keep(style!)];
          return total!;
        },
        false,
        painter.variables as tf.Variable[],
      );
      cost?.dispose();
      steps++;
      const loss = await read(parts);
      // wasm math runs on this thread: let sockets and timers in between steps.
      await new Promise((resolve) => setImmediate(resolve));
      return loss;
    },
    async evaluate(frames) {
      return read(tf.tidy(() => losses(frames)));
    },
    get steps() {
      return steps;
    },
    dispose() {
      optimizer.dispose();
      for (const g of Object.values(perPixelGrams)) g.dispose();
    },
  };
}
