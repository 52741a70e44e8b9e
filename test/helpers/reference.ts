/** Plain re-implementations whose stock tfjs gradients are exact: references for our custom ones. */
import * as tf from '@tensorflow/tfjs-core';

/** Reflect padding on H and W built from slice/reverse/concat. */
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
