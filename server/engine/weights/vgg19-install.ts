/**
 * Installing VGG19 weights into models/vgg19: from the canonical Keras file (downloaded or
 * local) or a TF.js layers directory, converted to the project's own format.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { vgg19LayersIn } from '../networks/vgg19.js';
import { installedVgg19Dir, readWeights } from '../networks/load-network.js';
import { downloadFile, type DownloadOptions } from './download.js';
import type { WeightSet } from './weight-set.js';
import { writeWeightStore, type StoreManifest } from './weight-store.js';

/** The Keras Applications release of the ImageNet VGG19 weights without the classifier. */
export const VGG19_KERAS_URL =
  'https://storage.googleapis.com/tensorflow/keras-applications/vgg19/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5';
export const VGG19_KERAS_FILE = 'vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5';
/** The `file_hash` Keras checks for that file. */
export const VGG19_KERAS_MD5 = '253f8cb515780f3b799900260a226db6';

export interface InstallResult {
  dir: string;
  layers: string[];
  manifest: StoreManifest;
}

/** Converts weights from `source` (Keras .h5, TF.js layers dir, or a stylize dir) into models/vgg19. */
export async function importVgg19(source: string, modelsDir: string): Promise<InstallResult> {
  const { weights } = await readWeights(source);
  const layers = vgg19LayersIn(weights, source);
  const kept: WeightSet = new Map();
  for (const conv of layers) {
    kept.set(`${conv.name}/kernel`, weights.get(`${conv.name}/kernel`)!);
    kept.set(`${conv.name}/bias`, weights.get(`${conv.name}/bias`)!);
  }
  const dir = installedVgg19Dir(modelsDir);
  const manifest = await writeWeightStore(dir, 'vgg19', path.basename(source), kept);
  return { dir, layers: layers.map((l) => l.name), manifest };
}

/** Downloads the Keras file (resuming a broken download), checks it, converts it, tidies up. */
export async function fetchVgg19(
  modelsDir: string,
  options: DownloadOptions & { url?: string | undefined } = {},
): Promise<InstallResult & { downloaded: number; resumedFrom: number }> {
  const cacheFile = path.join(modelsDir, '.cache', VGG19_KERAS_FILE);
  const url = options.url ?? VGG19_KERAS_URL;
  const md5 = options.md5 ?? (url === VGG19_KERAS_URL ? VGG19_KERAS_MD5 : undefined);
  const download = await downloadFile(url, cacheFile, { ...options, md5 });
  const installed = await importVgg19(cacheFile, modelsDir);
  await rm(cacheFile, { force: true });
  return { ...installed, downloaded: download.bytes, resumedFrom: download.resumedFrom };
}
