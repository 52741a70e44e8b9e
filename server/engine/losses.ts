/**
 * The seed's cost functions, exactly, as small pure functions of tensors (NHWC, batch 1).
 *   J_content = 1/(4·nH·nW·nC) · Σ (a_C − a_G)²
 *   G = A·Aᵀ, A of shape (nC, nH·nW)
 *   J_style^l = 1/(4·nC²·(nH·nW)²) · Σ (G_S − G_G)²
 *   J_style = Σ_l λ_l · J_style^l
 *   J = α·J_content + β·J_style
 * The optimiser uses `styleLayerCostFromGram`, the same J_style^l with a fast gradient
 * (see gradients.ts); `layerStyleCost` is the literal form, kept for tests and clarity.
 */
import * as tf from '@tensorflow/tfjs-core';
import { gramOfFeatures, gramStyleCost } from './gradients.js';

export function contentCost(aC: tf.Tensor4D, aG: tf.Tensor4D): tf.Scalar {
  const [, nH, nW, nC] = aG.shape;
  return tf.div(tf.sum(tf.squaredDifference(aC, aG)), 4 * nH * nW * nC);
}

/** Gram of a layer's activations: G = A·Aᵀ with A = (nC, nH·nW). */
export function gramMatrix(activation: tf.Tensor4D): tf.Tensor2D {
  const [, nH, nW, nC] = activation.shape;
  return gramOfFeatures(tf.reshape(activation, [nH * nW, nC]));
}

export function styleLayerCoefficient(shape: readonly number[]): number {
  const [, nH, nW, nC] = shape as [number, number, number, number];
  return 1 / (4 * nC * nC * (nH * nW) ** 2);
}

export function layerStyleCost(aS: tf.Tensor4D, aG: tf.Tensor4D): tf.Scalar {
  const diff = tf.sub(gramMatrix(aS), gramMatrix(aG));
  return tf.mul(tf.sum(tf.square(diff)), styleLayerCoefficient(aG.shape));
}

/** J_style^l against a precomputed target Gram, with the fast gradient. */
export function styleLayerCostFromGram(targetGram: tf.Tensor2D, aG: tf.Tensor4D): tf.Scalar {
  return gramStyleCost(aG, targetGram, styleLayerCoefficient(aG.shape));
}

export function weightedSum(costs: readonly tf.Scalar[], weights: readonly number[]): tf.Scalar {
  if (costs.length !== weights.length) throw new RangeError('one weight per cost');
  if (costs.length === 0) return tf.scalar(0);
  return tf.addN(costs.map((cost, i) => tf.mul(cost, weights[i]!))) as tf.Scalar;
}

export function totalCost(jContent: tf.Scalar, jStyle: tf.Scalar, alpha: number, beta: number): tf.Scalar {
  return tf.add(tf.mul(jContent, alpha), tf.mul(jStyle, beta));
}

/**
 * Total variation (our addition; the seed has none): mean squared difference between
 * neighbouring pixels, J_tv = (Σ (x[i+1,j]−x[i,j])² + Σ (x[i,j+1]−x[i,j])²) / (H·W·C).
 */
export function totalVariationCost(image: tf.Tensor4D): tf.Scalar {
  const [, h, w, c] = image.shape;
  const down = tf.sub(tf.slice(image, [0, 1, 0, 0], [1, h - 1, w, c]), tf.slice(image, [0, 0, 0, 0], [1, h - 1, w, c]));
  const right = tf.sub(tf.slice(image, [0, 0, 1, 0], [1, h, w - 1, c]), tf.slice(image, [0, 0, 0, 0], [1, h, w - 1, c]));
  return tf.div(tf.add(tf.sum(tf.square(down)), tf.sum(tf.square(right))), h * w * c);
}

/**
 * Ruder et al. 2016's short-term temporal loss: J_temporal = 1/D · Σ c·(x − w)², with w the
 * previous output warped to this frame, c the occlusion mask (0 or 1; [1,H,W,1], or repeated
 * over the channels, which is faster on wasm), D = H·W·C.
 * Where we differ: pixels are taken on Ruder's 0–255 scale (our images are 0–1), so a weight
 * means what it means in their paper.
 */
export function temporalCost(image: tf.Tensor4D, warped: tf.Tensor4D, mask: tf.Tensor4D): tf.Scalar {
  const [, h, w, c] = image.shape;
  return tf.div(tf.sum(tf.mul(tf.squaredDifference(image, warped), mask)), (h * w * c) / (255 * 255));
}
