/**
 * The stroke painter (issue 22): a small U-Net that copies the optimiser's keyframe paintings,
 * after Texler et al. 2020 ("Interactive Video Stylization Using Few-Shot Patch-Based Training"),
 * reshaped for a 2-core CPU. Unlike the ¼-resolution painter (painter-net.ts) it has a path at
 * full resolution, so it can draw strokes a pixel or two wide.
 *
 *   full  (c):   e0 = relu(conv3(photo))
 *   half  (2c):  e1 = relu(conv3(relu(conv1(s2d₂(e0)))))
 *   quarter (4c): q = relu(conv1(s2d₂(e1))), then `blocks` residual blocks q + conv3(relu(conv3(q)))
 *   back up:     m1 = relu(conv3(relu(d2s₂(conv1(q)) + e1)))        (skip by addition, as LinkNet)
 *                m0 = relu(conv3(relu(d2s₂(conv1(m1)) + e0)))
 *   painting = clip(photo + conv3(m0), 0, 1)
 * Where we differ from Texler et al.: their generator has many more channels at full size and
 * runs on a GPU; here the way down and up is space-to-depth / depth-to-space with 1×1 convs (no
 * strided or transposed convs: their gradients are slow or missing on tfjs-wasm, painter-layers.ts)
 * and the skips add rather than concatenate (half the MACs of the next conv). No normalisation:
 * the painter is trained supervised (L1 to the keyframes), not on Gram statistics. The last conv
 * starts at zero, so an untrained painter returns the photo.
 */
import * as tf from '@tensorflow/tfjs-core';
import { convSame, depthToSpace, spaceToDepthTrainable } from './painter-layers.js';
import type { PainterShape } from './painter-key.js';
import type { PainterNet } from './painter-net.js';
import { convSpecs, createPainterWeights, type WeightSpec } from './painter-weights.js';

/** The U-Net halves the size twice: frames must be multiples of this. */
export const UNET_BLOCK = 4;

function specs({ channels: c, blocks }: PainterShape): WeightSpec[] {
  const conv = (name: string, k: number, cin: number, cout: number, init: WeightSpec['init'] = 'he'): WeightSpec[] => convSpecs(name, [k, k, cin, cout], init);
  const out: WeightSpec[] = [...conv('e0', 3, 3, c), ...conv('down1', 1, 4 * c, 2 * c), ...conv('e1', 3, 2 * c, 2 * c), ...conv('down2', 1, 8 * c, 4 * c)];
  for (let i = 0; i < blocks; i++) out.push(...conv(`res${i}_a`, 3, 4 * c, 4 * c), ...conv(`res${i}_b`, 3, 4 * c, 4 * c));
  out.push(...conv('up2', 1, 4 * c, 8 * c), ...conv('m1', 3, 2 * c, 2 * c), ...conv('up1', 1, 2 * c, 4 * c), ...conv('m0', 3, c, c), ...conv('out', 3, c, 3, 'zero'));
  return out;
}

export function createUnetPainterNet(shape: PainterShape, seed = 1): PainterNet {
  const weights = createPainterWeights(specs(shape), 'unet', seed);
  const v = weights.get;
  const conv = (x: tf.Tensor4D, name: string): tf.Tensor4D => convSame(x, v(`${name}/kernel`) as tf.Tensor4D, v(`${name}/bias`) as tf.Tensor1D);
  const relu = (x: tf.Tensor): tf.Tensor4D => tf.relu(x) as tf.Tensor4D;

  return {
    shape,
    variables: weights.variables,
    apply(photo) {
      const [, h, w] = photo.shape;
      if (h % UNET_BLOCK || w % UNET_BLOCK) throw new RangeError(`the painter needs sizes that are multiples of ${UNET_BLOCK}, got ${w}×${h}`);
      return tf.tidy(() => {
        // Centred input: the first conv's bias need not learn the mean.
        const e0 = relu(conv(tf.sub(photo, 0.5) as tf.Tensor4D, 'e0'));
        const e1 = relu(conv(relu(conv(spaceToDepthTrainable(e0, 2), 'down1')), 'e1'));
        let q = relu(conv(spaceToDepthTrainable(e1, 2), 'down2'));
        for (let i = 0; i < shape.blocks; i++) q = tf.add(q, conv(relu(conv(q, `res${i}_a`)), `res${i}_b`)) as tf.Tensor4D;
        const m1 = relu(conv(relu(tf.add(depthToSpace(conv(q, 'up2'), 2), e1)), 'm1'));
        const m0 = relu(conv(relu(tf.add(depthToSpace(conv(m1, 'up1'), 2), e0)), 'm0'));
        return tf.clipByValue(tf.add(photo, conv(m0, 'out')), 0, 1) as tf.Tensor4D;
      });
    },
    read: () => weights.read(),
    write: (stored) => weights.write(stored),
    dispose: () => weights.dispose(),
  };
}

/** Multiply-adds ×2 of one forward pass at h×w (analytic). */
export function unetFlops({ channels: c, blocks }: PainterShape, height: number, width: number): number {
  const full = height * width;
  const half = full / 4;
  const quarter = full / 16;
  const macs =
    full * 9 * 3 * c + half * (4 * c * 2 * c + 9 * 4 * c * c) + quarter * (8 * c * 4 * c + blocks * 2 * 9 * 16 * c * c + 4 * c * 8 * c) + half * 9 * 4 * c * c + half * 2 * c * 4 * c + full * 9 * c * c + full * 9 * c * 3;
  return 2 * macs;
}
