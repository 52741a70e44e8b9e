/**
 * What the optimiser needs from a feature network, whichever one it is.
 */
import type * as tf from '@tensorflow/tfjs-core';

/** Activations by layer name (a plain object, so tf.tidy keeps what it returns). */
export type LayerOutputs = Record<string, tf.Tensor4D>;

export interface WeightedLayer {
  readonly name: string;
  readonly weight: number;
}

export interface FeatureNetwork {
  /** 'vgg19' or 'random-multiscale'. */
  readonly name: string;
  /** One line for logs: what is loaded and which layers are used. */
  readonly description: string;
  /** Smallest width or height (pixels) the network can take. */
  readonly minSide: number;
  readonly contentLayers: readonly WeightedLayer[];
  readonly styleLayers: readonly WeightedLayer[];
  /**
   * Differentiable forward pass. `image` is RGB in [0, 1], shape [1, H, W, 3]; returns the
   * activations of `layers` (NHWC), computing no deeper than the deepest one asked for.
   */
  extract(image: tf.Tensor4D, layers: readonly string[]): LayerOutputs;
  /** Analytic multiply-adds ×2 of one forward pass to the deepest of `layers` at h×w. */
  forwardFlops(height: number, width: number, layers: readonly string[]): number;
  dispose(): void;
}

/** Equal weights summing to 1, as the seed's 0.2 × 5. */
export function equalWeights(names: readonly string[]): WeightedLayer[] {
  return names.map((name) => ({ name, weight: 1 / names.length }));
}
