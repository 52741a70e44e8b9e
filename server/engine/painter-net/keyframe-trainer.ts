/**
 * Teaches a painter by example (issue 22, after Texler et al. 2020): the optimiser paints a few
 * keyframes fully, and the painter learns to turn each keyframe's photo into its painting from
 * random patches of them. Supervised, so a step costs the painter's own forward and backward on a
 * few small patches (plus a shallow perceptual term), not a full VGG pass over whole frames with
 * Gram statistics (painter-trainer.ts): hundreds of steps a minute on a CPU.
 *
 *   J = mean |P(x) − y|  +  λ · Σ_l mean |φ_l(P(x)) − φ_l(y)| / mean |φ_l(y)|
 * over a batch of patches x of keyframe photos and y of their paintings, φ_l the loss network's
 * first layers (relative feature error, so λ reads the same whatever the layer's scale). The L1
 * term places colour; the feature term asks for the strokes' edges, which L1 alone blurs away.
 * Patches are flipped left-right at random (a mirrored scene is the same kind of picture).
 */
import * as tf from '@tensorflow/tfjs-core';
import { imageToTensor, type RgbImage } from '../image.js';
import type { FeatureNetwork } from '../networks/network.js';
import { createRandom } from '../random.js';
import type { PainterNet } from './painter-net.js';

/** A frame and the optimiser's full painting of it (same size). */
export interface Keyframe {
  photo: RgbImage;
  painting: RgbImage;
}

export interface KeyframeTrainerOptions {
  /** Patch side, px (a multiple of 4). */
  patch: number;
  /** Patches a step. */
  batch: number;
  learningRate: number;
  /** λ above (0: L1 only). */
  perceptualWeight: number;
  /** The loss network's layers for the feature term (default: its first style layer). */
  perceptualLayers?: readonly string[];
  seed?: number;
}

export interface KeyframeTrainer {
  /** Replaces the keyframes learnt from (copied into tensors owned here). */
  setKeyframes(keyframes: readonly Keyframe[]): void;
  readonly keyframeCount: number;
  /** One Adam step on a batch of random patches; resolves with its loss before the step. */
  step(): Promise<number>;
  /** Mean |P(x) − y| (0–1 per channel) over whole frames: the held-out error. */
  evaluate(frames: readonly Keyframe[]): Promise<number>;
  readonly steps: number;
  /** Frees the optimiser and the keyframes (not the painter); safe twice. */
  dispose(): void;
}

export function createKeyframeTrainer(painter: PainterNet, network: FeatureNetwork | undefined, options: KeyframeTrainerOptions): KeyframeTrainer {
  if (options.patch % 4 !== 0) throw new RangeError(`the patch side must be a multiple of 4, got ${options.patch}`);
  const optimizer = tf.train.adam(options.learningRate);
  const random = createRandom(options.seed ?? 1);
  const layers = options.perceptualLayers ?? (network ? [network.styleLayers[0]!.name] : []);
  let frames: { photo: tf.Tensor4D; painting: tf.Tensor4D }[] = [];
  let steps = 0;
  let disposed = false;

  const freeFrames = (): void => {
    for (const f of frames) tf.dispose([f.photo, f.painting]);
    frames = [];
  };

  /** A batch of aligned patches [B,P,P,3] of photos and paintings. */
  function batch(): { x: tf.Tensor4D; y: tf.Tensor4D } {
    return tf.tidy(() => {
      const xs: tf.Tensor4D[] = [];
      const ys: tf.Tensor4D[] = [];
      for (let b = 0; b < options.batch; b++) {
        const f = frames[Math.floor(random() * frames.length)]!;
        const [, h, w] = f.photo.shape;
        const side = Math.min(options.patch, Math.floor(Math.min(h, w) / 4) * 4);
        const top = Math.floor(random() * (h - side + 1));
        const left = Math.floor(random() * (w - side + 1));
        let x = tf.slice(f.photo, [0, top, left, 0], [1, side, side, 3]);
        let y = tf.slice(f.painting, [0, top, left, 0], [1, side, side, 3]);
        if (random() < 0.5) {
          x = tf.reverse(x, 2);
          y = tf.reverse(y, 2);
        }
        xs.push(x);
        ys.push(y);
      }
      return { x: tf.concat(xs, 0), y: tf.concat(ys, 0) };
    });
  }

  function loss(x: tf.Tensor4D, y: tf.Tensor4D): tf.Scalar {
    const painted = painter.apply(x);
    let total = tf.mean(tf.abs(tf.sub(painted, y))) as tf.Scalar;
    if (network && options.perceptualWeight > 0 && layers.length > 0) {
      const mine = network.extract(painted, layers);
      const theirs = network.extract(y, layers);
      const terms = layers.map((l) => tf.div(tf.mean(tf.abs(tf.sub(mine[l]!, theirs[l]!))), tf.add(tf.mean(tf.abs(theirs[l]!)), 1e-6)));
      total = tf.add(total, tf.mul(tf.addN(terms), options.perceptualWeight / layers.length)) as tf.Scalar;
    }
    return total;
  }

  return {
    setKeyframes(keyframes) {
      freeFrames();
      frames = keyframes.map((k) => {
        if (k.photo.width !== k.painting.width || k.photo.height !== k.painting.height) throw new RangeError('a keyframe\'s painting must be its photo\'s size');
        return { photo: imageToTensor(k.photo), painting: imageToTensor(k.painting) };
      });
    },
    get keyframeCount() {
      return frames.length;
    },
    async step() {
      if (disposed || frames.length === 0) throw new RangeError('no keyframes to learn from');
      const { x, y } = batch();
      let cost: tf.Scalar | null = null;
      try {
        cost = optimizer.minimize(() => loss(x, y), true, painter.variables as tf.Variable[]);
        steps++;
        return (await cost!.data())[0]!;
      } finally {
        tf.dispose([x, y]);
        cost?.dispose();
      }
    },
    async evaluate(held) {
      let sum = 0;
      for (const k of held) {
        const error = tf.tidy(() => tf.mean(tf.abs(tf.sub(painter.apply(imageToTensor(k.photo)), imageToTensor(k.painting)))));
        sum += (await error.data())[0]!;
        error.dispose();
      }
      return sum / Math.max(1, held.length);
    },
    get steps() {
      return steps;
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      optimizer.dispose();
      freeFrames();
    },
  };
}
