/**
 * Picks and builds the feature network. `auto`: VGG19 weights given with --weights, else the
 * full VGG19 installed under models/vgg19 (`stylize models fetch|import`), else the ImageNet
 * VGG19 blocks 1–3 shipped in git (models/vgg19-blocks1-3, checksummed), so the product paints
 * with real features offline. The embedded random-multiscale net runs only when asked for.
 * Says which and why.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { ModelChoice } from '../engine-options.js';
import { FileNotFoundError, WeightsError, WeightsMissingError } from '../engine-errors.js';
import { PROJECT_ROOT, SHIPPED_VGG19_DIR } from '../engine-paths.js';
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
  /** The shipped blocks 1–3 weights; tests point this at a damaged copy. */
  shippedDir?: string | undefined;
}

export interface LoadedNetwork {
  network: FeatureNetwork;
  /** Why this network: for the log line. */
  reason: string;
}

export function installedVgg19Dir(modelsDir: string): string {
  return path.join(modelsDir, 'vgg19');
}

/** How to get the shipped weights back, for the one-line error about a missing or damaged file. */
export function shippedVgg19Fix(dir: string): string {
  const inRepo = path.relative(PROJECT_ROOT, dir);
  const restore =
    inRepo && !inRepo.startsWith('..') && !path.isAbsolute(inRepo)
      ? `restore it with \`git checkout -- ${inRepo.split(path.sep).join('/')}\` in ${PROJECT_ROOT} (or reinstall stylize-live)`
      : `restore ${dir} from the stylize-live repository`;
  return `${restore}, or run with --model random-multiscale`;
}

const INSTALLED_FIX = 'reinstall with `stylize models fetch vgg19` (or `stylize models import vgg19 <file>`)';

export async function loadNetwork(options: LoadNetworkOptions): Promise<LoadedNetwork> {
  if (options.model === 'random-multiscale' || options.model === 'vgg19-blocks1-3') {
    if (options.weights) throw new WeightsError(`--weights is for vgg19 and auto; ${options.model} has its own`);
  }
  if (options.model === 'random-multiscale') {
    return { network: createRandomMultiscale(options.seed), reason: 'chosen with --model' };
  }
  if (options.weights) {
    const { weights, source } = await readWeights(options.weights);
    return { network: createVgg19({ weights, source }), reason: `weights from ${options.weights}` };
  }
  const installed = installedVgg19Dir(options.modelsDir);
  if (options.model !== 'vgg19-blocks1-3' && (await isDirectory(installed))) {
    const { weights } = await readWeightStore(installed, { fix: INSTALLED_FIX });
    return { network: createVgg19({ weights, source: { kind: 'stylize', path: installed } }), reason: `installed weights in ${installed}` };
  }
  if (options.model === 'vgg19') {
    throw new WeightsMissingError(
      `no VGG19 weights in ${installed}: run \`stylize models fetch vgg19\`, \`stylize models import vgg19 <file.h5>\`, or pass --weights ` +
        '(--model auto uses the blocks 1–3 shipped in models/)',
    );
  }
  const shipped = options.shippedDir ?? SHIPPED_VGG19_DIR;
  const { weights } = await readWeightStore(shipped, { fix: shippedVgg19Fix(shipped) });
  return {
    network: createVgg19({ weights, source: { kind: 'stylize', path: shipped } }),
    reason:
      options.model === 'auto'
        ? 'the ImageNet VGG19 blocks 1–3 shipped in models/ (`stylize models fetch vgg19` adds the full net)'
        : 'chosen with --model',
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
