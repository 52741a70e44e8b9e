/**
 * A trained painter on disk: one file, written atomically (temp file + rename).
 *   8 bytes "SLPAINT1" · uint32 LE header length · JSON header · float32 LE weights
 * The header holds the shape, what the painter was trained for (`meta`), each weight's name and
 * shape in storage order, and the SHA-256 of the weights, checked on load: a damaged or
 * truncated file is a WeightsError naming the file (callers warn and train a new painter).
 */
import { createHash } from 'node:crypto';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { WeightsError } from '../engine-errors.js';
import { createPainterNet, type PainterNet, type PainterShape } from './painter-net.js';

const MAGIC = Buffer.from('SLPAINT1', 'latin1');
/** Far above any painter this project makes (~300 KB); a bigger file is not one of ours. */
export const MAX_PAINTER_BYTES = 16 * 1024 * 1024;

/** What a painter was trained for and how far it got. */
export interface PainterMeta {
  /** Style id and the settings that change what the painter should paint. */
  style: string;
  contentWeight: number;
  styleWeight: number;
  /** Training steps so far, frames seen, and the last held-out loss (if measured). */
  steps: number;
  framesSeen: number;
  loss?: number;
}

interface Header {
  version: 1;
  shape: PainterShape;
  meta: PainterMeta;
  weights: { name: string; shape: number[] }[];
  sha256: string;
}

export async function savePainter(file: string, painter: PainterNet, meta: PainterMeta): Promise<void> {
  const weights = await painter.read();
  const payload = Buffer.concat([...weights.values()].map((w) => Buffer.from(w.values.buffer, w.values.byteOffset, w.values.byteLength)));
  const header: Header = {
    version: 1,
    shape: painter.shape,
    meta,
    weights: [...weights].map(([name, w]) => ({ name, shape: w.shape })),
    sha256: createHash('sha256').update(payload).digest('hex'),
  };
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(4);
  length.writeUInt32LE(json.length);
  const temp = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(temp, Buffer.concat([MAGIC, length, json, payload]));
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** The painter stored in `file`, with its meta; WeightsError (naming the file) if it is not sound. */
export async function loadPainter(file: string): Promise<{ painter: PainterNet; meta: PainterMeta }> {
  const { shape, meta, weights } = await readPainterFile(file);
  const painter = createPainterNet(shape);
  try {
    painter.write(weights);
  } catch (error) {
    painter.dispose();
    throw new WeightsError(`painter file ${file} does not fit its own shape; delete it and the painter is trained again`, { cause: error });
  }
  return { painter, meta };
}

/** A painter file read and checked (size, layout, checksum), without making any tensor. */
export async function readPainterFile(file: string): Promise<{ shape: PainterShape; meta: PainterMeta; weights: Map<string, { shape: number[]; values: Float32Array }> }> {
  const bad = (why: string, cause?: unknown): WeightsError => new WeightsError(`painter file ${file} ${why}; delete it and the painter is trained again`, { cause });
  const size = (await stat(file)).size;
  if (size > MAX_PAINTER_BYTES) throw bad(`is ${size} bytes, more than a painter can be (${MAX_PAINTER_BYTES})`);
  const bytes = await readFile(file);
  if (bytes.length < 12 || !bytes.subarray(0, 8).equals(MAGIC)) throw bad('is not a painter file');
  const headerLength = bytes.readUInt32LE(8);
  if (12 + headerLength > bytes.length) throw bad('is truncated');
  let header: Header;
  try {
    header = JSON.parse(bytes.subarray(12, 12 + headerLength).toString('utf8')) as Header;
  } catch (error) {
    throw bad('has a damaged header', error);
  }
  if (header.version !== 1 || !Array.isArray(header.weights)) throw bad(`has an unknown layout (version ${String(header.version)})`);
  const { channels, blocks } = header.shape ?? {};
  if (!Number.isInteger(channels) || channels! < 1 || channels! > 128 || !Number.isInteger(blocks) || blocks! < 0 || blocks! > 16) {
    throw bad('has a shape no painter has');
  }
  const payload = bytes.subarray(12 + headerLength);
  const expected = header.weights.reduce((sum, w) => sum + 4 * w.shape.reduce((a, b) => a * b, 1), 0);
  if (payload.length !== expected) throw bad(`holds ${payload.length} bytes of weights, its header says ${expected}`);
  if (createHash('sha256').update(payload).digest('hex') !== header.sha256) throw bad('is damaged (checksum mismatch)');
  // Copy to an aligned buffer: the payload starts at an arbitrary offset.
  const floats = new Float32Array(new Uint8Array(payload).buffer);
  const weights = new Map<string, { shape: number[]; values: Float32Array }>();
  let offset = 0;
  for (const w of header.weights) {
    const n = w.shape.reduce((a, b) => a * b, 1);
    weights.set(w.name, { shape: w.shape, values: floats.subarray(offset, offset + n) });
    offset += n;
  }
  return { shape: header.shape, meta: header.meta, weights };
}
