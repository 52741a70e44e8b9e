/**
 * Issue 21's optimiser parts against hand-computed values: the Laplacian pyramid and colour basis
 * are exact inverses, gradients through the new parametrisation match finite differences, the
 * colour transfer gives the target statistics, L-BFGS's two-loop recursion ends a convex
 * quadratic in ≤ n steps, and none of it leaks tensors.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { colourStats, matchColours, MAX_CONTRAST_GAIN, mixColourStats, multiply, symmetricEigen, symmetricPower, type Mat3 } from '../../server/engine/colour-transfer.js';
import { createImageParameters, DECORRELATED, invert3 } from '../../server/engine/image-parameters.js';
import { decompose, pyramidSizes, reconstruct } from '../../server/engine/laplacian-pyramid.js';
import { createLbfgs, dot } from '../../server/engine/lbfgs.js';
import { seededValues, useWasm } from '../helpers/backend.js';

beforeAll(useWasm);

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function randomImage(h: number, w: number, seed: number): tf.Tensor4D {
  return tf.tensor4d(Float32Array.from(seededValues(h * w * 3, seed), (v) => 0.5 + 0.5 * v), [1, h, w, 3]);
}

describe('Laplacian pyramid', () => {
  it('halves each level (rounding up) and stops before a side gets under 2 px', () => {
    expect(pyramidSizes(144, 256, 5)).toEqual([[144, 256], [72, 128], [36, 64], [18, 32], [9, 16]]);
    expect(pyramidSizes(7, 5, 6)).toEqual([[7, 5], [4, 3]]);
    expect(pyramidSizes(10, 10, 1)).toEqual([[10, 10]]);
  });

  it('reconstruct(decompose(x)) is x within 1e-5, odd sizes included', () => {
    for (const [h, w, levels] of [[144, 256, 5], [37, 53, 4], [9, 9, 3]] as const) {
      const before = tf.memory().numTensors;
      const x = randomImage(h, w, h + w);
      const parts = decompose(x, levels);
      expect(parts[0]!.shape).toEqual([1, h, w, 3]);
      const back = reconstruct(parts);
      expect(maxAbsDiff(back.dataSync(), x.dataSync())).toBeLessThan(1e-5);
      tf.dispose([x, back, ...parts]);
      expect(tf.memory().numTensors).toBe(before);
    }
  });

  it('the coarse level holds the picture at low resolution: a flat picture has zero detail levels', () => {
    const flat = tf.fill([1, 16, 24, 3], 0.4) as tf.Tensor4D;
    const parts = decompose(flat, 3);
    expect(maxAbsDiff(parts[0]!.dataSync(), new Float32Array(parts[0]!.size))).toBeLessThan(1e-6);
    expect(maxAbsDiff(parts[2]!.dataSync(), new Float32Array(parts[2]!.size).fill(0.4))).toBeLessThan(1e-6);
    tf.dispose([flat, ...parts]);
  });
});

describe('colour basis and image parameters', () => {
  it('the decorrelated basis and its inverse multiply to the identity', () => {
    const product = multiply(DECORRELATED as Mat3, invert3(DECORRELATED) as Mat3);
    expect(maxAbsDiff(product.flat(), [1, 0, 0, 0, 1, 0, 0, 0, 1])).toBeLessThan(1e-12);
    expect(() => invert3([[1, 2, 3], [2, 4, 6], [0, 0, 1]])).toThrow(/singular/);
  });

  for (const shape of [{ pyramidLevels: 1, colourBasis: 'rgb' }, { pyramidLevels: 4, colourBasis: 'rgb' }, { pyramidLevels: 4, colourBasis: 'decorrelated' }, { pyramidLevels: 1, colourBasis: 'decorrelated' }] as const) {
    const label = `${shape.pyramidLevels} level(s), ${shape.colourBasis}`;
    it(`${label}: assign() then render() gives the picture back; project() clips and keeps render() = picture`, () => {
      const before = tf.memory().numTensors;
      const x = randomImage(20, 28, 7);
      const p = createImageParameters(shape, x);
      const rendered = tf.tidy(() => p.render().clone());
      expect(maxAbsDiff(rendered.dataSync(), x.dataSync())).toBeLessThan(1e-5);
      // Push the picture out of range, then project.
      const pushed = tf.tidy(() => tf.mul(tf.sub(x, 0.5), 3) as tf.Tensor4D);
      p.assign(pushed);
      p.project();
      const picture = p.picture.dataSync();
      expect(Math.min(...picture)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...picture)).toBeLessThanOrEqual(1);
      const clipped = tf.clipByValue(pushed, 0, 1);
      expect(maxAbsDiff(picture, clipped.dataSync())).toBeLessThan(1e-5);
      clipped.dispose();
      const again = tf.tidy(() => p.render().clone());
      expect(maxAbsDiff(again.dataSync(), picture)).toBeLessThan(1e-5);
      tf.dispose([x, rendered, pushed, again]);
      p.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });

    it(`${label}: gradients through render() match finite differences`, () => {
      const x = randomImage(12, 16, 3);
      const weights = randomImage(12, 16, 4);
      const p = createImageParameters(shape, x);
      // A smooth cost of the picture: Σ w·x² + Σ sin(3x).
      const cost = (): tf.Scalar => tf.tidy(() => {
        const picture = p.render();
        return tf.add(tf.sum(tf.mul(weights, tf.square(picture))), tf.sum(tf.sin(tf.mul(picture, 3)))) as tf.Scalar;
      });
      const { grads } = tf.variableGrads(cost, p.variables);
      const eps = 1e-2;
      for (const [k, v] of p.variables.entries()) {
        const analytic = grads[v.name]!.dataSync();
        const values = v.dataSync().slice();
        for (const i of [0, 5, Math.floor(v.size / 2), v.size - 1]) {
          const probe = (delta: number): number => {
            const moved = values.slice();
            moved[i]! += delta;
            v.assign(tf.tensor(moved, v.shape));
            return cost().dataSync()[0]!;
          };
          const numeric = (probe(eps) - probe(-eps)) / (2 * eps);
          v.assign(tf.tensor(values, v.shape));
          expect(Math.abs(numeric - analytic[i]!), `variable ${k} coordinate ${i}`).toBeLessThan(2e-2 * Math.max(1, Math.abs(analytic[i]!)));
        }
      }
      tf.dispose([x, weights, ...Object.values(grads)]);
      p.dispose();
    });
  }
});

describe('colour transfer', () => {
  const spd: Mat3 = [[0.04, 0.01, 0.005], [0.01, 0.03, 0.002], [0.005, 0.002, 0.02]];

  it('eigen-decomposes a symmetric matrix: V·diag(λ)·Vᵀ = A, and Σ^½·Σ^½ = Σ, Σ^½·Σ^−½ = I', () => {
    const { values, vectors } = symmetricEigen(spd);
    const rebuilt = [0, 1, 2].map((i) => [0, 1, 2].map((j) => [0, 1, 2].reduce((s, k) => s + vectors[i]![k]! * values[k]! * vectors[j]![k]!, 0)));
    expect(maxAbsDiff(rebuilt.flat(), spd.flat())).toBeLessThan(1e-12);
    const root = symmetricPower(spd, 0.5);
    expect(maxAbsDiff(multiply(root, root).flat(), spd.flat())).toBeLessThan(1e-12);
    expect(maxAbsDiff(multiply(root, symmetricPower(spd, -0.5)).flat(), [1, 0, 0, 0, 1, 0, 0, 0, 1])).toBeLessThan(1e-9);
  });

  it('computes mean and covariance by hand, and pooled statistics equal those of the pooled pixels', () => {
    const a = [0, 0, 0, 255, 255, 255];
    const stats = colourStats(a);
    expect(stats.mean).toEqual([0.5, 0.5, 0.5]);
    expect(stats.covariance[0]![1]).toBeCloseTo(0.25, 12);
    const b = [255, 0, 0, 0, 0, 255, 0, 255, 0, 51, 102, 153];
    const pooled = mixColourStats([{ stats: colourStats(a), share: 2 / 6 }, { stats: colourStats(b), share: 4 / 6 }]);
    const direct = colourStats([...a, ...b]);
    expect(maxAbsDiff(pooled.mean, direct.mean)).toBeLessThan(1e-12);
    expect(maxAbsDiff(pooled.covariance.flat(), direct.covariance.flat())).toBeLessThan(1e-12);
  });

  it("gives the photo the style's mean and covariance (where nothing clips); strength 0 leaves it alone", () => {
    const photo = tf.tidy(() => tf.add(tf.mul(randomImage(30, 40, 11), 0.2), 0.4) as tf.Tensor4D); // 0.4–0.6: no clipping after
    const target = { mean: [0.45, 0.5, 0.55] as [number, number, number], covariance: [[0.004, 0.001, 0], [0.001, 0.003, 0.0005], [0, 0.0005, 0.002]] as Mat3 };
    const matched = matchColours(photo, target);
    const got = colourStats(matched.dataSync(), 1);
    expect(maxAbsDiff(got.mean, target.mean)).toBeLessThan(1e-5);
    expect(maxAbsDiff(got.covariance.flat(), target.covariance.flat())).toBeLessThan(1e-6);
    const untouched = matchColours(photo, target, 0);
    expect(maxAbsDiff(untouched.dataSync(), photo.dataSync())).toBeLessThan(1e-6);
    tf.dispose([photo, matched, untouched]);
  });

  it('does not blow a near-black frame up to the style\'s contrast: its spread grows at most MAX_CONTRAST_GAIN times', () => {
    // Black with ±1 grey level of noise, as a dark video frame.
    const dark = tf.tensor4d(Float32Array.from(seededValues(24 * 32 * 3, 5), (v) => 0.02 + v / 255), [1, 24, 32, 3]);
    const style = { mean: [0.3, 0.4, 0.6] as [number, number, number], covariance: [[0.05, 0.01, 0], [0.01, 0.04, 0.01], [0, 0.01, 0.06]] as Mat3 };
    const out = matchColours(dark, style);
    const spread = (m: Mat3): number => Math.sqrt(m[0][0] + m[1][1] + m[2][2]);
    const before = spread(colourStats(dark.dataSync(), 1).covariance);
    const after = colourStats(out.dataSync(), 1);
    expect(spread(after.covariance)).toBeLessThan(before * MAX_CONTRAST_GAIN * 1.01);
    expect(spread(after.covariance)).toBeGreaterThan(before * 2); // raised, as far as the cap (and Σ's floor) allow
    expect(maxAbsDiff(after.mean, style.mean)).toBeLessThan(1e-3); // the style's mean colour all the same
    tf.dispose([dark, out]);
  });
});

describe('L-BFGS two-loop recursion', () => {
  it('minimises an n-dimensional convex quadratic in at most n steps with exact line searches', () => {
    const n = 6;
    // A = QᵀQ + I (symmetric positive definite), b fixed: f(x) = ½xᵀAx − bᵀx, ∇f = Ax − b.
    const q = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => Math.sin(1 + i * 7 + j * 3)));
    const a = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => q.reduce((s, row) => s + row[i]! * row[j]!, 0) + (i === j ? 1 : 0)));
    const b = Float64Array.from({ length: n }, (_, i) => i - 2);
    const times = (v: Float64Array): Float64Array => Float64Array.from(a, (row) => row.reduce((s, aij, j) => s + aij * v[j]!, 0));
    const gradient = (x: Float64Array): Float64Array => times(x).map((v, i) => v - b[i]!);
    const lbfgs = createLbfgs(n);
    let x = new Float64Array(n);
    let g = gradient(x);
    let steps = 0;
    while (Math.sqrt(dot(g, g)) > 1e-9 && steps < 3 * n) {
      const d = lbfgs.direction(g);
      expect(dot(d, g)).toBeLessThan(0); // a descent direction
      const t = -dot(g, d) / dot(d, times(d)); // exact line search on the quadratic
      const next = x.map((v, i) => v + t * d[i]!);
      const gNext = gradient(next);
      lbfgs.remember(next.map((v, i) => v - x[i]!), gNext.map((v, i) => v - g[i]!));
      x = next;
      g = gNext;
      steps++;
    }
    expect(steps).toBeLessThanOrEqual(n);
    // The minimiser solves Ax = b.
    expect(maxAbsDiff(times(x), b)).toBeLessThan(1e-8);
  });

  it('skips a pair without positive curvature and keeps at most `memory` pairs', () => {
    const lbfgs = createLbfgs(2);
    expect(lbfgs.remember(Float64Array.of(1, 0), Float64Array.of(-1, 0))).toBe(false);
    expect(lbfgs.pairs).toBe(0);
    expect(Array.from(lbfgs.direction(Float64Array.of(2, -4)))).toEqual([-2, 4]); // no pairs: −g
    for (let k = 1; k <= 3; k++) lbfgs.remember(Float64Array.of(k, 1), Float64Array.of(2 * k, 1));
    expect(lbfgs.pairs).toBe(2);
    lbfgs.reset();
    expect(lbfgs.pairs).toBe(0);
  });
});
