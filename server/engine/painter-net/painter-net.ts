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
import { createRandom, uniformArray } from '../random.js';
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

interface Spec {
  name: string;
  shape: number[];
  /** 'he': He-uniform for a conv with fan-in = product of all but the last dim; 'zero'; 'one'. */
  init: 'he' | 'zero' | 'one';
}

function specs({ channels: c, blocks }: PainterShape): Spec[] {
  const conv = (name: string, shape: number[], init: Spec['init'] = 'he'): Spec[] => [
    { name: `${name}/kernel`, shape, init },
    { name: `${name}/bias`, shape: [shape[3]!], init: 'zero' },
  ];
  const norm = (name: string): Spec[] => [
    { name: `${name}/scale`, shape: [c], init: 'one' },
    { name: `${name}/shift`, shape: [c], init: 'zero' },
  ];
  const out: Spec[] = [...conv('in', [BLOCK, BLOCK, 3, c]), ...norm('in_norm')];
  for (let i = 0; i < blocks; i++) {
    out.push(...conv(`res${i}_a`, [3, 3, c, c]), ...norm(`res${i}_a_norm`), ...conv(`res${i}_b`, [3, 3, c, c]), ...norm(`res${i}_b_norm`));
  }
  out.push(...conv('out', [1, 1, c, BLOCK * BLOCK * 3], 'zero'));
  return out;
}

function initial(spec: Spec, random: () => number): Float32Array {
  const size = spec.shape.reduce((a, b) => a * b, 1);
  if (spec.init === 'zero') return new Float32Array(size);
  if (spec.init === 'one') return new Float32Array(size).fill(1);
  const fanIn = size / spec.shape[spec.shape.length - 1]!;
  const limit = Math.sqrt(6 / fanIn);
  return uniformArray(size, random, -limit, limit);
}

/** tfjs wants every variable name unique in the process. */
let painters = 0;

export function createPainterNet(shape: PainterShape = DEFAULT_PAINTER_SHAPE, seed = 1): PainterNet {
  if (shape.kind === 'unet') return createUnetPainterNet(shape, seed);
  const id = ++painters;
  const random = createRandom(seed);
  const list = specs(shape);
  const vars = new Map<string, tf.Variable>();
  // tidy frees the initial tensors; variables survive it.
  tf.tidy(() => {
    for (const spec of list) vars.set(spec.name, tf.variable(tf.tensor(initial(spec, random), spec.shape), true, `painter${id}/${spec.name}`));
  });
  const v = (name: string): tf.Variable => vars.get(name)!;
  const conv = (x: tf.Tensor4D, name: string): tf.Tensor4D => convSame(x, v(`${name}/kernel`) as tf.Tensor4D, v(`${name}/bias`) as tf.Tensor1D);
  const norm = (x: tf.Tensor4D, name: string): tf.Tensor4D => instanceNorm(x, v(`${name}/scale`) as tf.Tensor1D, v(`${name}/shift`) as tf.Tensor1D);

  return {
    shape,
    variables: [...vars.values()],
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
    async read() {
      const out = new Map<string, { shape: number[]; values: Float32Array }>();
      for (const spec of list) out.set(spec.name, { shape: [...spec.shape], values: (await v(spec.name).data()) as Float32Array });
      return out;
    },
    write(weights) {
      for (const spec of list) {
        const given = weights.get(spec.name);
        if (!given || given.shape.join('×') !== spec.shape.join('×')) {
          throw new RangeError(`painter weight ${spec.name}: expected ${spec.shape.join('×')}, got ${given ? given.shape.join('×') : 'nothing'}`);
        }
      }
      tf.tidy(() => {
        for (const spec of list) v(spec.name).assign(tf.tensor(weights.get(spec.name)!.values, spec.shape));
      });
    },
    dispose() {
      for (const variable of vars.values()) variable.dispose();
      vars.clear();
    },
  };
}

/** Multiply-adds ×2 of one forward pass at h×w (analytic; for the probe and the bench). */
export function painterFlops({ channels: c, blocks }: PainterShape, height: number, width: number): number {
  const positions = (height / BLOCK) * (width / BLOCK);
  const macs = positions * (BLOCK * BLOCK * 3 * c + blocks * 2 * 9 * c * c + c * BLOCK * BLOCK * 3);
  return 2 * macs;
}
