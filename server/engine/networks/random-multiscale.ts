/**
 * The embedded default network (no download needed): one layer of six seeded random filter
 * banks, after Ustyuzhaninov et al. 2016, "Texture synthesis using shallow convolutional
 * networks with random filters". 64 filters each: 3×3, 5×5 and 7×7 on the full image, and 7×7 on
 * the image blurred-and-downsampled by 2, 4 and 8. Weights uniform in [−1, 1], made zero-mean
 * and unit-L2 per filter; reflect padding; ReLU; no bias. Content uses the 3×3 and 5×5 banks,
 * style all six. Each halving is a [1,2,1]² blur (reflect-padded) then 2×2 averaging, i.e. a
 * [1,3,3,1]² filter: plain box averaging would hand back gradients that are constant over 8×8
 * blocks and paint visible squares.
 */
import * as tf from '@tensorflow/tfjs-core';
import { BadInputError } from '../engine-errors.js';
import { avgPool2, conv, convRelu, disposeConvWeights, makeConvWeights, reflectPad, type ConvWeights } from '../gradients.js';
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

/** Multiplies the centred [−0.5, 0.5] image; see extract(). */
export const INPUT_SCALE = 510;

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

/** [1,2,1]⊗[1,2,1]/16 on each of the 3 channels, as a [3,3,3,3] kernel (zero across channels). */
export function blurKernel(): Float32Array {
  const taps = [1, 2, 1];
  const data = new Float32Array(3 * 3 * 3 * 3);
  for (let y = 0; y < 3; y++) {
    for (let x = 0; x < 3; x++) {
      for (let c = 0; c < 3; c++) data[((y * 3 + x) * 3 + c) * 3 + c] = (taps[y]! * taps[x]!) / 16;
    }
  }
  return data;
}

/** Blur, then halve: the next level of the pyramid. */
function downsample(x: tf.Tensor4D, blur: ConvWeights): tf.Tensor4D {
  return avgPool2(conv(reflectPad(x, 1), blur, 'valid', 'linear'));
}

export function createRandomMultiscale(seed = 1): FeatureNetwork {
  const random = createRandom(seed);
  const banks = BANKS.map((spec) => ({
    spec,
    weights: makeConvWeights(tf.tensor4d(randomBankKernel(spec.kernel, random), [spec.kernel, spec.kernel, 3, FILTERS_PER_BANK])) as ConvWeights,
  }));
  const names = BANKS.map((b) => b.name);
  const blur = makeConvWeights(tf.tensor4d(blurKernel(), [3, 3, 3, 3]));

  return {
    name: 'random-multiscale',
    description: `random-multiscale (seed ${seed}, 6 banks × ${FILTERS_PER_BANK} random filters); content ${CONTENT_BANKS.join(', ')}; style all six`,
    minSide: MIN_SIDE,
    contentLayers: equalWeights(CONTENT_BANKS),
    styleLayers: equalWeights(names),
    extract(image, layers) {
      const wanted = new Set(layers);
      const out: LayerOutputs = {};
      // The Gram cost grows with the 4th power of the activations and the content cost with the
      // 2nd, so the input scale sets the α/β balance. Centred pixels ×510 (twice VGG's 0–255
      // range): on the Tübingen-style test at 200 steps, ×255 left the photo nearly untouched,
      // ×510 takes the style's colours and strokes with the seed's α=10, β=40.
      let pyramid = tf.mul(tf.sub(image, 0.5), INPUT_SCALE) as tf.Tensor4D;
      let scale = 1;
      for (const { spec, weights } of banks) {
        if (!wanted.has(spec.name)) continue;
        while (scale < spec.scale) {
          pyramid = downsample(pyramid, blur);
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
      disposeConvWeights(blur);
    },
  };
}
