/**
 * Picks and builds the feature network: vgg19 when weights exist (given with --weights, or
 * installed under models/vgg19 by `stylize models fetch|import`), else the embedded
 * random-multiscale net, so the product always works offline. Says which and why.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { ModelChoice } from '../../config.js';
import { FileNotFoundError, WeightsError, WeightsMissingError } from '../../errors.js';
import { readKerasH5 } from '../weights/keras-h5.js';
import { readTfjsLayersDir } from '../weights/tfjs-layers.js';
import { readWeightStore } from '../weights/weight-store.js';
import type { WeightSet, WeightSource } from '../weights/weight-set.js';
import type { FeatureNetwork } from './network.js';
import { createRandomMultiscale } from './random-multiscale.js';
import { createVgg19 } from './vgg19.js';

export interface LoadNetworkOptions {
  model: ModelChoice;
  /** A weights directory (our format or TF.js layers) or a Keras .h5 file. */
  weights?: string | undefined;
  modelsDir: string;
  seed: number;
}

export interface LoadedNetwork {
  network: FeatureNetwork;
  /** Why this network: for the log line. */
  reason: string;
}

export function installedVgg19Dir(modelsDir: string): string {
  return path.join(modelsDir, 'vgg19');
}

export async function loadNetwork(options: LoadNetworkOptions): Promise<LoadedNetwork> {
  if (options.model === 'random-multiscale') {
    if (options.weights) throw new WeightsError('--weights is for vgg19; random-multiscale makes its own');
    return { network: createRandomMultiscale(options.seed), reason: 'chosen with --model' };
  }
  if (options.weights) {
    const { weights, source } = await readWeights(options.weights);
    return { network: createVgg19({ weights, source }), reason: `weights from ${options.weights}` };
  }
  const installed = installedVgg19Dir(options.modelsDir);
  if (await isDirectory(installed)) {
    const { weights, source } = await readWeights(installed);
    return { network: createVgg19({ weights, source }), reason: `installed weights in ${installed}` };
  }
  if (options.model === 'vgg19') {
    throw new WeightsMissingError(
      `no VGG19 weights in ${installed}: run \`stylize models fetch vgg19\`, \`stylize models import vgg19 <file.h5>\`, or pass --weights`,
    );
  }
  return {
    network: createRandomMultiscale(options.seed),
    reason: 'no VGG19 weights installed (`stylize models fetch vgg19` adds them); using the embedded default',
  };
}

/** Reads weights in any format we know, by what the path is. */
export async function readWeights(location: string): Promise<{ weights: WeightSet; source: WeightSource; missing: string[] }> {
  const info = await stat(location).catch(() => undefined);
  if (!info) throw new FileNotFoundError(location);
  if (info.isDirectory()) {
    if (await isFile(path.join(location, 'manifest.json'))) {
      const { weights } = await readWeightStore(location);
      return { weights, source: { kind: 'stylize', path: location }, missing: [] };
    }
    if (await isFile(path.join(location, 'model.json'))) {
      const { weights, missing } = await readTfjsLayersDir(location);
      return { weights, source: { kind: 'tfjs-layers', path: location }, missing };
    }
    throw new WeightsError(`${location}: neither a stylize weights directory (manifest.json) nor a TF.js model (model.json)`);
  }
  return { weights: await readKerasH5(location), source: { kind: 'keras-h5', path: location }, missing: [] };
}

async function isDirectory(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined))?.isDirectory() ?? false;
}

async function isFile(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined))?.isFile() ?? false;
}
