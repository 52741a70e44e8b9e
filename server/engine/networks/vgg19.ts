/**
 * VGG19 (Simonyan & Zisserman) as a feature extractor, Keras layer names, "caffe" input
 * (BGR·255 minus the ImageNet mean). Built from whatever consecutive conv layers the weight set
 * holds, so a partial set (blocks 1–3) gives a truncated net with layers chosen to match.
 * Where we differ from Keras: average instead of max pooling, as Gatys et al. recommend for
 * synthesis (smoother gradients); the weights are the same.
 */
import * as tf from '@tensorflow/tfjs-core';
import { WeightsError } from '../engine-errors.js';
import { avgPool2, convRelu, disposeConvWeights, makeConvWeights, type ConvWeights } from '../gradients.js';
import { createRandom, uniformArray } from '../random.js';
import { elementCount, type WeightSet, type WeightSource } from '../weights/weight-set.js';
import { equalWeights, type FeatureNetwork, type LayerOutputs, type WeightedLayer } from './network.js';

/** (block, conv index, in, out) for all 16 conv layers. */
export const VGG19_CONVS = (() => {
  const blocks: [number, number][] = [[64, 2], [128, 2], [256, 4], [512, 4], [512, 4]];
  const convs: { name: string; block: number; inChannels: number; outChannels: number }[] = [];
  let inChannels = 3;
  blocks.forEach(([outChannels, count], b) => {
    for (let i = 1; i <= count; i++) {
      convs.push({ name: `block${b + 1}_conv${i}`, block: b + 1, inChannels, outChannels });
      inChannels = outChannels;
    }
  });
  return convs;
})();

/** The seed's layers: style relu1_1 … relu5_1 (0.2 each), content relu5_4. */
export const VGG19_DEFAULT_STYLE = ['block1_conv1', 'block2_conv1', 'block3_conv1', 'block4_conv1', 'block5_conv1'];
export const VGG19_DEFAULT_CONTENT = 'block5_conv4';

/** Keras "caffe" preprocessing mean, in BGR order. */
const CAFFE_MEAN_BGR = [103.939, 116.779, 123.68];

export interface Vgg19Options {
  weights: WeightSet;
  source: WeightSource;
}

interface LoadedConv {
  name: string;
  block: number;
  weights: ConvWeights;
}

/**
 * Checks a weight set against VGG19's shapes and returns the conv layers it holds, which must
 * be consecutive from block1_conv1 (a truncated net); throws WeightsError otherwise.
 */
export function vgg19LayersIn(weights: WeightSet, where: string): typeof VGG19_CONVS {
  const firstMissing = VGG19_CONVS.findIndex((c) => !weights.has(`${c.name}/kernel`));
  const present = firstMissing === -1 ? VGG19_CONVS : VGG19_CONVS.slice(0, firstMissing);
  if (present.length === 0) throw new WeightsError(`${where}: no VGG19 weights found (expected block1_conv1/kernel …)`);
  const deeper = VGG19_CONVS.slice(present.length).find((c) => weights.has(`${c.name}/kernel`));
  if (deeper) {
    throw new WeightsError(`${where}: VGG19 weights skip ${VGG19_CONVS[present.length]!.name} but have ${deeper.name}; the file is damaged`);
  }
  for (const conv of present) {
    const kernel = weights.get(`${conv.name}/kernel`)!;
    const bias = weights.get(`${conv.name}/bias`);
    const expected = [3, 3, conv.inChannels, conv.outChannels];
    if (kernel.shape.join() !== expected.join()) {
      throw new WeightsError(`${where}: ${conv.name}/kernel has shape [${kernel.shape}], expected [${expected}]`);
    }
    if (!bias || bias.shape.join() !== String(conv.outChannels)) {
      throw new WeightsError(`${where}: ${conv.name}/bias is missing or not [${conv.outChannels}]`);
    }
  }
  return present;
}

export function createVgg19({ weights, source }: Vgg19Options): FeatureNetwork {
  const convs: LoadedConv[] = vgg19LayersIn(weights, source.path).map((conv) => ({
    name: conv.name,
    block: conv.block,
    weights: makeConvWeights(
      tf.tensor4d(weights.get(`${conv.name}/kernel`)!.data, [3, 3, conv.inChannels, conv.outChannels]),
      tf.tensor1d(weights.get(`${conv.name}/bias`)!.data),
    ),
  }));
  const names = convs.map((c) => c.name);
  const truncated = convs.length < VGG19_CONVS.length;
  const { content, style } = defaultLayers(names);
  const mean = tf.tensor1d(CAFFE_MEAN_BGR);
  const last = convs[convs.length - 1]!.name;

  return {
    name: 'vgg19',
    description:
      `vgg19 (${source.kind} ${source.path}${truncated ? `, truncated after ${last}` : ''}); ` +
      `content ${content.map((l) => relu(l.name)).join(', ')}; style ${style.map((l) => relu(l.name)).join(', ')}`,
    // Four 2×2 poolings before block 5: at least one pixel must reach the deepest layer.
    minSide: 2 ** (convs[convs.length - 1]!.block - 1),
    contentLayers: content,
    styleLayers: style,
    extract(image, layers) {
      const wanted = new Set(layers);
      const out: LayerOutputs = {};
      // Keras "caffe": RGB [0,1] → BGR [0,255] minus the ImageNet mean.
      let x = tf.sub(tf.mul(tf.reverse(image, -1), 255), mean) as tf.Tensor4D;
      let block = 1;
      for (const conv of convs) {
        if (Object.keys(out).length === wanted.size) break;
        if (conv.block !== block) {
          x = avgPool2(x);
          block = conv.block;
        }
        x = convRelu(x, conv.weights, 'same');
        if (wanted.has(conv.name)) out[conv.name] = x;
      }
      for (const name of wanted) {
        if (!(name in out)) throw new WeightsError(`layer ${name} is not in this vgg19 (it ends at ${last})`);
      }
      return out;
    },
    forwardFlops(height, width, layers) {
      const deepest = Math.max(...layers.map((l) => names.indexOf(l)));
      let flops = 0;
      for (const conv of VGG19_CONVS.slice(0, deepest + 1)) {
        const scale = 2 ** (conv.block - 1);
        const h = Math.floor(height / scale);
        const w = Math.floor(width / scale);
        flops += 2 * h * w * conv.inChannels * conv.outChannels * 9;
      }
      return flops;
    },
    dispose() {
      for (const conv of convs) disposeConvWeights(conv.weights);
      mean.dispose();
    },
  };
}

/**
 * The seed's layers when the net is whole. A truncated net keeps the seed's style layers that
 * exist and takes content from conv2 of its deepest block (blocks 1–3 → relu3_2).
 */
export function defaultLayers(names: readonly string[]): { content: WeightedLayer[]; style: WeightedLayer[] } {
  if (names.includes(VGG19_DEFAULT_CONTENT)) {
    return { content: [{ name: VGG19_DEFAULT_CONTENT, weight: 1 }], style: equalWeights(VGG19_DEFAULT_STYLE) };
  }
  const style = VGG19_DEFAULT_STYLE.filter((n) => names.includes(n));
  const deepestBlock = Math.max(...names.map((n) => Number(n.slice(5, n.indexOf('_')))));
  const content = names.includes(`block${deepestBlock}_conv2`) ? `block${deepestBlock}_conv2` : names[names.length - 1]!;
  return { content: [{ name: content, weight: 1 }], style: equalWeights(style) };
}

/** block3_conv2 → relu3_2 (the names the papers use). */
export function relu(layer: string): string {
  const m = /^block(\d)_conv(\d)$/.exec(layer);
  return m ? `relu${m[1]}_${m[2]}` : layer;
}

/** He-uniform random weights up to `lastLayer`: for benchmarks and tests of shape, not looks. */
export function randomVgg19Weights(seed: number, lastLayer = 'block4_conv1'): WeightSet {
  const random = createRandom(seed);
  const set: WeightSet = new Map();
  for (const conv of VGG19_CONVS) {
    const shape = [3, 3, conv.inChannels, conv.outChannels];
    const limit = Math.sqrt(6 / (9 * conv.inChannels));
    set.set(`${conv.name}/kernel`, { shape, data: uniformArray(elementCount(shape), random, -limit, limit) });
    set.set(`${conv.name}/bias`, { shape: [conv.outChannels], data: new Float32Array(conv.outChannels) });
    if (conv.name === lastLayer) break;
  }
  return set;
}
