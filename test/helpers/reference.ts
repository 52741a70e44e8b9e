/**
 * The networks written with plain tfjs ops, so tf.grad uses tfjs's own gradients: references
 * for the custom gradients (tests, on the cpu backend) and the "stock" figure (bench).
 */
import * as tf from '@tensorflow/tfjs-core';
import { BANKS, FILTERS_PER_BANK, INPUT_SCALE, blurKernel, randomBankKernel } from '../../server/engine/networks/random-multiscale.js';
import { VGG19_CONVS } from '../../server/engine/networks/vgg19.js';
import { createRandom } from '../../server/engine/random.js';
import type { WeightSet } from '../../server/engine/weights/weight-set.js';

export interface PlainNet {
  extract(image: tf.Tensor4D): Record<string, tf.Tensor4D>;
  dispose(): void;
}

/** Reflect padding on H and W built from slice/reverse/concat, whose stock gradients are exact. */
export function reflectByConcat(x: tf.Tensor4D, p: number): tf.Tensor4D {
  const along = (t: tf.Tensor4D, axis: 1 | 2): tf.Tensor4D => {
    const n = t.shape[axis];
    const take = (from: number): tf.Tensor4D => {
      const begin = [0, 0, 0, 0];
      const size = [...t.shape];
      begin[axis] = from;
      size[axis] = p;
      return tf.reverse(tf.slice(t, begin, size), axis);
    };
    return tf.concat([take(1), t, take(n - 1 - p)], axis);
  };
  return along(along(x, 1), 2);
}

/** VGG19 up to `last`: caffe input, conv + bias + relu, average pooling between blocks. */
export function plainVgg19(weights: WeightSet, last: string): PlainNet {
  const convs = VGG19_CONVS.slice(0, VGG19_CONVS.findIndex((c) => c.name === last) + 1).map((c) => ({
    ...c,
    kernel: tf.tensor4d(weights.get(`${c.name}/kernel`)!.data, [3, 3, c.inChannels, c.outChannels]),
    bias: tf.tensor1d(weights.get(`${c.name}/bias`)!.data),
  }));
  const mean = tf.tensor1d([103.939, 116.779, 123.68]);
  return {
    extract(image) {
      const out: Record<string, tf.Tensor4D> = {};
      let h = tf.sub(tf.mul(tf.reverse(image, -1), 255), mean) as tf.Tensor4D;
      let block = 1;
      for (const c of convs) {
        if (c.block !== block) {
          h = tf.avgPool(h, 2, 2, 'valid');
          block = c.block;
        }
        h = tf.relu(tf.add(tf.conv2d(h, c.kernel, 1, 'same'), c.bias)) as tf.Tensor4D;
        out[c.name] = h;
      }
      return out;
    },
    dispose: () => tf.dispose([mean, ...convs.flatMap((c) => [c.kernel, c.bias])]),
  };
}

/**
 * random-multiscale with the same seeded filters. `padding: 'exact'` pads by concat (exact
 * gradient); 'mirrorPad' is what one would naturally write (tfjs's MirrorPad gradient crops).
 */
export function plainRandomMultiscale(seed: number, padding: 'exact' | 'mirrorPad'): PlainNet {
  const random = createRandom(seed);
  const kernels = BANKS.map((b) => tf.tensor4d(randomBankKernel(b.kernel, random), [b.kernel, b.kernel, 3, FILTERS_PER_BANK]));
  const blur = tf.tensor4d(blurKernel(), [3, 3, 3, 3]);
  const pad1 = (t: tf.Tensor4D): tf.Tensor4D =>
    padding === 'exact' ? reflectByConcat(t, 1) : tf.mirrorPad(t, [[0, 0], [1, 1], [1, 1], [0, 0]], 'reflect');
  return {
    extract(image) {
      const out: Record<string, tf.Tensor4D> = {};
      let pyramid = tf.mul(tf.sub(image, 0.5), INPUT_SCALE) as tf.Tensor4D;
      let scale = 1;
      BANKS.forEach((bank, i) => {
        while (scale < bank.scale) {
          pyramid = tf.avgPool(tf.conv2d(pad1(pyramid), blur, 1, 'valid'), 2, 2, 'valid');
          scale *= 2;
        }
        const p = (bank.kernel - 1) / 2;
        const padded = padding === 'exact' ? reflectByConcat(pyramid, p) : tf.mirrorPad(pyramid, [[0, 0], [p, p], [p, p], [0, 0]], 'reflect');
        out[bank.name] = tf.relu(tf.conv2d(padded, kernels[i]!, 1, 'valid'));
      });
      return out;
    },
    dispose: () => tf.dispose([...kernels, blur]),
  };
}
