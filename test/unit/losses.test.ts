/** The seed's cost functions against values worked out by hand. */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  contentCost,
  gramMatrix,
  layerStyleCost,
  styleLayerCoefficient,
  styleLayerCostFromGram,
  temporalCost,
  totalCost,
  totalVariationCost,
  weightedSum,
} from '../../server/engine/losses.js';
import { useWasm } from '../helpers/backend.js';

beforeAll(useWasm);

const value = (t: tf.Tensor): number => t.dataSync()[0]!;

describe('contentCost', () => {
  it('is Σ(a_C − a_G)² / (4·nH·nW·nC)', () => {
    // nH=1, nW=1, nC=2: (1−3)² + (2−5)² = 13; 13 / (4·1·1·2) = 1.625
    const aC = tf.tensor4d([1, 2], [1, 1, 1, 2]);
    const aG = tf.tensor4d([3, 5], [1, 1, 1, 2]);
    expect(value(contentCost(aC, aG))).toBeCloseTo(1.625, 6);
  });

  it('is zero for identical activations and grows with the difference', () => {
    const a = tf.tensor4d([1, 2, 3, 4], [1, 2, 1, 2]);
    expect(value(contentCost(a, a))).toBe(0);
    // 4 elements differ by 1: 4 / (4·2·1·2) = 0.25
    expect(value(contentCost(a, tf.add(a, 1)))).toBeCloseTo(0.25, 6);
  });
});

describe('gramMatrix', () => {
  it('is A·Aᵀ with A = (nC, nH·nW)', () => {
    // Pixels (1,2) and (3,4): A = [[1,3],[2,4]], A·Aᵀ = [[10,14],[14,20]]
    const a = tf.tensor4d([1, 2, 3, 4], [1, 1, 2, 2]);
    expect(Array.from(gramMatrix(a).dataSync())).toEqual([10, 14, 14, 20]);
  });
});

describe('layer style cost', () => {
  const aS = (): tf.Tensor4D => tf.tensor4d([1, 2, 3, 4], [1, 1, 2, 2]);
  const aG = (): tf.Tensor4D => tf.zeros([1, 1, 2, 2]);

  it('is Σ(G_S − G_G)² / (4·nC²·(nH·nW)²)', () => {
    // G_S = [[10,14],[14,20]], G_G = 0: (100+196+196+400) / (4·4·4) = 892/64
    expect(styleLayerCoefficient([1, 1, 2, 2])).toBeCloseTo(1 / 64, 12);
    expect(value(layerStyleCost(aS(), aG()))).toBeCloseTo(892 / 64, 4);
  });

  it('gives the same value from a precomputed target Gram', () => {
    const g = tf.tensor4d([0.5, -1, 2, 0.25], [1, 1, 2, 2]);
    expect(value(styleLayerCostFromGram(gramMatrix(aS()), g))).toBeCloseTo(value(layerStyleCost(aS(), g)), 4);
  });
});

describe('combining costs', () => {
  it('weights layers (Σ λ_l J_l) and forms J = α·J_content + β·J_style', () => {
    const jStyle = weightedSum([tf.scalar(10), tf.scalar(20)], [0.2, 0.8]); // 2 + 16 = 18
    expect(value(jStyle)).toBeCloseTo(18, 6);
    // 10·1.625 + 40·18 = 736.25
    expect(value(totalCost(tf.scalar(1.625), jStyle, 10, 40))).toBeCloseTo(736.25, 4);
  });

  it('refuses mismatched weights', () => {
    expect(() => weightedSum([tf.scalar(1)], [1, 2])).toThrow(RangeError);
  });
});

describe('temporalCost', () => {
  it('is Σ c·(x − w)² / D on the 0–255 scale, masked', () => {
    const x = tf.tensor4d([0, 1, 0.5, 0.5], [1, 2, 2, 1]);
    const w = tf.tensor4d([0, 0, 0.5, 0], [1, 2, 2, 1]);
    // Differences 0, 1, 0, 0.5; the mask drops the last: (1²) · 255² / 4 = 16256.25
    const mask = tf.tensor4d([1, 1, 1, 0], [1, 2, 2, 1]);
    expect(value(temporalCost(x, w, mask))).toBeCloseTo(16256.25, 2);
    expect(value(temporalCost(x, x, tf.ones([1, 2, 2, 1])))).toBe(0);
  });
});

describe('totalVariationCost', () => {
  it('is the mean squared neighbour difference', () => {
    // [[0,1],[2,4]]: vertical (2−0)²+(4−1)² = 13, horizontal (1−0)²+(4−2)² = 5; 18 / 4 = 4.5
    const image = tf.tensor4d([0, 1, 2, 4], [1, 2, 2, 1]);
    expect(value(totalVariationCost(image))).toBeCloseTo(4.5, 6);
    expect(value(totalVariationCost(tf.ones([1, 3, 3, 3]) as tf.Tensor4D))).toBe(0);
  });
});
