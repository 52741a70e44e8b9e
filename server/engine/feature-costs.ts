/**
 * The engine's content and style costs (losses.ts) between two real pictures, per layer: a
 * fixed yardstick for "do these two feature networks see the same thing?", used to check that
 * weights stored at lower precision (float16) still give the costs the originals give.
 * Content: J_content(photo, painting) on the content layers. Style: J_style^l between the
 * painting's and the photo's Gram matrices on the style layers. Both weighted as the net says.
 */
import * as tf from '@tensorflow/tfjs-core';
import { imageToTensor, type RgbImage } from './image.js';
import { contentCost, layerStyleCost } from './losses.js';
import type { FeatureNetwork } from './networks/network.js';

export interface FeatureCosts {
  /** Σ_l λ_l J_content^l over the content layers. */
  content: number;
  /** Σ_l λ_l J_style^l over the style layers. */
  style: number;
  /** Unweighted cost of each layer (content layers first, as `content:<layer>` / `style:<layer>`). */
  layers: Record<string, number>;
}

export function measureFeatureCosts(network: FeatureNetwork, photo: RgbImage, painting: RgbImage): FeatureCosts {
  if (photo.width !== painting.width || photo.height !== painting.height) {
    throw new RangeError(`photo ${photo.width}×${photo.height} and painting ${painting.width}×${painting.height} must be the same size`);
  }
  const names = [...new Set([...network.contentLayers, ...network.styleLayers].map((l) => l.name))];
  const values = tf.tidy(() => {
    const p = network.extract(imageToTensor(photo), names);
    const s = network.extract(imageToTensor(painting), names);
    const content = network.contentLayers.map((l) => contentCost(p[l.name]!, s[l.name]!));
    const style = network.styleLayers.map((l) => layerStyleCost(s[l.name]!, p[l.name]!));
    return tf.stack([...content, ...style]);
  });
  const costs = Array.from(values.dataSync());
  values.dispose();
  const layers: Record<string, number> = {};
  let content = 0;
  let style = 0;
  network.contentLayers.forEach((l, i) => {
    layers[`content:${l.name}`] = costs[i]!;
    content += l.weight * costs[i]!;
  });
  network.styleLayers.forEach((l, i) => {
    const cost = costs[network.contentLayers.length + i]!;
    layers[`style:${l.name}`] = cost;
    style += l.weight * cost;
  });
  return { content, style, layers };
}

/** |a − b| / |b| for every cost of `a` and `b` (b the reference), and the largest of them. */
export function relativeCostErrors(a: FeatureCosts, b: FeatureCosts): { errors: Record<string, number>; max: number } {
  const errors: Record<string, number> = {
    content: relative(a.content, b.content),
    style: relative(a.style, b.style),
  };
  for (const [name, value] of Object.entries(b.layers)) errors[name] = relative(a.layers[name] ?? Number.NaN, value);
  const max = Math.max(...Object.values(errors).map((e) => (Number.isNaN(e) ? Number.POSITIVE_INFINITY : e)));
  return { errors, max };
}

function relative(value: number, reference: number): number {
  return reference === 0 ? Math.abs(value) : Math.abs(value - reference) / Math.abs(reference);
}
