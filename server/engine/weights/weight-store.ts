/**
 * The project's own weight format: `<dir>/manifest.json` (names, shapes, byte offsets, where
 * the weights came from, a SHA-256 of the data) beside `<dir>/weights.bin` (little-endian,
 * concatenated; float32, or float16 where the manifest says so). Loading is one read, a checksum
 * and no parsing, whatever format the weights were imported from.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ChecksumError, WeightsError, WeightsMissingError } from '../engine-errors.js';
import { decodeFloat16, encodeFloat16 } from './float16.js';
import { elementCount, type WeightSet } from './weight-set.js';

export const STORE_FORMAT = 'stylize-weights/1';

export type StoreDtype = 'float32' | 'float16';

export interface StoreManifest {
  format: typeof STORE_FORMAT;
  network: string;
  /** Where the weights came from (a URL or a file name) and when they were imported. */
  source: string;
  importedAt: string;
  /** SHA-256 of weights.bin, checked on every load. */
  sha256: string;
  /** How every tensor is stored; float32 when absent (stores written before float16 existed). */
  dtype?: StoreDtype;
  /** Licence and attribution of the weights, for stores that ship with the project. */
  license?: string;
  /** What a store's maker measured about it (e.g. the float16 check); kept for tests and people. */
  notes?: Record<string, unknown>;
  tensors: { name: string; shape: number[]; offset: number }[];
}

export interface WriteStoreOptions {
  dtype?: StoreDtype;
  license?: string;
  notes?: Record<string, unknown>;
}

export async function writeWeightStore(
  dir: string,
  network: string,
  source: string,
  weights: WeightSet,
  options: WriteStoreOptions = {},
): Promise<StoreManifest> {
  const dtype = options.dtype ?? 'float32';
  const tensors: StoreManifest['tensors'] = [];
  const parts: Buffer[] = [];
  let offset = 0;
  for (const [name, w] of weights) {
    tensors.push({ name, shape: [...w.shape], offset });
    const bytes = dtype === 'float16' ? encodeFloat16(w.data) : Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength);
    parts.push(bytes);
    offset += bytes.length;
  }
  const bin = Buffer.concat(parts);
  const manifest: StoreManifest = {
    format: STORE_FORMAT,
    network,
    source,
    importedAt: new Date().toISOString(),
    sha256: createHash('sha256').update(bin).digest('hex'),
    ...(dtype === 'float32' ? {} : { dtype }),
    ...(options.license ? { license: options.license } : {}),
    ...(options.notes ? { notes: options.notes } : {}),
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

export interface ReadStoreOptions {
  /** What to tell the user to do when a file is missing or damaged (ends the one-line error). */
  fix?: string;
}

const DEFAULT_FIX = 'use an intact copy of these weights (or re-create them with `stylize models import vgg19 <file>`)';

export async function readWeightStore(dir: string, options: ReadStoreOptions = {}): Promise<{ manifest: StoreManifest; weights: WeightSet }> {
  const fix = options.fix ?? DEFAULT_FIX;
  const manifestFile = path.join(dir, 'manifest.json');
  const binFile = path.join(dir, 'weights.bin');
  const manifest = parseManifest(await readOrExplain(manifestFile, fix), manifestFile, fix);
  const bin = await readOrExplain(binFile, fix);
  const actual = createHash('sha256').update(bin).digest('hex');
  if (actual !== manifest.sha256) throw new ChecksumError(binFile, short(manifest.sha256), short(actual), `the file is damaged; ${fix}`);
  const bytesPerValue = (manifest.dtype ?? 'float32') === 'float16' ? 2 : 4;
  const weights: WeightSet = new Map();
  for (const t of manifest.tensors) {
    const bytes = elementCount(t.shape) * bytesPerValue;
    if (t.offset + bytes > bin.length) throw new WeightsError(`${binFile} is shorter than ${manifestFile} says; ${fix}`);
    const slice = bin.subarray(t.offset, t.offset + bytes);
    let data: Float32Array;
    if (bytesPerValue === 2) data = decodeFloat16(slice);
    else {
      // Copy out so the float view is aligned whatever the offset is.
      data = new Float32Array(elementCount(t.shape));
      Buffer.from(data.buffer).set(slice);
    }
    weights.set(t.name, { shape: t.shape, data });
  }
  return { manifest, weights };
}

function short(hash: string): string {
  return `${hash.slice(0, 12)}…`;
}

async function readOrExplain(file: string, fix: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new WeightsMissingError(`${file} is missing; ${fix}`);
    throw new WeightsError(`${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); ${fix}`, { cause: error });
  }
}

function parseManifest(text: Buffer, file: string, fix: string): StoreManifest {
  let manifest: StoreManifest;
  try {
    manifest = JSON.parse(text.toString('utf8')) as StoreManifest;
  } catch (error) {
    throw new WeightsError(`${file} is not valid JSON (the file is damaged); ${fix}`, { cause: error });
  }
  if (manifest?.format !== STORE_FORMAT) throw new WeightsError(`${file}: unknown weight format ${String(manifest?.format)}; ${fix}`);
  if (typeof manifest.sha256 !== 'string' || !Array.isArray(manifest.tensors)) {
    throw new WeightsError(`${file} lacks its checksum or tensor list (the file is damaged); ${fix}`);
  }
  if (manifest.dtype !== undefined && manifest.dtype !== 'float32' && manifest.dtype !== 'float16') {
    throw new WeightsError(`${file}: unknown dtype ${String(manifest.dtype)}; ${fix}`);
  }
  return manifest;
}
