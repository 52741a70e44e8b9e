/**
 * A painter saved and loaded paints exactly the same; a damaged, truncated or foreign file is a
 * WeightsError that names the file (the caller warns and trains again), never a crash.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WeightsError } from '../../server/errors.js';
import { createPainterNet, type PainterNet } from '../../server/engine/painter-net/painter-net.js';
import { loadPainter, savePainter } from '../../server/engine/painter-net/painter-store.js';
import { sameFloats, seededValues, useWasm } from '../helpers/backend.js';
import { tempDir } from '../helpers/paths.js';

let dir: string;
let cleanup: () => Promise<void>;
let painter: PainterNet;
const meta = { style: 'starry-night', contentWeight: 10, styleWeight: 40, steps: 12, framesSeen: 24, loss: 1.5 };

beforeAll(async () => {
  await useWasm();
  ({ dir, cleanup } = await tempDir('stylize-painter-store-'));
  // Weights that are not the initial ones (the last layer starts at zero: it would paint the photo).
  painter = createPainterNet({ channels: 8, blocks: 1 }, 5);
  const weights = await painter.read();
  let seed = 10;
  for (const w of weights.values()) w.values.set(seededValues(w.values.length, seed++).map((v) => v * 0.2));
  painter.write(weights);
});
afterAll(async () => {
  painter.dispose();
  await cleanup();
});

const photo = seededValues(16 * 24 * 3, 3).map((v) => (v + 1) / 2);

function paint(net: PainterNet): Float32Array {
  return tf.tidy(() => net.apply(tf.tensor4d(photo, [1, 16, 24, 3])).dataSync() as Float32Array);
}

describe('painter file', () => {
  it('round-trips: the loaded painter paints the same pixels, with its meta', async () => {
    const file = path.join(dir, 'a.painter');
    await savePainter(file, painter, meta);
    const tensors = tf.memory().numTensors;
    const loaded = await loadPainter(file);
    expect(loaded.meta).toEqual(meta);
    expect(loaded.painter.shape).toEqual({ channels: 8, blocks: 1 });
    const mine = paint(painter);
    expect(sameFloats(mine, photo)).toBe(false); // it paints: not the photo back
    expect(sameFloats(paint(loaded.painter), mine)).toBe(true);
    loaded.painter.dispose();
    expect(tf.memory().numTensors).toBe(tensors);
  });

  it('a damaged, truncated or foreign file: WeightsError naming the file, no tensors left', async () => {
    const file = path.join(dir, 'b.painter');
    await savePainter(file, painter, meta);
    const good = await readFile(file);
    const tensors = tf.memory().numTensors;
    const flipped = Buffer.from(good);
    flipped[flipped.length - 5]! ^= 0x40;
    for (const [bytes, why] of [
      [flipped, /checksum/],
      [good.subarray(0, good.length - 8), /holds \d+ bytes of weights/],
      [good.subarray(0, 20), /truncated/],
      [Buffer.from('{"not":"a painter"}'), /not a painter file/],
    ] as const) {
      await writeFile(file, bytes);
      const error = await loadPainter(file).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WeightsError);
      expect((error as Error).message).toContain(file);
      expect((error as Error).message).toMatch(why);
      expect((error as Error).message.split('\n')).toHaveLength(1);
    }
    expect(tf.memory().numTensors).toBe(tensors);
  });
});
