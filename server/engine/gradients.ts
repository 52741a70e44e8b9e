/**
 * Differentiable building blocks with hand-written gradients that keep tfjs-wasm fast.
 *
 * Stock tfjs-wasm computes a conv's input gradient with `Conv2DBackpropInput`, ~14× slower than a
 * forward conv (it is not XNNPACK-backed), and a Gram gradient with transposed `BatchMatMul`
 * (~12× slower). Here every gradient is expressed with the fast forward kernels instead:
 *  - conv: ∂x = conv(∂y ⊙ relu′, W′) where W′ is W flipped in space with in/out swapped
 *    (computed once per layer), padded so the result has x's shape;
 *  - Gram style cost: ∂F = 4c · F · (G − S), a plain matMul, no transposed operand;
 *  - reflect padding: the exact adjoint (mirrored borders folded back), where tfjs's own
 *    MirrorPad gradient simply crops and loses the border contributions.
 * Weights are closed over, never inputs, so nothing asks for (frozen) filter gradients.
 * `test/unit/gradients.test.ts` checks each against the `cpu` backend's stock gradients.
 */
import * as tf from '@tensorflow/tfjs-core';

/** A conv layer's constants: forward kernel [kh,kw,in,out], bias [out], and the backward kernel. */
export interface ConvWeights {
  readonly kernel: tf.Tensor4D;
  readonly bias: tf.Tensor1D | undefined;
  /** kernel flipped in both spatial axes with in/out channels swapped: [kh,kw,out,in]. */
  readonly backKernel: tf.Tensor4D;
}

/** Makes the constants for one conv layer; the caller owns (and disposes) the tensors. */
export function makeConvWeights(kernel: tf.Tensor4D, bias?: tf.Tensor1D): ConvWeights {
  const backKernel = tf.tidy(() => tf.transpose(tf.reverse(kernel, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D);
  return { kernel, bias, backKernel };
}

export function disposeConvWeights(weights: ConvWeights): void {
  weights.kernel.dispose();
  weights.bias?.dispose();
  weights.backKernel.dispose();
}

export type ConvPadding = 'same' | 'valid';

type UnaryGradient<T extends tf.Tensor> = (
  input: tf.Tensor,
  save: tf.GradSaveFunc,
) => { value: T; gradFunc: (dy: T, saved: tf.Tensor[]) => tf.Tensor };

/** tf.customGrad for a function of one tensor, typed. */
function unary<T extends tf.Tensor>(f: UnaryGradient<T>): (x: tf.Tensor) => T {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) =>
    f(args[0] as tf.Tensor, args[1] as tf.GradSaveFunc) as { value: T; gradFunc: (dy: T, saved: tf.Tensor[]) => tf.Tensor },
  );
  return (x) => op(x) as T;
}

/**
 * activation(conv(x, W) + b), stride 1, odd square kernels, with the fast input gradient.
 * 'same' → ∂x = conv_same(∂z, W′); 'valid' → ∂x = conv(∂z, W′) with k−1 zeros each side ("full").
 */
export function conv(x: tf.Tensor4D, weights: ConvWeights, padding: ConvPadding, activation: 'relu' | 'linear'): tf.Tensor4D {
  const k = weights.kernel.shape[0];
  const backPad: ConvPadding | [[number, number], [number, number], [number, number], [number, number]] =
    padding === 'same' ? 'same' : [[0, 0], [k - 1, k - 1], [k - 1, k - 1], [0, 0]];
  const op = unary<tf.Tensor4D>((input, save) => {
    const y = tf.fused.conv2d({
      x: input as tf.Tensor4D,
      filter: weights.kernel,
      strides: 1,
      pad: padding,
      bias: weights.bias,
      activation,
    });
    if (activation === 'relu') save([y]);
    return {
      value: y,
      gradFunc: (dy, saved) => {
        const z = activation === 'relu' ? reluBackward(dy, saved[0] as tf.Tensor4D) : dy;
        return tf.conv2d(z, weights.backKernel, 1, backPad);
      },
    };
  });
  return op(x);
}

export function convRelu(x: tf.Tensor4D, weights: ConvWeights, padding: ConvPadding): tf.Tensor4D {
  return conv(x, weights, padding, 'relu');
}

/** ∂z = ∂y where the relu output was positive, else 0. */
function reluBackward(dy: tf.Tensor4D, y: tf.Tensor4D): tf.Tensor4D {
  return tf.mul(dy, tf.step(y, 0));
}

/**
 * Gram-matrix style cost for one layer with a fast gradient:
 *   J = c · Σ (FᵀF − S)², F the activations as (nH·nW, nC), S the target Gram, c a constant.
 *   ∂J/∂F = 4c · F · (FᵀF − S)  (the Gram is symmetric).
 */
export function gramStyleCost(activation: tf.Tensor4D, target: tf.Tensor2D, c: number): tf.Scalar {
  const [, h, w, channels] = activation.shape;
  const op = unary<tf.Scalar>((input, save) => {
    const features = tf.reshape(input, [h * w, channels]) as tf.Tensor2D;
    const diff = tf.sub(gramOfFeatures(features), target);
    save([features, diff]);
    return {
      value: tf.mul(tf.sum(tf.square(diff)), c) as tf.Scalar,
      gradFunc: (dy, saved) => {
        const [f, d] = saved as [tf.Tensor2D, tf.Tensor2D];
        const grad = tf.mul(tf.matMul(f, d), tf.mul(dy, 4 * c));
        return tf.reshape(grad, input.shape);
      },
    };
  });
  return op(activation);
}

/** G = FᵀF for F of shape (n, c), via an explicit transpose (transposed matMul is slow on wasm). */
export function gramOfFeatures(features: tf.Tensor2D): tf.Tensor2D {
  return tf.matMul(transpose2d(features), features);
}

/**
 * Fᵀ for a tall (n, c) matrix. tfjs-wasm's Transpose walks a tall matrix with a stride that
 * defeats the cache (25 ms for 36864×64); transposing b×c tiles first, then moving whole rows,
 * does the same in 6 ms. Falls back to the plain transpose when no tile size divides n.
 */
export function transpose2d(features: tf.Tensor2D): tf.Tensor2D {
  const [n, c] = features.shape;
  const tile = [64, 32, 16, 8].find((b) => n % b === 0 && n > b);
  if (tile === undefined) return tf.transpose(features);
  const tilesTransposed = tf.transpose(tf.reshape(features, [n / tile, tile, c]), [0, 2, 1]);
  return tf.reshape(tf.transpose(tilesTransposed, [1, 0, 2]), [c, n]);
}

/** Reflect padding by p on H and W, with the exact adjoint as its gradient. */
export function reflectPad(x: tf.Tensor4D, p: number): tf.Tensor4D {
  if (p === 0) return x;
  const op = unary<tf.Tensor4D>((input) => ({
    value: tf.mirrorPad(input as tf.Tensor4D, [[0, 0], [p, p], [p, p], [0, 0]], 'reflect'),
    gradFunc: (dy) => foldReflect(foldReflect(dy as tf.Tensor4D, 1, p), 2, p),
  }));
  return op(x);
}

/**
 * Adjoint of reflect padding along one axis: padded[i] = x[p − i] for i < p and
 * padded[p + n + j] = x[n − 2 − j]; so those border rows are added back, mirrored, onto x.
 */
function foldReflect(dPadded: tf.Tensor4D, axis: 1 | 2, p: number): tf.Tensor4D {
  const size = dPadded.shape[axis] - 2 * p;
  const begin = (at: number): number[] => (axis === 1 ? [0, at, 0, 0] : [0, 0, at, 0]);
  const extent = (len: number): number[] => {
    const s = [...dPadded.shape];
    s[axis] = len;
    return s;
  };
  const padding = (before: number, after: number): [number, number][] =>
    axis === 1 ? [[0, 0], [before, after], [0, 0], [0, 0]] : [[0, 0], [0, 0], [before, after], [0, 0]];
  const centre = tf.slice(dPadded, begin(p), extent(size));
  const head = tf.reverse(tf.slice(dPadded, begin(0), extent(p)), axis); // lands on x[1 … p]
  const tail = tf.reverse(tf.slice(dPadded, begin(p + size), extent(p)), axis); // on x[n−1−p … n−2]
  return tf.addN([centre, tf.pad(head, padding(1, size - 1 - p)), tf.pad(tail, padding(size - 1 - p, 1))]) as tf.Tensor4D;
}

/** 2×2 average pooling, stride 2 (Gatys et al. use average rather than max pooling). */
export function avgPool2(x: tf.Tensor4D): tf.Tensor4D {
  return tf.avgPool(x, 2, 2, 'valid');
}
