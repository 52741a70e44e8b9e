/**
 * The feed-forward painter: a small image-to-image network that paints a frame in one pass.
 *
 * Johnson et al. (2016) style, reshaped for a CPU: all the work happens at ¼ resolution.
 *   patchify (4×4 stride 4, 3 → C) → instance norm → relu
 *   → `blocks` residual blocks: h + IN(conv3(relu(IN(conv3(h)))))
 *   → conv1 (C → 48) → depth-to-space (48 → 3 at full resolution) → a fixed grid-free blur
 *   → painting = clip(photo + that, 0, 1)
 * Where we differ from Johnson et al.: no strided/transposed convolutions (space-to-depth in,
 * depth-to-space out, like ESPCN's sub-pixel layer), and the output is a change to the photo,
 * which starts at zero (last layer initialised at 0), so an untrained painter returns the photo.
 */
import * as tf from '@tensorflow/tfjs-core';
import { convSpecs, createPainterWeights, type WeightSpec } from './painter-weights.js';
import { BLOCK, convSame, depthToSpace, gridFreeBlur, instanceNorm, patchify } from './painter-layers.js';

import { DEFAULT_PAINTER_SHAPE, type PainterShape } from './painter-key.js';
import { createUnetPainterNet } from './unet-painter-net.js';

export { DEFAULT_PAINTER_SHAPE, type PainterShape } from './painter-key.js';

/** Named weights: the order of `names` is the storage order. */
export interface PainterNet {
  readonly shape: PainterShape;
  readonly variables: readonly tf.Variable[];
  /** [1,H,W,3] in [0,1], H and W multiples of 4 → the painting, same shape. Differentiable. */
  apply(photo: tf.Tensor4D): tf.Tensor4D;
  /** Copies of the weights by name (for saving). */
  read(): Promise<Map<string, { shape: number[]; values: Float32Array }>>;
  /** Sets every weight from `weights` (same names and shapes, else throws). */
  write(weights: ReadonlyMap<string, { shape: readonly number[]; values: Float32Array }>): void;
  dispose(): void;
}

function specs({ channels: c, blocks }: PainterShape): WeightSpec[] {
  const norm = (name: string): WeightSpec[] => [
    { name: `${name}/scale`, shape: [c], init: 'one' },
    { name: `${name}/shift`, shape: [c], init: 'zero' },
  ];
  const out: WeightSpec[] = [...convSpecs('in', [BLOCK, BLOCK, 3, c]), ...norm('in_norm')];
  for (let i = 0; i < blocks; i++) {
    out.push(...convSpecs(`res${i}_a`, [3, 3, c, c]), ...norm(`res${i}_a_norm`), ...convSpecs(`res${i}_b`, [3, 3, c, c]), ...norm(`res${i}_b_norm`));
  }
  out.push(...convSpecs('out', [1, 1, c, BLOCK * BLOCK * 3], 'zero'));
  return out;
}

export function createPainterNet(shape: PainterShape = DEFAULT_PAINTER_SHAPE, seed = 1): PainterNet {
  if (shape.kind === 'unet') return createUnetPainterNet(shape, seed);
  const weights = createPainterWeights(specs(shape), 'painter', seed);
  const v = weights.get;
  const conv = (x: tf.Tensor4D, name: string): tf.Tensor4D => convSame(x, v(`${name}/kernel`) as tf.Tensor4D, v(`${name}/bias`) as tf.Tensor1D);
  const norm = (x: tf.Tensor4D, name: string): tf.Tensor4D => instanceNorm(x, v(`${name}/scale`) as tf.Tensor1D, v(`${name}/shift`) as tf.Tensor1D);

  return {
    shape,
    variables: weights.variables,
    apply(photo) {
      const [, h, w] = photo.shape;
      if (h % BLOCK || w % BLOCK) throw new RangeError(`the painter needs sizes that are multiples of ${BLOCK}, got ${w}×${h}`);
      return tf.tidy(() => {
        let x = tf.relu(norm(patchify(photo, v('in/kernel') as tf.Tensor4D, v('in/bias') as tf.Tensor1D), 'in_norm')) as tf.Tensor4D;
        for (let i = 0; i < shape.blocks; i++) {
          const a = tf.relu(norm(conv(x, `res${i}_a`), `res${i}_a_norm`)) as tf.Tensor4D;
          x = tf.add(x, norm(conv(a, `res${i}_b`), `res${i}_b_norm`)) as tf.Tensor4D;
        }
        const sub = depthToSpace(conv(x, 'out'));
        const change = shape.gridFree ? gridFreeBlur(sub) : sub;
        return tf.clipByValue(tf.add(photo, change), 0, 1) as tf.Tensor4D;
      });
    },
    read: () => weights.read(),
    write: (stored) => weights.write(stored),
    dispose: () => weights.dispose(),
  };
}

/** Multiply-adds ×2 of one forward pass at h×w (analytic; for the probe and the bench). */
export function painterFlops({ channels: c, blocks }: PainterShape, height: number, width: number): number {
  const positions = (height / BLOCK) * (width / BLOCK);
  const macs = positions * (BLOCK * BLOCK * 3 * c + blocks * 2 * 9 * c * c + c * BLOCK * BLOCK * 3);
  return 2 * macs;
}
