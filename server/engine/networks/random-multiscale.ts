/**
 * The embedded default network (no download needed): one layer of six seeded random filter
 * banks, after Ustyuzhaninov et al. 2016, "Texture synthesis using shallow convolutional
 * networks with random filters". 64 filters each: 3×3, 5×5 and 7×7 on the full image, and 7×7 on
 * the image blurred-and-downsampled by 2, 4 and 8. Weights uniform in [−1, 1], made zero-mean
 * and unit-L2 per filter; reflect padding; ReLU; no bias. Content uses the 3×3 and 5×5 banks,
 * style all six. Where we differ: the blur-and-downsample is repeated 2×2 average pooling
 * (a box blur), cheap and with an exact, fast gradient.
 */
import * as tf from '@tensorflow/tfjs-core';
import { BadInputError } from '../../errors.js';
import { avgPool2, convRelu, disposeConvWeights, makeConvWeights, reflectPad, type ConvWeights } from '../gradients.js';
import { createRandom } from '../random.js';
import { equalWeights, type FeatureNetwork, type LayerOutputs } from './network.js';

export const FILTERS_PER_BANK = 64;

interface BankSpec {
  readonly name: string;
  readonly kernel: number;
  /** Downsampling factor of the input: 1 (full resolution), 2, 4 or 8. */
  readonly scale: number;
}

export const BANKS: readonly BankSpec[] = [
  { name: 'bank3', kernel: 3, scale: 1 },
  { name: 'bank5', kernel: 5, scale: 1 },
  { name: 'bank7', kernel: 7, scale: 1 },
  { name: 'bank7_down2', kernel: 7, scale: 2 },
  { name: 'bank7_down4', kernel: 7, scale: 4 },
  { name: 'bank7_down8', kernel: 7, scale: 8 },
];

const CONTENT_BANKS = ['bank3', 'bank5'];

/** Downsampled by 8, a map must still be wider than the 7×7 filter's reflect padding (3). */
export const MIN_SIDE = 32;

/** One bank's filters: [k, k, 3, 64], each filter zero-mean with unit L2 norm. */
export function randomBankKernel(kernel: number, random: () => number): Float32Array {
  const perFilter = kernel * kernel * 3;
  const data = new Float32Array(perFilter * FILTERS_PER_BANK);
  for (let f = 0; f < FILTERS_PER_BANK; f++) {
    const values = Array.from({ length: perFilter }, () => random() * 2 - 1);
    const mean = values.reduce((a, b) => a + b, 0) / perFilter;
    const centred = values.map((v) => v - mean);
    const norm = Math.sqrt(centred.reduce((a, v) => a + v * v, 0)) || 1;
    // Layout [kh, kw, in, out]: filter f is every FILTERS_PER_BANK-th value from offset f.
    centred.forEach((v, i) => {
      data[i * FILTERS_PER_BANK + f] = v / norm;
    });
  }
  return data;
}

export function createRandomMultiscale(seed = 1): FeatureNetwork {
  const random = createRandom(seed);
  const banks = BANKS.map((spec) => ({
    spec,
    weights: makeConvWeights(tf.tensor4d(randomBankKernel(spec.kernel, random), [spec.kernel, spec.kernel, 3, FILTERS_PER_BANK])) as ConvWeights,
  }));
  const names = BANKS.map((b) => b.name);

  return {
    name: 'random-multiscale',
    description: `random-multiscale (seed ${seed}, 6 banks × ${FILTERS_PER_BANK} random filters); content ${CONTENT_BANKS.join(', ')}; style all six`,
    minSide: MIN_SIDE,
    contentLayers: equalWeights(CONTENT_BANKS),
    styleLayers: equalWeights(names),
    extract(image, layers) {
      const wanted = new Set(layers);
      const out: LayerOutputs = {};
      // Pixels on VGG's scale (0–255, centred). The Gram cost grows with the 4th power of the
      // activations and the content cost with the 2nd, so the input scale sets the α/β balance:
      // on this scale the seed's α=10, β=40 paint as visibly as they do with VGG19.
      let pyramid = tf.mul(tf.sub(image, 0.5), 255) as tf.Tensor4D;
      let scale = 1;
      for (const { spec, weights } of banks) {
        if (!wanted.has(spec.name)) continue;
        while (scale < spec.scale) {
          pyramid = avgPool2(pyramid);
          scale *= 2;
        }
        const p = (spec.kernel - 1) / 2;
        if (Math.min(pyramid.shape[1], pyramid.shape[2]) <= p) {
          throw new BadInputError(`image too small: random-multiscale needs at least ${MIN_SIDE} pixels a side`);
        }
        out[spec.name] = convRelu(reflectPad(pyramid, p), weights, 'valid');
      }
      for (const name of wanted) {
        if (!(name in out)) throw new RangeError(`random-multiscale has no layer ${name}`);
      }
      return out;
    },
    forwardFlops(height, width, layers) {
      return BANKS.filter((b) => layers.includes(b.name)).reduce((sum, b) => {
        const h = Math.floor(height / b.scale);
        const w = Math.floor(width / b.scale);
        return sum + 2 * h * w * 3 * FILTERS_PER_BANK * b.kernel * b.kernel;
      }, 0);
    },
    dispose() {
      for (const bank of banks) disposeConvWeights(bank.weights);
    },
  };
}
