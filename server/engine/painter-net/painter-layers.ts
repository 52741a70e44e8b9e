/**
 * Trainable layers for the feed-forward painter, with gradients that tfjs-wasm can run fast.
 *
 * tfjs-wasm has no `Conv2DBackpropFilter` kernel at all (stock weight gradients of a conv throw
 * there) and its `Conv2DBackpropInput` and transposed `BatchMatMul` are slow (see gradients.ts).
 * So every gradient here is made of fast forward kernels:
 *  - conv k×k, stride 1, 'same': ∂x = conv_same(∂y, W′) (W flipped, in/out swapped);
 *    ∂W = im2col(x)ᵀ·∂y — the k² shifted copies of x side by side, one tiled transpose, one matMul;
 *  - patchify (4×4 stride-4 conv, the painter's way down to ¼ resolution): ∂W = s2d(x)ᵀ·∂y and
 *    ∂x = d2s(∂y·W_rᵀ), with space-to-depth itself a stride-4 conv with a one-hot kernel;
 *  - depth-to-space (the way back up): its adjoint, space-to-depth, as that same one-hot conv;
 *  - the grid-free blur after it: a symmetric fixed filter with zero padding is its own adjoint.
 * Weights are inputs of the custom ops, so `tf.variableGrads` finds their gradients.
 * `test/unit/painter-layers.test.ts` checks each against the `cpu` backend's stock gradients.
 */
import * as tf from '@tensorflow/tfjs-core';
import { transpose2d } from '../gradients.js';

/** The painter's resolution step: 4×4 pixels ↔ one position at ¼ resolution. */
export const BLOCK = 4;

type Grads = (dy: tf.Tensor4D, saved: tf.Tensor[]) => tf.Tensor[];

/** tf.customGrad over several inputs, typed for our use. */
function custom(f: (inputs: tf.Tensor[], save: tf.GradSaveFunc) => { value: tf.Tensor4D; gradFunc: Grads }): (...inputs: tf.Tensor[]) => tf.Tensor4D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    return f(args.slice(0, -1) as tf.Tensor[], save) as unknown as { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[] };
  });
  return (...inputs) => op(...inputs) as tf.Tensor4D;
}

/** The k² shifted copies of x (zero-padded by (k−1)/2), side by side on the channels: [N·H·W, k²·C]. */
function im2col(x: tf.Tensor4D, k: number): tf.Tensor2D {
  const [n, h, w, c] = x.shape;
  if (k === 1) return tf.reshape(x, [n * h * w, c]);
  const p = (k - 1) / 2;
  const padded = tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]]);
  const shifted: tf.Tensor4D[] = [];
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) shifted.push(tf.slice(padded, [0, i, j, 0], [n, h, w, c]));
  return tf.reshape(tf.concat(shifted, 3), [n * h * w, k * k * c]);
}

/** W flipped in both spatial axes with in/out swapped: the kernel of a 'same' conv's input gradient. */
function backKernel(kernel: tf.Tensor4D): tf.Tensor4D {
  return tf.transpose(tf.reverse(kernel, [0, 1]), [0, 1, 3, 2]);
}

/** y = conv(x, W, stride 1, 'same') + b for odd square kernels, any batch; gradients for x, W and b. */
export function convSame(x: tf.Tensor4D, kernel: tf.Tensor4D, bias: tf.Tensor1D): tf.Tensor4D {
  const k = kernel.shape[0];
  if (k % 2 !== 1 || kernel.shape[1] !== k) throw new RangeError(`convSame needs an odd square kernel, got ${kernel.shape.join('×')}`);
  return custom(([input, w, b], save) => {
    const value = tf.add(tf.conv2d(input as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'), b!) as tf.Tensor4D;
    save([input!, w!]);
    return {
      value,
      gradFunc: (dy, [xs, ws]) => {
        const [n, h, wd, co] = dy.shape;
        const dyFlat = tf.reshape(dy, [n * h * wd, co]);
        const dx = tf.conv2d(dy, backKernel(ws as tf.Tensor4D), 1, 'same');
        const dw = tf.reshape(tf.matMul(transpose2d(im2col(xs as tf.Tensor4D, k)), dyFlat), (ws as tf.Tensor4D).shape);
        const db = tf.sum(dyFlat, 0);
        return [dx, dw, db];
      },
    };
  })(x, kernel, bias);
}

/** One-hot kernel [B,B,C,B²·C]: a stride-B conv with it is space-to-depth (tf.depthToSpace's order). */
function spaceToDepthKernel(channels: number, block: number): tf.Tensor4D {
  const out = block * block * channels;
  const values = new Float32Array(block * block * channels * out);
  for (let i = 0; i < block; i++)
    for (let j = 0; j < block; j++)
      for (let c = 0; c < channels; c++) values[((i * block + j) * channels + c) * out + (i * block + j) * channels + c] = 1;
  return tf.tensor4d(values, [block, block, channels, out]);
}

/** [1,H,W,C] → [1,H/B,W/B,B²·C], tf.depthToSpace's inverse (H, W multiples of B; B is 4 unless given). */
export function spaceToDepth(x: tf.Tensor4D, block = BLOCK): tf.Tensor4D {
  return tf.tidy(() => tf.conv2d(x, spaceToDepthKernel(x.shape[3], block), block, 'valid'));
}

/** Space-to-depth with depth-to-space as its gradient (space-to-depth itself is a constant conv: its gradient would need Conv2DBackpropInput). */
export function spaceToDepthTrainable(x: tf.Tensor4D, block = BLOCK): tf.Tensor4D {
  return custom(([input]) => ({
    value: spaceToDepth(input as tf.Tensor4D, block),
    gradFunc: (dy) => [tf.depthToSpace(dy, block, 'NHWC')],
  }))(x);
}

/** [1,h,w,B²·C] → [1,B·h,B·w,C] with space-to-depth as its gradient (B is 4 unless given). */
export function depthToSpace(x: tf.Tensor4D, block = BLOCK): tf.Tensor4D {
  return custom(([input]) => ({
    value: tf.depthToSpace(input as tf.Tensor4D, block, 'NHWC'),
    gradFunc: (dy) => [spaceToDepth(dy, block)],
  }))(x);
}

/**
 * y = conv(x, W, 4×4, stride 4, 'valid') + b: the painter's step down to ¼ resolution, equal to
 * space-to-depth followed by a 1×1 conv with W reshaped to [16·C, out].
 */
export function patchify(x: tf.Tensor4D, kernel: tf.Tensor4D, bias: tf.Tensor1D): tf.Tensor4D {
  return custom(([input, w, b], save) => {
    const value = tf.add(tf.conv2d(input as tf.Tensor4D, w as tf.Tensor4D, BLOCK, 'valid'), b!) as tf.Tensor4D;
    save([input!, w!]);
    return {
      value,
      gradFunc: (dy, [xs, ws]) => {
        const [, h, wd, co] = dy.shape;
        const wFlat = tf.reshape(ws!, [-1, co]) as tf.Tensor2D;
        const dyFlat = tf.reshape(dy, [h * wd, co]);
        const blocks = tf.reshape(spaceToDepth(xs as tf.Tensor4D), [h * wd, wFlat.shape[0]]) as tf.Tensor2D;
        const dw = tf.reshape(tf.matMul(transpose2d(blocks), dyFlat), (ws as tf.Tensor4D).shape);
        const dx = tf.depthToSpace(tf.reshape(tf.matMul(dyFlat, transpose2d(wFlat)), [1, h, wd, wFlat.shape[0]]) as tf.Tensor4D, BLOCK, 'NHWC');
        return [dx, dw, tf.sum(dyFlat, 0)];
      },
    };
  })(x, kernel, bias);
}

/**
 * Instance normalisation (Ulyanov et al.), per channel over the picture, with a learnt scale
 * and shift. Stock ops: their gradients are all fast forward kernels already.
 */
export function instanceNorm(x: tf.Tensor4D, scale: tf.Tensor1D, shift: tf.Tensor1D, epsilon = 1e-5): tf.Tensor4D {
  const mean = tf.mean(x, [1, 2], true);
  const centred = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centred), [1, 2], true);
  return tf.add(tf.mul(tf.mul(centred, tf.rsqrt(tf.add(variance, epsilon))), scale), shift) as tf.Tensor4D;
}

/** [1,2,2,2,1]/8: a 4-wide box convolved with a 2-wide one, centred (5 taps, no shift). */
const GRID_FREE_TAPS = [1, 2, 2, 2, 1].map((v) => v / 8);

function gridFreeKernel(channels: number): tf.Tensor4D {
  const k = GRID_FREE_TAPS.length;
  const values = new Float32Array(k * k * channels);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) for (let c = 0; c < channels; c++) values[(i * k + j) * channels + c] = GRID_FREE_TAPS[i]! * GRID_FREE_TAPS[j]!;
  return tf.tensor4d(values, [k, k, channels, 1]);
}

/**
 * A fixed per-channel blur whose response is zero at every 4- and 2-pixel period (H(ω) =
 * (2 + 4 cos ω + 2 cos 2ω) / 8 vanishes at ω = π/2 and π), applied to what the sub-pixel layer
 * makes: whatever it learns, the painter's output can hold no 4-pixel grid. The Gram-matrix style
 * loss rewards such a grid as "texture", so without this the painter learns one (issue 12).
 * Symmetric with zero padding, it is its own adjoint: the gradient is the same blur.
 */
export function gridFreeBlur(x: tf.Tensor4D): tf.Tensor4D {
  const blur = (t: tf.Tensor4D): tf.Tensor4D => tf.tidy(() => tf.depthwiseConv2d(t, gridFreeKernel(t.shape[3]), 1, 'same'));
  return custom(([input]) => ({
    value: blur(input as tf.Tensor4D),
    gradFunc: (dy) => [blur(dy)],
  }))(x);
}
