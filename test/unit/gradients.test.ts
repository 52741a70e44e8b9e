/**
 * The hand-written gradients (computed on wasm) against tfjs's stock gradients of the plain
 * formulation (computed on the pure-JS cpu backend): relative error ≤ 1e-5.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { convRelu, gramStyleCost, makeConvWeights, reflectPad, transpose2d } from '../../server/engine/gradients.js';
import { layerStyleCost } from '../../server/engine/losses.js';
import { onCpu, relativeError, seededValues, useWasm } from '../helpers/backend.js';
import { reflectByConcat } from '../helpers/reference.js';

beforeAll(useWasm);

const TOLERANCE = 1e-5;

/** Gradient of Σ(f(x)·R) w.r.t. x, with R fixed random weights so every output matters. */
function gradOf(f: (x: tf.Tensor4D) => tf.Tensor, x: Float32Array, shape: [number, number, number, number], seed = 7): Float32Array {
  return tf.tidy(() => {
    const input = tf.tensor4d(x, shape);
    const outShape = tf.tidy(() => f(input).shape);
    const r = tf.tensor(seededValues(outShape.reduce((a, b) => a * b, 1), seed), outShape);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t as tf.Tensor4D), r)))(input);
    return g.dataSync() as Float32Array;
  });
}

describe('convRelu input gradient', () => {
  for (const [padding, k, cin, cout] of [
    ['same', 3, 3, 8],
    ['same', 3, 16, 24],
    ['valid', 5, 3, 6],
    ['valid', 7, 4, 5],
  ] as const) {
    it(`matches Conv2DBackpropInput for ${k}×${k} ${padding}, ${cin}→${cout}`, async () => {
      const shape: [number, number, number, number] = [1, 13, 11, cin];
      const x = seededValues(13 * 11 * cin, 1);
      const kernel = seededValues(k * k * cin * cout, 2);
      const bias = seededValues(cout, 3);
      const stock = await onCpu(() =>
        gradOf(
          (t) => tf.relu(tf.add(tf.conv2d(t, tf.tensor4d(kernel, [k, k, cin, cout]), 1, padding), tf.tensor1d(bias))),
          x,
          shape,
        ),
      );
      const weights = makeConvWeights(tf.tensor4d(kernel, [k, k, cin, cout]), tf.tensor1d(bias));
      const ours = gradOf((t) => convRelu(t, weights, padding), x, shape);
      expect(relativeError(ours, stock)).toBeLessThan(TOLERANCE);
      // And the forward values agree too.
      const fwd = tf.tidy(() => convRelu(tf.tensor4d(x, shape), weights, padding).dataSync());
      const fwdStock = await onCpu(() =>
        tf.tidy(() => tf.relu(tf.add(tf.conv2d(tf.tensor4d(x, shape), tf.tensor4d(kernel, [k, k, cin, cout]), 1, padding), tf.tensor1d(bias))).dataSync()),
      );
      expect(relativeError(fwd, fwdStock)).toBeLessThan(TOLERANCE);
    });
  }
});

describe('gramStyleCost gradient', () => {
  it('matches the stock gradient of the literal layer style cost', async () => {
    const shape: [number, number, number, number] = [1, 9, 7, 12];
    const x = seededValues(9 * 7 * 12, 4);
    const s = seededValues(9 * 7 * 12, 5);
    const stock = await onCpu(() =>
      tf.tidy(() => tf.grad((t: tf.Tensor) => layerStyleCost(tf.tensor4d(s, shape), t as tf.Tensor4D))(tf.tensor4d(x, shape)).dataSync()),
    );
    const ours = tf.tidy(() => {
      const sAct = tf.tensor4d(s, shape);
      const target = tf.matMul(tf.transpose(tf.reshape(sAct, [63, 12])), tf.reshape(sAct, [63, 12])) as tf.Tensor2D;
      const c = 1 / (4 * 12 * 12 * 63 * 63);
      return tf.grad((t: tf.Tensor) => gramStyleCost(t as tf.Tensor4D, target, c))(tf.tensor4d(x, shape)).dataSync();
    });
    expect(relativeError(ours, stock)).toBeLessThan(TOLERANCE);
  });
});

describe('reflectPad gradient', () => {
  it('equals the exact adjoint (tfjs MirrorPad_grad only crops)', async () => {
    const shape: [number, number, number, number] = [1, 8, 10, 3];
    const x = seededValues(8 * 10 * 3, 6);
    for (const p of [1, 2, 3]) {
      const stock = await onCpu(() => gradOf((t) => reflectByConcat(t, p), x, shape));
      const ours = gradOf((t) => reflectPad(t, p), x, shape);
      expect(relativeError(ours, stock)).toBeLessThan(TOLERANCE);
      const forward = tf.tidy(() => reflectPad(tf.tensor4d(x, shape), p).dataSync());
      const forwardRef = await onCpu(() => tf.tidy(() => reflectByConcat(tf.tensor4d(x, shape), p).dataSync()));
      expect(relativeError(forward, forwardRef)).toBe(0);
    }
  });
});

describe('transpose2d', () => {
  it('equals tf.transpose for tiled and untiled shapes', () => {
    for (const [n, c] of [[128, 5], [40, 3], [63, 4], [4096, 64]] as const) {
      const x = tf.tensor2d(seededValues(n * c, n), [n, c]);
      expect(Array.from(transpose2d(x).dataSync())).toEqual(Array.from(tf.transpose(x).dataSync()));
      expect(transpose2d(x).shape).toEqual([c, n]);
    }
  });
});
