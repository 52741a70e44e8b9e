/**
 * Engine speed: one Gatys step (forward + backward to the image + Adam) per backend, network
 * and size, beside the same step through stock tfjs gradients (Conv2DBackpropInput, transposed
 * BatchMatMul) — the figure the custom gradients exist to beat.
 *
 *   npm run bench -- engine [--sizes 128,256] [--backends wasm,cpu] [--models vgg19,vgg19-partial,random-multiscale]
 *                           [--steps 3] [--no-stock] [--stock-sizes 128,256]
 *
 * "vgg19" is VGG19 up to relu4_1 with random weights (the shape PyTorch's peer figure uses);
 * "vgg19-partial" the real blocks 1–3 from ../shared (relu3_2 content); "random-multiscale" the
 * embedded default.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { fileURLToPath } from 'node:url';
import { drawScene, drawSwirls } from '../fixtures/draw.js';
import type { BackendName } from '../server/config.js';
import { selectBackend } from '../server/engine/backend.js';
import { imageToTensor } from '../server/engine/image.js';
import { contentCost } from '../server/engine/losses.js';
import { readWeights } from '../server/engine/networks/load-network.js';
import type { FeatureNetwork } from '../server/engine/networks/network.js';
import { BANKS, createRandomMultiscale } from '../server/engine/networks/random-multiscale.js';
import { VGG19_CONVS, createVgg19, randomVgg19Weights } from '../server/engine/networks/vgg19.js';
import { createStylizer } from '../server/engine/stylizer.js';
import type { WeightSet } from '../server/engine/weights/weight-set.js';

const SHARED_PARTIAL = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../shared/weights/vgg19-keras-tfjs-partial-block3');

interface BenchNet {
  name: string;
  network: FeatureNetwork;
  /** The same net written with plain tfjs ops, so tf.grad uses tfjs's own gradients. */
  stockExtract: (image: tf.Tensor4D) => Record<string, tf.Tensor4D>;
}

export async function runEngineBench(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      sizes: { type: 'string', default: '128,256' },
      backends: { type: 'string', default: 'wasm' },
      models: { type: 'string', default: 'vgg19,vgg19-partial,random-multiscale' },
      steps: { type: 'string', default: '3' },
      'no-stock': { type: 'boolean', default: false },
      'stock-sizes': { type: 'string', default: '128,256' },
    },
  });
  const sizes = values.sizes.split(',').map(Number);
  const stockSizes = new Set(values['stock-sizes'].split(',').map(Number));
  const steps = Number(values.steps);
  for (const backendName of values.backends.split(',') as BackendName[]) {
    const backend = await selectBackend({ prefer: backendName });
    for (const model of values.models.split(',')) {
      const net = await buildNet(model);
      if (!net) {
        process.stderr.write(`skip ${model}: weights not found at ${SHARED_PARTIAL}\n`);
        continue;
      }
      for (const size of sizes) {
        const ours = await timeOurs(net.network, size, steps);
        const stock = !values['no-stock'] && stockSizes.has(size) ? timeStock(net, size, Math.min(steps, 2)) : undefined;
        const flops = stepFlops(net.network, size, size);
        const line = {
          bench: 'engine',
          backend: backend.name,
          threads: backend.threads,
          model: net.name,
          size,
          layers: deepest(net.network),
          msPerStep: round(ours),
          gflopPerStep: round(flops / 1e9, 2),
          gflops: round(flops / 1e9 / (ours / 1000), 1),
          stockMsPerStep: stock === undefined ? null : round(stock),
          stockGflops: stock === undefined ? null : round(flops / 1e9 / (stock / 1000), 1),
          speedupVsStock: stock === undefined ? null : round(stock / ours, 1),
        };
        process.stdout.write(`${JSON.stringify(line)}\n`);
      }
      net.network.dispose();
    }
  }
}

async function buildNet(model: string): Promise<BenchNet | undefined> {
  switch (model) {
    case 'vgg19': {
      // Up to relu4_1, as the PyTorch peer figure: content relu4_1, style relu1_1 … relu4_1.
      const weights = randomVgg19Weights(1, 'block4_conv1');
      const network = createVgg19({ weights, source: { kind: 'random', path: 'random (to relu4_1)' } });
      return { name: 'vgg19-to-relu4_1', network, stockExtract: stockVgg(weights, 'block4_conv1') };
    }
    case 'vgg19-partial': {
      if (!existsSync(SHARED_PARTIAL)) return undefined;
      const { weights, source } = await readWeights(SHARED_PARTIAL);
      return { name: 'vgg19-partial-blocks1-3', network: createVgg19({ weights, source }), stockExtract: stockVgg(weights, 'block3_conv4') };
    }
    case 'random-multiscale':
      return { name: 'random-multiscale', network: createRandomMultiscale(1), stockExtract: stockRandomMultiscale(1) };
    default:
      throw new Error(`unknown model ${model}`);
  }
}

async function timeOurs(network: FeatureNetwork, size: number, steps: number): Promise<number> {
  // Borrow the network: the stylizer disposes what it owns, so wrap dispose away.
  const stylizer = createStylizer({ ...network, dispose: () => undefined });
  stylizer.setStyle([{ image: drawSwirls(size, size) }]);
  const content = drawScene(size, size);
  await stylizer.stylizeFrame(content, { steps: 1 }); // warm-up: XNNPACK operator caches
  const result = await stylizer.stylizeFrame(content, { steps, warmStart: true });
  stylizer.dispose();
  return result.msPerStep;
}

/** The plain formulation under tf.grad with Adam: what stock tfjs gives. */
function timeStock(net: BenchNet, size: number, steps: number): number {
  const { network } = net;
  const content = imageToTensor(drawScene(size, size));
  const style = imageToTensor(drawSwirls(size, size));
  const cT = tf.tidy(() => net.stockExtract(content));
  const sT = tf.tidy(() => net.stockExtract(style));
  const x = tf.variable(content.clone());
  const adam = tf.train.adam(0.03);
  const step = (): void => {
    tf.tidy(() => {
      adam.minimize(() => {
        const f = net.stockExtract(x);
        const jc = tf.addN(network.contentLayers.map((l) => tf.mul(contentCost(cT[l.name]!, f[l.name]!), l.weight)));
        // The natural way to write it: G = AᵀA with a transposed matMul operand.
        const js = tf.addN(network.styleLayers.map((l) => tf.mul(stockStyleCost(sT[l.name]!, f[l.name]!), l.weight)));
        return tf.add(tf.mul(jc, 10), tf.mul(js, 40)) as tf.Scalar;
      }, false, [x]);
      x.assign(tf.clipByValue(x, 0, 1));
    });
    x.dataSync();
  };
  step(); // warm-up
  const started = performance.now();
  for (let i = 0; i < steps; i++) step();
  const ms = (performance.now() - started) / steps;
  tf.dispose([content, style, x, ...Object.values(cT), ...Object.values(sT)]);
  adam.dispose();
  return ms;
}

function stockStyleCost(aS: tf.Tensor4D, aG: tf.Tensor4D): tf.Scalar {
  const [, h, w, c] = aG.shape;
  const gram = (a: tf.Tensor4D): tf.Tensor2D => {
    const f = tf.reshape(a, [h * w, c]) as tf.Tensor2D;
    return tf.matMul(f, f, true, false);
  };
  return tf.div(tf.sum(tf.square(tf.sub(gram(aS), gram(aG)))), 4 * c * c * (h * w) ** 2);
}

function stockVgg(weights: WeightSet, last: string): (image: tf.Tensor4D) => Record<string, tf.Tensor4D> {
  const convs = VGG19_CONVS.slice(0, VGG19_CONVS.findIndex((c) => c.name === last) + 1).map((c) => ({
    ...c,
    kernel: tf.tensor4d(weights.get(`${c.name}/kernel`)!.data, [3, 3, c.inChannels, c.outChannels]),
    bias: tf.tensor1d(weights.get(`${c.name}/bias`)!.data),
  }));
  const mean = tf.tensor1d([103.939, 116.779, 123.68]);
  return (image) => {
    const out: Record<string, tf.Tensor4D> = {};
    let h = tf.sub(tf.mul(tf.reverse(image, -1), 255), mean) as tf.Tensor4D;
    let block = 1;
    for (const c of convs) {
      if (c.block !== block) {
        h = tf.avgPool(h, 2, 2, 'valid');
        block = c.block;
      }
      h = tf.relu(tf.add(tf.conv2d(h, c.kernel, 1, 'same'), c.bias)) as tf.Tensor4D;
      out[c.name] = h;
    }
    return out;
  };
}

function stockRandomMultiscale(seed: number): (image: tf.Tensor4D) => Record<string, tf.Tensor4D> {
  // Same structure with stock ops: mirrorPad (whose stock gradient only crops) + conv2d + relu.
  // Random kernels of the same shapes: only the timing matters here.
  const kernels = BANKS.map((b) => tf.randomUniform([b.kernel, b.kernel, 3, 64], -1, 1, 'float32', seed) as tf.Tensor4D);
  return (image) => {
    const out: Record<string, tf.Tensor4D> = {};
    let pyramid = tf.mul(tf.sub(image, 0.5), 255) as tf.Tensor4D;
    let scale = 1;
    BANKS.forEach((bank, i) => {
      while (scale < bank.scale) {
        pyramid = tf.avgPool(pyramid, 2, 2, 'valid');
        scale *= 2;
      }
      const p = (bank.kernel - 1) / 2;
      const padded = tf.mirrorPad(pyramid, [[0, 0], [p, p], [p, p], [0, 0]], 'reflect');
      out[bank.name] = tf.relu(tf.conv2d(padded, kernels[i]!, 1, 'valid'));
    });
    return out;
  };
}

function deepest(network: FeatureNetwork): string {
  return [...network.contentLayers, ...network.styleLayers].map((l) => l.name).sort((a, b) => (a < b ? 1 : -1))[0]!;
}

/** Forward + input-gradient convs (2× forward) + Gram and its gradient (4·HW·C² per style layer). */
function stepFlops(network: FeatureNetwork, h: number, w: number): number {
  const names = [...network.contentLayers, ...network.styleLayers].map((l) => l.name);
  let flops = 2 * network.forwardFlops(h, w, names);
  const shapes = tf.tidy(() => {
    const f = network.extract(tf.zeros([1, h, w, 3]) as tf.Tensor4D, network.styleLayers.map((l) => l.name));
    return Object.values(f).map((t) => t.shape);
  });
  for (const [, lh, lw, c] of shapes) flops += 4 * lh! * lw! * c! * c!;
  return flops;
}

function round(v: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
