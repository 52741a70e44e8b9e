/**
 * A Laplacian pyramid of a picture (Burt & Adelson 1983), as the optimiser's variable instead of
 * raw pixels. Adam moves every coordinate by about ±lr on its first steps; on raw pixels that is
 * per-pixel colour noise, while a step on a coarse level moves a whole patch together, like a
 * stroke. The picture is Σ_i up(level_i): the decomposition below is its exact inverse.
 *
 *   G_0 = picture, G_{i+1} = down(G_i), level_i = G_i − up(G_{i+1}) (i < K), level_K = G_K
 *   picture = level_0 + up(level_1 + up(level_2 + … up(level_K)))
 *
 * `up` is a bilinear resize with aligned corners: the one whose gradient tfjs implements
 * faithfully (its ResizeBilinearGrad ignores half-pixel centres). `down` need not be the adjoint
 * of `up` for the round trip to be exact, since each level keeps what `up` of the next misses.
 */
import * as tf from '@tensorflow/tfjs-core';

/** [height, width] of each level, finest first; a level is at least 2 px a side. */
export function pyramidSizes(height: number, width: number, levels: number): [number, number][] {
  const sizes: [number, number][] = [[height, width]];
  for (let i = 1; i < levels; i++) {
    const [h, w] = sizes[i - 1]!;
    if (h < 4 || w < 4) break;
    sizes.push([Math.ceil(h / 2), Math.ceil(w / 2)]);
  }
  return sizes;
}

function resize(image: tf.Tensor4D, [h, w]: [number, number]): tf.Tensor4D {
  return tf.image.resizeBilinear(image, [h, w], true);
}

/** The pyramid's levels of `image` ([1,H,W,C]), finest first; the caller owns them. */
export function decompose(image: tf.Tensor4D, levels: number): tf.Tensor4D[] {
  const [, h, w] = image.shape;
  const sizes = pyramidSizes(h, w, levels);
  return tf.tidy(() => {
    const gaussian: tf.Tensor4D[] = [image];
    for (let i = 1; i < sizes.length; i++) gaussian.push(resize(gaussian[i - 1]!, sizes[i]!));
    const out: tf.Tensor4D[] = [];
    for (let i = 0; i < sizes.length - 1; i++) out.push(tf.sub(gaussian[i]!, resize(gaussian[i + 1]!, sizes[i]!)));
    out.push(gaussian[sizes.length - 1] === image ? image.clone() : gaussian[sizes.length - 1]!);
    return out;
  });
}

/** The picture the levels (finest first) stand for; differentiable in every level. */
export function reconstruct(levels: readonly tf.Tensor4D[]): tf.Tensor4D {
  if (levels.length === 0) throw new RangeError('a pyramid needs at least one level');
  return tf.tidy(() => {
    let picture = levels[levels.length - 1]!;
    for (let i = levels.length - 2; i >= 0; i--) {
      const [, h, w] = levels[i]!.shape;
      picture = tf.add(levels[i]!, resize(picture, [h, w]));
    }
    return levels.length === 1 ? picture.clone() : picture;
  });
}
