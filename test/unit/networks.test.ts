/** The feature networks: construction, layer choice, determinism and whole-net gradients. */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { WeightsError } from '../../server/errors.js';
import { contentCost, layerStyleCost, styleLayerCostFromGram, gramMatrix } from '../../server/engine/losses.js';
import { readWeights } from '../../server/engine/networks/load-network.js';
import {
  BANKS,
  FILTERS_PER_BANK,
  createRandomMultiscale,
  randomBankKernel,
} from '../../server/engine/networks/random-multiscale.js';
import { createRandom } from '../../server/engine/random.js';
import {
  VGG19_CONVS,
  createVgg19,
  defaultLayers,
  randomVgg19Weights,
  vgg19LayersIn,
} from '../../server/engine/networks/vgg19.js';
import type { FeatureNetwork } from '../../server/engine/networks/network.js';
import { onCpu, relativeError, sameFloats, seededValues, useWasm } from '../helpers/backend.js';
import { readWeightStore } from '../../server/engine/weights/weight-store.js';
import { SHIPPED_VGG19, tempDir } from '../helpers/paths.js';
import { writeTfjsLayersDir } from '../helpers/tfjs-layers.js';
import { plainRandomMultiscale, plainVgg19 } from '../helpers/reference.js';

beforeAll(useWasm);

describe('vgg19 layer choice', () => {
  it("uses the seed's layers when the net is whole", () => {
    const all = VGG19_CONVS.map((c) => c.name);
    const { content, style } = defaultLayers(all);
    expect(content).toEqual([{ name: 'block5_conv4', weight: 1 }]);
    expect(style.map((l) => l.name)).toEqual(['block1_conv1', 'block2_conv1', 'block3_conv1', 'block4_conv1', 'block5_conv1']);
    style.forEach((l) => expect(l.weight).toBeCloseTo(0.2, 12));
  });

  it('uses relu3_2 for content and relu1_1/2_1/3_1 for style when only blocks 1–3 exist', () => {
    const names = VGG19_CONVS.slice(0, 8).map((c) => c.name);
    const { content, style } = defaultLayers(names);
    expect(content[0]!.name).toBe('block3_conv2');
    expect(style.map((l) => l.name)).toEqual(['block1_conv1', 'block2_conv1', 'block3_conv1']);
  });

  it('rejects wrong shapes and holes in the layer sequence', () => {
    const weights = randomVgg19Weights(1, 'block2_conv1');
    expect(vgg19LayersIn(weights, 'w').map((c) => c.name)).toEqual(['block1_conv1', 'block1_conv2', 'block2_conv1']);
    const holed = new Map(weights);
    holed.delete('block1_conv2/kernel');
    expect(() => vgg19LayersIn(holed, 'w')).toThrow(/skip block1_conv2/);
    const wrong = new Map(weights);
    wrong.set('block1_conv1/kernel', { shape: [3, 3, 3, 32], data: new Float32Array(3 * 3 * 3 * 32) });
    expect(() => vgg19LayersIn(wrong, 'w')).toThrow(WeightsError);
    expect(() => vgg19LayersIn(new Map(), 'w')).toThrow(/no VGG19 weights/);
  });
});

describe('vgg19 from the real ImageNet weights shipped in models/', () => {
  it('loads blocks 1–3 through relu3_2, truncates, and holds the genuine Caffe conv1_1 biases (as float16)', async () => {
    const { weights, source, missing } = await readWeights(SHIPPED_VGG19);
    expect(source.kind).toBe('stylize');
    expect(weights.size).toBe(12);
    expect(missing).toEqual([]);
    const bias = weights.get('block1_conv1/bias')!.data;
    expect(Array.from(bias.slice(0, 4)).map((b) => Number(b.toFixed(3)))).toEqual([0.73, 0.065, 0.034, 0.826]);
    const net = createVgg19({ weights, source });
    try {
      expect(net.description).toMatch(/truncated after block3_conv2/);
      expect(net.contentLayers[0]!.name).toBe('block3_conv2');
      expect(net.styleLayers.map((l) => l.name)).toEqual(['block1_conv1', 'block2_conv1', 'block3_conv1']);
      const out = tf.tidy(() => net.extract(tf.fill([1, 24, 24, 3], 0.5) as tf.Tensor4D, ['block3_conv1']));
      expect(out.block3_conv1!.shape).toEqual([1, 6, 6, 256]);
      tf.dispose(out);
    } finally {
      net.dispose();
    }
  });

  it('reads the same weights from a TF.js layers export whose deeper groups have no shards (a partial export)', async () => {
    const { weights } = await readWeightStore(SHIPPED_VGG19);
    const { dir, cleanup } = await tempDir();
    try {
      await writeTfjsLayersDir(dir, weights, { block3_conv3: [3, 3, 256, 256], block4_conv1: [3, 3, 256, 512] });
      const read = await readWeights(dir);
      expect(read.source.kind).toBe('tfjs-layers');
      expect(read.missing).toEqual(['block3_conv3/kernel', 'block3_conv3/bias', 'block4_conv1/kernel', 'block4_conv1/bias']);
      expect([...read.weights.keys()]).toEqual([...weights.keys()]);
      for (const [name, w] of weights) expect(sameFloats(read.weights.get(name)!.data, w.data), name).toBe(true);
    } finally {
      await cleanup();
    }
  });
});

describe('analytic FLOPs', () => {
  it('counts 2·H·W·Cin·Cout·9 per conv at its block resolution', () => {
    const net = createVgg19({ weights: randomVgg19Weights(1, 'block2_conv1'), source: { kind: 'random', path: 'r' } });
    try {
      // block1_conv1 at 4×4: 2·16·3·64·9
      expect(net.forwardFlops(4, 4, ['block1_conv1'])).toBe(55_296);
      // + block1_conv2 (2·16·64·64·9) + block2_conv1 at 2×2 (2·4·64·128·9)
      expect(net.forwardFlops(4, 4, ['block2_conv1'])).toBe(55_296 + 1_179_648 + 589_824);
    } finally {
      net.dispose();
    }
  });
});

describe('random-multiscale', () => {
  it('makes zero-mean, unit-norm filters, deterministic for a seed', () => {
    const a = randomBankKernel(5, createRandom(3));
    const b = randomBankKernel(5, createRandom(3));
    const c = randomBankKernel(5, createRandom(4));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    for (const f of [0, 17, 63]) {
      const values = Array.from({ length: 75 }, (_, i) => a[i * FILTERS_PER_BANK + f]!);
      expect(values.reduce((s, v) => s + v, 0)).toBeCloseTo(0, 5);
      expect(Math.hypot(...values)).toBeCloseTo(1, 5);
      values.forEach((v) => expect(Math.abs(v)).toBeLessThanOrEqual(1));
    }
  });

  it('has six banks of 64 at full, 1/2, 1/4 and 1/8 resolution', () => {
    const net = createRandomMultiscale(1);
    try {
      expect(net.styleLayers).toHaveLength(6);
      expect(net.contentLayers.map((l) => l.name)).toEqual(['bank3', 'bank5']);
      const out = tf.tidy(() => net.extract(tf.fill([1, 64, 48, 3], 0.3) as tf.Tensor4D, BANKS.map((b) => b.name)));
      expect(BANKS.map((b) => out[b.name]!.shape)).toEqual([
        [1, 64, 48, 64],
        [1, 64, 48, 64],
        [1, 64, 48, 64],
        [1, 32, 24, 64],
        [1, 16, 12, 64],
        [1, 8, 6, 64],
      ]);
      tf.dispose(out);
    } finally {
      net.dispose();
    }
  });
});

/**
 * Whole-network check: the gradient of J = α·J_content + β·J_style through our network (custom
 * gradients, wasm) equals the stock gradient of a plain re-implementation (cpu backend).
 */
describe('whole-network cost gradient', () => {
  function ourCostGradient(net: FeatureNetwork, content: Float32Array, style: Float32Array, x: Float32Array, shape: number[]): Float32Array {
    return tf.tidy(() => {
      const s = shape as [number, number, number, number];
      const names = [...net.contentLayers.map((l) => l.name), ...net.styleLayers.map((l) => l.name)];
      const cT = net.extract(tf.tensor4d(content, s), names);
      const sT = net.extract(tf.tensor4d(style, s), names);
      return tf
        .grad((img: tf.Tensor) => {
          const f = net.extract(img as tf.Tensor4D, names);
          const jc = tf.addN(net.contentLayers.map((l) => tf.mul(contentCost(cT[l.name]!, f[l.name]!), l.weight)));
          const js = tf.addN(net.styleLayers.map((l) => tf.mul(styleLayerCostFromGram(gramMatrix(sT[l.name]!), f[l.name]!), l.weight)));
          return tf.add(tf.mul(jc, 10), tf.mul(js, 40));
        })(tf.tensor4d(x, s))
        .dataSync() as Float32Array;
    });
  }

  function stockCostGradient(
    extract: (img: tf.Tensor4D) => Record<string, tf.Tensor4D>,
    net: FeatureNetwork,
    content: Float32Array,
    style: Float32Array,
    x: Float32Array,
    shape: number[],
  ): Float32Array {
    return tf.tidy(() => {
      const s = shape as [number, number, number, number];
      const cT = extract(tf.tensor4d(content, s));
      const sT = extract(tf.tensor4d(style, s));
      return tf
        .grad((img: tf.Tensor) => {
          const f = extract(img as tf.Tensor4D);
          const jc = tf.addN(net.contentLayers.map((l) => tf.mul(contentCost(cT[l.name]!, f[l.name]!), l.weight)));
          const js = tf.addN(net.styleLayers.map((l) => tf.mul(layerStyleCost(sT[l.name]!, f[l.name]!), l.weight)));
          return tf.add(tf.mul(jc, 10), tf.mul(js, 40));
        })(tf.tensor4d(x, s))
        .dataSync() as Float32Array;
    });
  }

  const shape = [1, 20, 16, 3];
  const count = 20 * 16 * 3;
  const unit = (seed: number): Float32Array => seededValues(count, seed).map((v) => (v + 1) / 2);

  it('vgg19 (blocks 1–2, random weights)', async () => {
    const weights = randomVgg19Weights(5, 'block2_conv2');
    const net = createVgg19({ weights, source: { kind: 'random', path: 'r' } });
    const [content, style, x] = [unit(1), unit(2), unit(3)];
    try {
      const ours = ourCostGradient(net, content, style, x, shape);
      const stock = await onCpu(() => {
        const plain = plainVgg19(weights, 'block2_conv2');
        try {
          return stockCostGradient((img) => plain.extract(img), net, content, style, x, shape);
        } finally {
          plain.dispose();
        }
      });
      expect(relativeError(ours, stock)).toBeLessThan(1e-5);
    } finally {
      net.dispose();
    }
  });

  it('random-multiscale', async () => {
    const net = createRandomMultiscale(9);
    const side = [1, 48, 40, 3];
    const u = (s: number): Float32Array => seededValues(48 * 40 * 3, s).map((v) => (v + 1) / 2);
    const [content, style, x] = [u(4), u(5), u(6)];
    try {
      const ours = ourCostGradient(net, content, style, x, side);
      const stock = await onCpu(() => {
        const plain = plainRandomMultiscale(9, 'exact');
        try {
          return stockCostGradient((img) => plain.extract(img), net, content, style, x, side);
        } finally {
          plain.dispose();
        }
      });
      expect(relativeError(ours, stock)).toBeLessThan(1e-5);
    } finally {
      net.dispose();
    }
  });
});
