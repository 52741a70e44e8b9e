/**
 * What the optimiser moves to change the picture. The seed moves the pixels themselves; here the
 * picture may also be a Laplacian pyramid (laplacian-pyramid.ts) whose levels live in a
 * decorrelated colour basis, so that Adam's first steps move patches and mostly brightness
 * rather than single pixels in every colour (the rainbow noise of a first pixel step).
 * Where we differ from the paper: Gatys et al. optimise pixels; the costs are unchanged.
 *
 * Pixels stay in [0, 1] as in the seed: after each step the picture is clipped, and the clipping's
 * correction goes into the finest level only, so the coarse levels keep what Adam gave them.
 */
import * as tf from '@tensorflow/tfjs-core';
import { decompose, pyramidSizes, reconstruct } from './laplacian-pyramid.js';

export const COLOUR_BASES = ['rgb', 'decorrelated'] as const;
export type ColourBasis = (typeof COLOUR_BASES)[number];

export interface ParameterShape {
  /** 1: the pixels themselves (the seed). */
  pyramidLevels: number;
  colourBasis: ColourBasis;
}

export interface ImageParameters {
  /** The tf.Variables the optimiser moves. */
  readonly variables: tf.Variable[];
  /** The picture the variables make, inside the optimiser's tape (differentiable). */
  render(): tf.Tensor4D;
  /** The picture as it is now, in [0, 1]; owned here, replaced by assign() and project(). */
  readonly picture: tf.Tensor4D;
  /** Makes the variables stand for `image` exactly (the caller keeps `image`). */
  assign(image: tf.Tensor4D): void;
  /** After a step: pixels clipped to [0, 1], and `picture` brought up to date. */
  project(): void;
  dispose(): void;
}

/**
 * The square root of ImageNet's colour correlation (as published with Olah et al.'s feature
 * visualisation, "lucid"), columns scaled by the largest column norm: the first axis is mostly
 * brightness, the other two small colour-opponent ones. Row-vector convention: rgb = y · BASIS.
 */
const CORRELATION_SQRT = [
  [0.26, 0.09, 0.02],
  [0.27, 0.0, -0.05],
  [0.27, -0.09, 0.03],
];
const MAX_COLUMN_NORM = Math.max(...[0, 1, 2].map((j) => Math.hypot(...CORRELATION_SQRT.map((row) => row[j]!))));
/** rgb = y · DECORRELATED (the correlation square root, transposed for row vectors). */
export const DECORRELATED: number[][] = [0, 1, 2].map((i) => [0, 1, 2].map((j) => CORRELATION_SQRT[j]![i]! / MAX_COLUMN_NORM));

/** Inverse of a 3×3 matrix (adjugate over determinant). */
export function invert3(m: number[][]): number[][] {
  const [a, b, c] = m[0]!;
  const [d, e, f] = m[1]!;
  const [g, h, i] = m[2]!;
  const A = e! * i! - f! * h!;
  const B = -(d! * i! - f! * g!);
  const C = d! * h! - e! * g!;
  const det = a! * A + b! * B + c! * C;
  if (Math.abs(det) < 1e-12) throw new RangeError('matrix is singular');
  const adjugate = [
    [A, -(b! * i! - c! * h!), b! * f! - c! * e!],
    [B, a! * i! - c! * g!, -(a! * f! - c! * d!)],
    [C, -(a! * h! - b! * g!), a! * e! - b! * d!],
  ];
  return adjugate.map((row) => row.map((x) => x / det));
}

export function createImageParameters(shape: ParameterShape, start: tf.Tensor4D): ImageParameters {
  if (shape.pyramidLevels === 1 && shape.colourBasis === 'rgb') return pixelParameters(start);
  return pyramidParameters(shape, start);
}

/** The seed's variable: the picture itself. */
function pixelParameters(start: tf.Tensor4D): ImageParameters {
  const image = tf.variable(start, true); // a variable of its own: `start` stays the caller's
  return {
    variables: [image],
    render: () => image,
    get picture() {
      return image;
    },
    assign(next) {
      image.assign(next);
    },
    project() {
      tf.tidy(() => image.assign(tf.clipByValue(image, 0, 1)));
    },
    dispose() {
      image.dispose();
    },
  };
}

function pyramidParameters(shape: ParameterShape, start: tf.Tensor4D): ImageParameters {
  const [, h, w, c] = start.shape;
  if (c !== 3) throw new RangeError('pyramid parameters need an RGB picture');
  const levelCount = pyramidSizes(h, w, shape.pyramidLevels).length;
  const basis = shape.colourBasis === 'decorrelated' ? tf.tensor2d(DECORRELATED) : undefined;
  const inverse = shape.colourBasis === 'decorrelated' ? tf.tensor2d(invert3(DECORRELATED)) : undefined;
  const inBasis = (rgb: tf.Tensor4D): tf.Tensor4D => (inverse ? mixChannels(rgb, inverse) : rgb);
  const parts = tf.tidy(() => decompose(inBasis(start), levelCount));
  const levels = parts.map((level) => tf.variable(level, true));
  tf.dispose(parts);
  let picture = start.clone();

  const render = (): tf.Tensor4D =>
    tf.tidy(() => {
      const y = reconstruct(levels);
      return basis ? mixChannels(y, basis) : y;
    });

  return {
    variables: levels,
    render,
    get picture() {
      return picture;
    },
    assign(next) {
      const parts = tf.tidy(() => decompose(inBasis(next), levelCount));
      parts.forEach((part, i) => levels[i]!.assign(part));
      tf.dispose(parts);
      picture.dispose();
      picture = next.clone();
    },
    project() {
      const clipped = tf.tidy(() => {
        const raw = render();
        const inRange = tf.clipByValue(raw, 0, 1) as tf.Tensor4D;
        // The clip's correction in the finest level: render() now gives `inRange` exactly.
        levels[0]!.assign(tf.add(levels[0]!, inBasis(tf.sub(inRange, raw) as tf.Tensor4D)));
        return inRange;
      });
      picture.dispose();
      picture = clipped;
    },
    dispose() {
      tf.dispose([...levels, picture, ...(basis ? [basis, inverse!] : [])]);
    },
  };
}

/** Each pixel's channels (a row vector) times `matrix` ([3,3]). */
function mixChannels(image: tf.Tensor4D, matrix: tf.Tensor2D): tf.Tensor4D {
  return tf.tidy(() => {
    const [, h, w] = image.shape;
    return tf.reshape(tf.matMul(tf.reshape(image, [h * w, 3]) as tf.Tensor2D, matrix), [1, h, w, 3]) as tf.Tensor4D;
  });
}
