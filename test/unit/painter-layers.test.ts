/**
 * The painter's trainable layers (gradients computed on wasm, which has no stock conv filter
 * gradient at all) against tfjs's stock gradients of the plain formulation on the pure-JS cpu
 * backend: relative error ≤ 1e-4 for the input, the weights and the bias.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { convSame, depthToSpace, gridFreeBlur, patchify, spaceToDepth } from '../../server/engine/painter-net/painter-layers.js';
import { onCpu, relativeError, seededValues, useWasm } from '../helpers/backend.js';

beforeAll(useWasm);

const TOLERANCE = 1e-4;
type Shape4 = [number, number, number, number];

/** Gradients of Σ(f(x, W, b)·R) w.r.t. x, W and b, R fixed random weights so every output matters. */
function grads(
  f: (x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D) => tf.Tensor4D,
  values: { x: Float32Array; w: Float32Array; b: Float32Array },
  shapes: { x: Shape4; w: Shape4 },
): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.tensor4d(values.x, shapes.x);
    const w = tf.tensor4d(values.w, shapes.w);
    const b = tf.tensor1d(values.b);
    const outShape = tf.tidy(() => f(x, w, b).shape);
    const r = tf.tensor(seededValues(outShape.reduce((a, c) => a * c, 1), 9), outShape);
    const g = tf.grads((xs: tf.Tensor, ws: tf.Tensor, bs: tf.Tensor) => tf.sum(tf.mul(f(xs as tf.Tensor4D, ws as tf.Tensor4D, bs as tf.Tensor1D), r)))([x, w, b]);
    return g.map((t) => t.dataSync() as Float32Array);
  });
}

function case_(x: Shape4, w: Shape4): { values: { x: Float32Array; w: Float32Array; b: Float32Array }; shapes: { x: Shape4; w: Shape4 } } {
  const size = (s: Shape4): number => s.reduce((a, c) => a * c, 1);
  return { values: { x: seededValues(size(x), 1), w: seededValues(size(w), 2), b: seededValues(w[3], 3) }, shapes: { x, w } };
}

describe('convSame', () => {
  for (const [k, cin, cout] of [
    [3, 8, 8],
    [3, 5, 7],
    [1, 16, 48],
  ] as const) {
    it(`${k}×${k}, ${cin}→${cout}: x, W and b gradients match the stock ones`, async () => {
      const { values, shapes } = case_([1, 9, 13, cin], [k, k, cin, cout]);
      const stock = await onCpu(() => grads((x, w, b) => tf.add(tf.conv2d(x, w, 1, 'same'), b) as tf.Tensor4D, values, shapes));
      const ours = grads((x, w, b) => convSame(x, w, b), values, shapes);
      for (let i = 0; i < 3; i++) expect(relativeError(ours[i]!, stock[i]!)).toBeLessThan(TOLERANCE);
    });
  }
});

describe('patchify', () => {
  it('4×4 stride 4, 3→24: x, W and b gradients match the stock ones', async () => {
    const { values, shapes } = case_([1, 16, 24, 3], [4, 4, 3, 24]);
    const stock = await onCpu(() => grads((x, w, b) => tf.add(tf.conv2d(x, w, 4, 'valid'), b) as tf.Tensor4D, values, shapes));
    const ours = grads((x, w, b) => patchify(x, w, b), values, shapes);
    for (let i = 0; i < 3; i++) expect(relativeError(ours[i]!, stock[i]!)).toBeLessThan(TOLERANCE);
  });
});

describe('depthToSpace / spaceToDepth', () => {
  it('are inverses in tf.depthToSpace order, and the gradient is the adjoint', async () => {
    const x = seededValues(1 * 3 * 5 * 48, 4);
    const back = tf.tidy(() => spaceToDepth(tf.depthToSpace(tf.tensor4d(x, [1, 3, 5, 48]), 4, 'NHWC')).dataSync());
    expect(relativeError(back, x)).toBeLessThan(1e-7);
    const r = seededValues(1 * 12 * 20 * 3, 5);
    const grad = (f: (t: tf.Tensor4D) => tf.Tensor4D): Float32Array =>
      tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t as tf.Tensor4D), tf.tensor4d(r, [1, 12, 20, 3]))))(tf.tensor4d(x, [1, 3, 5, 48])).dataSync() as Float32Array);
    // The cpu backend's DepthToSpace has no gradient either: compare with the same map written
    // as reshape/transpose, whose gradients are stock.
    const stock = await onCpu(() =>
      grad((t) => tf.reshape(tf.transpose(tf.reshape(t, [1, 3, 5, 4, 4, 3]), [0, 1, 3, 2, 4, 5]), [1, 12, 20, 3]) as tf.Tensor4D),
    );
    expect(relativeError(grad(depthToSpace), stock)).toBeLessThan(TOLERANCE);
  });

  it('leaves no tensors behind', () => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const x = tf.variable(tf.randomUniform([1, 2, 3, 48]));
      const g = tf.variableGrads(() => tf.sum(depthToSpace(x as tf.Tensor4D)) as tf.Scalar, [x]);
      expect(g.grads[x.name]!.shape).toEqual([1, 2, 3, 48]);
      x.dispose();
    });
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('gridFreeBlur', () => {
  it('has no response at a 4- or 2-pixel period (a grid in, nothing out away from the border)', () => {
    // A pattern that repeats every 4 pixels in both axes, zero mean over a period.
    const h = 16;
    const w = 20;
    const values = new Float32Array(h * w * 3);
    const period = [3, -1, 2, -4];
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) values[(y * w + x) * 3 + c] = period[x % 4]! + period[(y + c) % 4]! * 0.5;
    const out = tf.tidy(() => gridFreeBlur(tf.tensor4d(values, [1, h, w, 3])).dataSync());
    for (let y = 2; y < h - 2; y++) for (let x = 2; x < w - 2; x++) for (let c = 0; c < 3; c++) expect(Math.abs(out[(y * w + x) * 3 + c]!)).toBeLessThan(1e-5);
    // A constant passes unchanged (the taps sum to 1).
    const flat = tf.tidy(() => gridFreeBlur(tf.fill([1, h, w, 3], 0.7) as tf.Tensor4D).dataSync());
    expect(flat[(8 * w + 10) * 3]).toBeCloseTo(0.7, 6);
  });

  it('its gradient matches the stock gradient of the same depthwise convolution', async () => {
    const x = seededValues(1 * 9 * 11 * 3, 6);
    const r = seededValues(1 * 9 * 11 * 3, 7);
    const taps = [1, 2, 2, 2, 1].map((v) => v / 8);
    const kernel = new Float32Array(25 * 3);
    for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) for (let c = 0; c < 3; c++) kernel[(i * 5 + j) * 3 + c] = taps[i]! * taps[j]!;
    const grad = (f: (t: tf.Tensor4D) => tf.Tensor4D): Float32Array =>
      tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t as tf.Tensor4D), tf.tensor4d(r, [1, 9, 11, 3]))))(tf.tensor4d(x, [1, 9, 11, 3])).dataSync() as Float32Array);
    const stock = await onCpu(() => grad((t) => tf.depthwiseConv2d(t, tf.tensor4d(kernel, [5, 5, 3, 1]), 1, 'same')));
    expect(relativeError(grad(gridFreeBlur), stock)).toBeLessThan(TOLERANCE);
  });
});
