/**
 * The project's own weight format: `<dir>/manifest.json` (names, shapes, byte offsets, where
 * the weights came from) beside `<dir>/weights.bin` (float32, little-endian, concatenated).
 * Loading is one read and zero parsing, whatever format the weights were imported from.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { WeightsError } from '../../errors.js';
import { elementCount, type WeightSet } from './weight-set.js';

export const STORE_FORMAT = 'stylize-weights/1';

export interface StoreManifest {
  format: typeof STORE_FORMAT;
  network: string;
  /** Where the weights came from (a URL or a file name) and when they were imported. */
  source: string;
  importedAt: string;
  sha256: string;
  tensors: { name: string; shape: number[]; offset: number }[];
}

export async function writeWeightStore(dir: string, network: string, source: string, weights: WeightSet): Promise<StoreManifest> {
  const tensors: StoreManifest['tensors'] = [];
  const parts: Buffer[] = [];
  let offset = 0;
  for (const [name, w] of weights) {
    tensors.push({ name, shape: [...w.shape], offset });
    parts.push(Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength));
    offset += w.data.byteLength;
  }
  const bin = Buffer.concat(parts);
  const manifest: StoreManifest = {
    format: STORE_FORMAT,
    network,
    source,
    importedAt: new Date().toISOString(),
    sha256: createHash('sha256').update(bin).digest('hex'),
    tensors,
  };
  // Write beside, then rename: a crash never leaves a half-written store that looks complete.
  const staging = `${dir}.tmp-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  await writeFile(path.join(staging, 'weights.bin'), bin);
  await writeFile(path.join(staging, 'manifest.json'), `${JSON.stringify(manifest, null, 1)}\n`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(path.dirname(dir), { recursive: true });
  await rename(staging, dir);
  return manifest;
}

export async function readWeightStore(dir: string): Promise<{ manifest: StoreManifest; weights: WeightSet }> {
  let manifest: StoreManifest;
  try {
    manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as StoreManifest;
  } catch (error) {
    throw new WeightsError(`${dir}: no readable manifest.json`, { cause: error });
  }
  if (manifest.format !== STORE_FORMAT) throw new WeightsError(`${dir}: unknown weight format ${String(manifest.format)}`);
  const bin = await readFile(path.join(dir, 'weights.bin'));
  const weights: WeightSet = new Map();
  for (const t of manifest.tensors) {
    const bytes = elementCount(t.shape) * 4;
    if (t.offset + bytes > bin.length) throw new WeightsError(`${dir}: weights.bin is shorter than the manifest says`);
    const data = new Float32Array(elementCount(t.shape));
    Buffer.from(data.buffer).set(bin.subarray(t.offset, t.offset + bytes));
    weights.set(t.name, { shape: t.shape, data });
  }
  return { manifest, weights };
}
