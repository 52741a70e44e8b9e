/**
 * The stroke painter (issue 22): its weight gradients on wasm (made of painter-layers.ts' custom
 * ops) against the same network written with stock ops on the pure-JS cpu backend; an untrained
 * painter returns the photo; a saved and loaded painter paints exactly the same; the keyframe
 * trainer lowers the error on a frame it never trains on; 200 frames of training and painting
 * leave no tensor behind.
 */
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RgbImage } from '../../server/engine/image.js';
import { createKeyframeTrainer, type Keyframe } from '../../server/engine/painter-net/keyframe-trainer.js';
import { paintImage } from '../../server/engine/painter-net/paint-with.js';
import { createPainterNet, type PainterNet } from '../../server/engine/painter-net/painter-net.js';
import { loadPainter, savePainter } from '../../server/engine/painter-net/painter-store.js';
import { convSame } from '../../server/engine/painter-net/painter-layers.js';
import { onCpu, relativeError, sameFloats, seededValues, useWasm } from '../helpers/backend.js';
import { tempDir } from '../helpers/paths.js';

beforeAll(useWasm);

const SHAPE = { kind: 'unet' as const, channels: 4, blocks: 1 };

/** The U-Net with stock ops only (tf.conv2d; space-to-depth and back as reshape/transpose). */
function stockUnet(photo: tf.Tensor4D, w: Record<string, tf.Tensor>, blocks: number): tf.Tensor4D {
  const conv = (x: tf.Tensor4D, name: string): tf.Tensor4D => tf.add(tf.conv2d(x, w[`${name}/kernel`] as tf.Tensor4D, 1, 'same'), w[`${name}/bias`]!) as tf.Tensor4D;
  const s2d = (x: tf.Tensor4D): tf.Tensor4D => {
    const [n, h, wd, c] = x.shape;
    return tf.reshape(tf.transpose(tf.reshape(x, [n, h / 2, 2, wd / 2, 2, c]), [0, 1, 3, 2, 4, 5]), [n, h / 2, wd / 2, 4 * c]);
  };
  const d2s = (x: tf.Tensor4D): tf.Tensor4D => {
    const [n, h, wd, c4] = x.shape;
    const c = c4 / 4;
    return tf.reshape(tf.transpose(tf.reshape(x, [n, h, wd, 2, 2, c]), [0, 1, 3, 2, 4, 5]), [n, 2 * h, 2 * wd, c]);
  };
  const relu = (x: tf.Tensor): tf.Tensor4D => tf.relu(x) as tf.Tensor4D;
  const e0 = relu(conv(tf.sub(photo, 0.5) as tf.Tensor4D, 'e0'));
  const e1 = relu(conv(relu(conv(s2d(e0), 'down1')), 'e1'));
  let q = relu(conv(s2d(e1), 'down2'));
  for (let i = 0; i < blocks; i++) q = tf.add(q, conv(relu(conv(q, `res${i}_a`)), `res${i}_b`)) as tf.Tensor4D;
  const m1 = relu(conv(relu(tf.add(d2s(conv(q, 'up2')), e1)), 'm1'));
  const m0 = relu(conv(relu(tf.add(d2s(conv(m1, 'up1')), e0)), 'm0'));
  return tf.clipByValue(tf.add(photo, conv(m0, 'out')), 0, 1) as tf.Tensor4D;
}

/** A painter with weights that are not the initial ones (the last conv starts at zero). */
async function scrambled(seed: number): Promise<PainterNet> {
  const painter = createPainterNet(SHAPE, seed);
  const weights = await painter.read();
  let s = seed * 10;
  for (const w of weights.values()) w.values.set(seededValues(w.values.length, s++).map((v) => v * 0.3));
  painter.write(weights);
  return painter;
}

describe('the U-Net painter', () => {
  it('its weight gradients (custom ops, wasm, batch of 2) match the stock network on the cpu backend', async () => {
    const painter = await scrambled(3);
    const weights = await painter.read();
    const photo = seededValues(2 * 8 * 12 * 3, 4).map((v) => (v + 1) / 2);
    const r = seededValues(2 * 8 * 12 * 3, 5);
    const ours = tf.tidy(() => {
      const x = tf.tensor4d(photo, [2, 8, 12, 3]);
      const { grads } = tf.variableGrads(() => tf.sum(tf.mul(painter.apply(x), tf.tensor4d(r, [2, 8, 12, 3]))) as tf.Scalar, painter.variables as tf.Variable[]);
      return painter.variables.map((v) => grads[v.name]!.dataSync() as Float32Array);
    });
    const names = [...weights.keys()];
    const stock = await onCpu(() =>
      tf.tidy(() => {
        const tensors = names.map((n) => tf.tensor(weights.get(n)!.values, weights.get(n)!.shape));
        const g = tf.grads((...ws: tf.Tensor[]) => {
          const byName = Object.fromEntries(names.map((n, i) => [n, ws[i]!]));
          return tf.sum(tf.mul(stockUnet(tf.tensor4d(photo, [2, 8, 12, 3]), byName, SHAPE.blocks), tf.tensor4d(r, [2, 8, 12, 3])));
        })(tensors);
        return g.map((t) => t.dataSync() as Float32Array);
      }),
    );
    expect(ours).toHaveLength(names.length);
    for (let i = 0; i < names.length; i++) expect(relativeError(ours[i]!, stock[i]!), names[i]).toBeLessThan(1e-3);
    painter.dispose();
  });

  it('convSame takes a batch: each image gets its own gradient', async () => {
    const x = seededValues(3 * 6 * 7 * 5, 6);
    const w = seededValues(3 * 3 * 5 * 4, 7);
    const b = seededValues(4, 8);
    const f = (conv: (a: tf.Tensor4D, k: tf.Tensor4D, c: tf.Tensor1D) => tf.Tensor4D): Float32Array[] =>
      tf.tidy(() =>
        tf.grads((a: tf.Tensor, k: tf.Tensor, c: tf.Tensor) => tf.sum(tf.square(conv(a as tf.Tensor4D, k as tf.Tensor4D, c as tf.Tensor1D))))([tf.tensor4d(x, [3, 6, 7, 5]), tf.tensor4d(w, [3, 3, 5, 4]), tf.tensor1d(b)]).map((g) => g.dataSync() as Float32Array),
      );
    const stock = await onCpu(() => f((a, k, c) => tf.add(tf.conv2d(a, k, 1, 'same'), c) as tf.Tensor4D));
    const ours = f(convSame);
    for (let i = 0; i < 3; i++) expect(relativeError(ours[i]!, stock[i]!)).toBeLessThan(1e-4);
  });

  it('untrained, it returns the photo', () => {
    const painter = createPainterNet(SHAPE, 2);
    const photo = seededValues(12 * 16 * 3, 9).map((v) => (v + 1) / 2);
    const out = tf.tidy(() => painter.apply(tf.tensor4d(photo, [1, 12, 16, 3])).dataSync());
    expect(relativeError(out, photo)).toBeLessThan(1e-6);
    painter.dispose();
  });

  it('saved and loaded, it paints exactly the same', async () => {
    const { dir, cleanup } = await tempDir('stylize-unet-store-');
    const painter = await scrambled(4);
    try {
      await savePainter(`${dir}/p.slpaint`, painter, { style: 's', contentWeight: 1, styleWeight: 2, steps: 3, framesSeen: 4 });
      const { painter: loaded } = await loadPainter(`${dir}/p.slpaint`);
      expect(loaded.shape).toEqual(SHAPE);
      const photo = seededValues(8 * 16 * 3, 10).map((v) => (v + 1) / 2);
      const paint = (p: PainterNet): Float32Array => tf.tidy(() => p.apply(tf.tensor4d(photo, [1, 8, 16, 3])).dataSync() as Float32Array);
      expect(sameFloats(paint(loaded), paint(painter))).toBe(true);
      loaded.dispose();
    } finally {
      painter.dispose();
      await cleanup();
    }
  });
});

/** A frame of soft blobs, and its "painting": a fixed colour remap plus dark edges (what strokes look like to L1). */
function syntheticKeyframe(seed: number, width = 48, height = 32): Keyframe {
  const values = seededValues(8, seed);
  const photo = new Uint8Array(width * height * 3);
  const painting = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const a = 0.5 + 0.5 * Math.sin(x * (0.2 + 0.1 * values[0]!) + y * 0.15 * values[1]! + 3 * values[2]!);
      const b = 0.5 + 0.5 * Math.cos(y * (0.25 + 0.1 * values[3]!) - x * 0.1 * values[4]!);
      const i = (y * width + x) * 3;
      const rgb = [a, b, 0.5 * (a + b)];
      const stripe = Math.abs(a - 0.5) < 0.08 ? 0.3 : 1;
      for (let c = 0; c < 3; c++) {
        photo[i + c] = Math.round(255 * rgb[c]!);
        painting[i + c] = Math.round(255 * stripe * (0.2 + 0.6 * rgb[(c + 1) % 3]!));
      }
    }
  }
  return { photo: { width, height, data: photo }, painting: { width, height, data: painting } };
}

describe('the keyframe trainer', () => {
  const painters: PainterNet[] = [];
  afterAll(() => painters.forEach((p) => p.dispose()));

  it('lowers the error on a frame it never trained on', async () => {
    const painter = createPainterNet({ kind: 'unet', channels: 8, blocks: 1 }, 1);
    painters.push(painter);
    const trainer = createKeyframeTrainer(painter, undefined, { patch: 24, batch: 4, learningRate: 5e-3, perceptualWeight: 0, seed: 2 });
    trainer.setKeyframes([1, 2, 3].map((s) => syntheticKeyframe(s)));
    const heldOut = [syntheticKeyframe(7)];
    const before = await trainer.evaluate(heldOut);
    for (let i = 0; i < 120; i++) await trainer.step();
    const after = await trainer.evaluate(heldOut);
    expect(trainer.steps).toBe(120);
    expect(after).toBeLessThan(0.6 * before);
    trainer.dispose();
  });

  it('200 frames of training and painting leave no tensor behind', async () => {
    const start = tf.memory().numTensors;
    const painter = createPainterNet({ kind: 'unet', channels: 4, blocks: 1 }, 1);
    const trainer = createKeyframeTrainer(painter, undefined, { patch: 16, batch: 2, learningRate: 1e-3, perceptualWeight: 0 });
    const frame: RgbImage = syntheticKeyframe(5, 32, 16).photo;
    // Warm up once: tfjs-wasm and Adam make their long-lived state on first use.
    trainer.setKeyframes([syntheticKeyframe(4, 32, 16)]);
    await trainer.step();
    (await paintImage(painter, frame)).data.length;
    const before = tf.memory().numTensors;
    for (let i = 0; i < 200; i++) {
      if (i % 50 === 0) trainer.setKeyframes([syntheticKeyframe(4 + i, 32, 16)]);
      await trainer.step();
      await paintImage(painter, frame);
    }
    trainer.setKeyframes([syntheticKeyframe(4, 32, 16)]);
    expect(tf.memory().numTensors).toBe(before);
    // Disposed, the trainer (its keyframes and Adam's state) and the painter leave nothing.
    trainer.dispose();
    trainer.dispose(); // safe twice
    painter.dispose();
    expect(tf.memory().numTensors).toBe(start);
  });
});
