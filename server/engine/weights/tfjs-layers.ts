/**
 * Reads a TF.js layers-format directory (model.json + binary shards) into a WeightSet.
 * Groups whose shards are missing are left out and reported, so a partial export (such as
 * VGG19 blocks 1–3 only) still loads; the network decides whether what is there is enough.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { WeightsError } from '../engine-errors.js';
import { elementCount, type WeightSet } from './weight-set.js';

interface ManifestGroup {
  paths: string[];
  weights: { name: string; shape: number[]; dtype?: string; quantization?: unknown }[];
}

export interface TfjsLayersResult {
  weights: WeightSet;
  /** Weight names listed in model.json whose shards are not there. */
  missing: string[];
}

export async function readTfjsLayersDir(dir: string): Promise<TfjsLayersResult> {
  const modelJson = path.join(dir, 'model.json');
  let manifest: ManifestGroup[];
  try {
    const parsed = JSON.parse(await readFile(modelJson, 'utf8')) as { weightsManifest?: ManifestGroup[] };
    if (!Array.isArray(parsed.weightsManifest)) throw new Error('no weightsManifest');
    manifest = parsed.weightsManifest;
  } catch (error) {
    throw new WeightsError(`${modelJson}: not a TF.js layers model.json (${(error as Error).message})`, { cause: error });
  }
  const weights: WeightSet = new Map();
  const missing: string[] = [];
  for (const group of manifest) {
    const shards = await Promise.all(group.paths.map((p) => readShard(path.join(dir, p))));
    if (shards.some((s) => s === undefined)) {
      missing.push(...group.weights.map((w) => w.name));
      continue;
    }
    const bytes = Buffer.concat(shards as Buffer[]);
    const expected = group.weights.reduce((sum, w) => sum + elementCount(w.shape) * 4, 0);
    if (bytes.length !== expected) {
      throw new WeightsError(`${dir}: shards ${group.paths.join(', ')} hold ${bytes.length} bytes, the manifest says ${expected}`);
    }
    let offset = 0;
    for (const w of group.weights) {
      if ((w.dtype ?? 'float32') !== 'float32' || w.quantization) {
        throw new WeightsError(`${dir}: ${w.name} is ${w.dtype ?? 'quantized'}; only float32 weights are supported`);
      }
      const count = elementCount(w.shape);
      // Copy out so the float view is aligned whatever the shard offsets are.
      const data = new Float32Array(count);
      Buffer.from(data.buffer).set(bytes.subarray(offset, offset + count * 4));
      weights.set(normaliseName(w.name), { shape: w.shape, data });
      offset += count * 4;
    }
  }
  return { weights, missing };
}

async function readShard(file: string): Promise<Buffer | undefined> {
  try {
    if (!(await stat(file)).isFile()) return undefined;
    return await readFile(file);
  } catch {
    return undefined;
  }
}

/** "vgg19/block1_conv1/kernel:0" → "block1_conv1/kernel". */
export function normaliseName(name: string): string {
  const parts = name.replace(/:\d+$/, '').split('/');
  return parts.slice(-2).join('/');
}
