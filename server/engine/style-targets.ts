/**
 * The style half of the stylizer's objective: the style images' Gram matrices, computed once per
 * style (and colour space), mixed by the styles' weights, then scaled to each frame size's layers.
 * Owns those tensors: drop() frees them.
 */
import * as tf from '@tensorflow/tfjs-core';
import { colourStats, mixColourStats, type ColourStats } from './colour-transfer.js';
import { imageToTensor } from './image.js';
import { gramMatrix } from './losses.js';
import type { FeatureNetwork } from './networks/network.js';
import type { StyleImage } from './stylizer-types.js';

export interface StyleTargets {
  /** New styles (already checked): the computed targets go. */
  set(styles: readonly StyleImage[]): void;
  /**
   * The Gram targets for a frame whose style layers have these shapes ([1, h, w, c]); kept while
   * `frameKey` (the frame's size) stays the same. Owned here: callers do not dispose them.
   */
  at(layerShapes: ReadonlyMap<string, readonly number[]>, frameKey: string): Map<string, tf.Tensor2D>;
  /** The styles' pooled colour mean and covariance (a cold start's colours); kept until set(). */
  colours(): ColourStats;
  /** Forgets the computed targets (the colour space changed, or the stylizer is freed). */
  drop(): void;
}

/** `netInput`: what the network sees of an image now (its luminance in colour-preserving mode). */
export function createStyleTargets(network: FeatureNetwork, netInput: (rgb: tf.Tensor4D) => tf.Tensor4D): StyleTargets {
  let styles: readonly StyleImage[] = [];
  /** Per-pixel style Grams Ĝ = G / (nH·nW), one per style layer, mixed over the styles. */
  let perPixel: Map<string, tf.Tensor2D> | undefined;
  /** Ĝ scaled to the current frame's layer sizes, keyed by frame size. */
  let scaled: { key: string; grams: Map<string, tf.Tensor2D> } | undefined;
  let colours: ColourStats | undefined;

  function drop(): void {
    for (const g of perPixel?.values() ?? []) g.dispose();
    for (const g of scaled?.grams.values() ?? []) g.dispose();
    perPixel = undefined;
    scaled = undefined;
  }

  return {
    set(next) {
      styles = [...next];
      colours = undefined;
      drop();
    },
    colours() {
      if (styles.length === 0) throw new RangeError('setStyle() must be called before stylizeFrame()');
      const total = styles.reduce((sum, s) => sum + (s.weight ?? 1), 0);
      colours ??= mixColourStats(styles.map((s) => ({ stats: colourStats(s.image.data), share: (s.weight ?? 1) / total })));
      return colours;
    },
    at(layerShapes, frameKey) {
      if (scaled?.key === frameKey) return scaled.grams;
      perPixel ??= perPixelGrams(network, styles, netInput);
      for (const g of scaled?.grams.values() ?? []) g.dispose();
      const grams = new Map<string, tf.Tensor2D>();
      for (const [name, gram] of perPixel) {
        const [, h, w] = layerShapes.get(name)!;
        grams.set(name, tf.tidy(() => tf.mul(gram, h! * w!)));
      }
      scaled = { key: frameKey, grams };
      return grams;
    },
    drop,
  };
}

function perPixelGrams(network: FeatureNetwork, styles: readonly StyleImage[], netInput: (rgb: tf.Tensor4D) => tf.Tensor4D): Map<string, tf.Tensor2D> {
  if (styles.length === 0) throw new RangeError('setStyle() must be called before stylizeFrame()');
  const styleNames = network.styleLayers.map((l) => l.name);
  const total = styles.reduce((sum, s) => sum + (s.weight ?? 1), 0);
  const grams = tf.tidy(() => {
    const mixed: Record<string, tf.Tensor2D> = {};
    for (const style of styles) {
      const share = (style.weight ?? 1) / total;
      const activations = network.extract(netInput(imageToTensor(style.image)), styleNames);
      for (const [name, a] of Object.entries(activations)) {
        // Where we differ from the seed: the style Gram is taken per pixel, then rescaled to the
        // generated image's pixel count, so a style image of any size gives the same target.
        const gram = tf.mul(gramMatrix(a), share / (a.shape[1] * a.shape[2])) as tf.Tensor2D;
        const previous = mixed[name];
        mixed[name] = previous ? tf.add(previous, gram) : gram;
      }
    }
    return mixed;
  });
  return new Map(Object.entries(grams));
}
