/**
 * Engine speed: one Gatys step (forward + backward to the image + Adam) per backend, network
 * and size, beside the same step through stock tfjs gradients (Conv2DBackpropInput, transposed
 * BatchMatMul) — the figure the custom gradients exist to beat.
 *
 *   npm run bench -- engine [--sizes 128,256] [--backends wasm,cpu] [--models vgg19,vgg19-blocks1-3,random-multiscale]
 *                           [--steps 3] [--no-stock] [--stock-sizes 128,256] [--threads 2,1]
 *
 * "vgg19" is VGG19 up to relu4_1 with random weights (the shape PyTorch's peer figure uses);
 * "vgg19-blocks1-3" the real ImageNet weights shipped in models/ (through relu3_2, the content
 * layer; the default net); "random-multiscale" the embedded random net.
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { drawScene, drawSwirls } from '../fixtures/draw.js';
import { readEnv, type BackendName } from '../server/config.js';
import { selectBackend } from '../server/engine/backend.js';
import { imageToTensor } from '../server/engine/image.js';
import { contentCost } from '../server/engine/losses.js';
import { readWeights } from '../server/engine/networks/load-network.js';
import type { FeatureNetwork } from '../server/engine/networks/network.js';
import { createRandomMultiscale } from '../server/engine/networks/random-multiscale.js';
import { createVgg19, randomVgg19Weights } from '../server/engine/networks/vgg19.js';
import { createStylizer } from '../server/engine/stylizer.js';
import { plainRandomMultiscale, plainVgg19, type PlainNet } from '../test/helpers/reference.js';
import { SHIPPED_VGG19 } from '../test/helpers/paths.js';


interface BenchNet {
  name: string;
  network: FeatureNetwork;
  /** The same net written with plain tfjs ops, so tf.grad uses tfjs's own gradients. */
  stock: PlainNet;
}

export async function runEngineBench(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      sizes: { type: 'string', default: '128,256' },
      backends: { type: 'string', default: 'wasm' },
      models: { type: 'string', default: 'vgg19,vgg19-blocks1-3,random-multiscale' },
      steps: { type: 'string', default: '3' },
      'no-stock': { type: 'boolean', default: false },
      'stock-sizes': { type: 'string', default: '128,256' },
      threads: { type: 'string' },
    },
  });
  const threadCounts = values.threads?.split(',').map(Number) ?? [];
  if (threadCounts.length > 0) {
    // The wasm module takes its thread count once per process: one child process per count.
    const rest = argv.filter((a, i) => a !== '--threads' && argv[i - 1] !== '--threads' && !a.startsWith('--threads='));
    for (const threads of threadCounts) await runChild(rest, threads);
    return;
  }
  const sizes = values.sizes.split(',').map(Number);
  const stockSizes = new Set(values['stock-sizes'].split(',').map(Number));
  const steps = Number(values.steps);
  for (const backendName of values.backends.split(',') as BackendName[]) {
    const backend = await selectBackend({ prefer: backendName, wasmThreads: readEnv().wasmThreads });
    for (const model of values.models.split(',')) {
      const net = await buildNet(model);
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
      net.stock.dispose();
    }
  }
}

function runChild(args: string[], threads: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, 'engine', ...args], {
      env: { ...process.env, STYLIZE_WASM_THREADS: String(threads) },
      stdio: 'inherit',
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`bench child (threads ${threads}) exited ${code}`))));
  });
}

async function buildNet(model: string): Promise<BenchNet> {
  switch (model) {
    case 'vgg19': {
      // Up to relu4_1, as the PyTorch peer figure: content relu4_1, style relu1_1 … relu4_1.
      const weights = randomVgg19Weights(1, 'block4_conv1');
      const network = createVgg19({ weights, source: { kind: 'random', path: 'random (to relu4_1)' } });
      return { name: 'vgg19-to-relu4_1', network, stock: plainVgg19(weights, 'block4_conv1') };
    }
    case 'vgg19-blocks1-3': {
      const { weights, source } = await readWeights(SHIPPED_VGG19);
      return { name: 'vgg19-blocks1-3', network: createVgg19({ weights, source }), stock: plainVgg19(weights, 'block3_conv2') };
    }
    case 'random-multiscale':
      return { name: 'random-multiscale', network: createRandomMultiscale(1), stock: plainRandomMultiscale(1, 'mirrorPad') };
    default:
      throw new Error(`unknown model ${model}`);
  }
}

async function timeOurs(network: FeatureNetwork, size: number, steps: number): Promise<number> {
  const stylizer = createStylizer(network, {}, { ownsNetwork: false });
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
  const cT = tf.tidy(() => net.stock.extract(content));
  const sT = tf.tidy(() => net.stock.extract(style));
  const x = tf.variable(content.clone());
  const adam = tf.train.adam(0.03);
  const step = (): void => {
    tf.tidy(() => {
      adam.minimize(() => {
        const f = net.stock.extract(x);
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
