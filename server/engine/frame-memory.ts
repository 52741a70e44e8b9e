/**
 * What a stylizer carries from one frame to the next, for warm starts: the image being optimised
 * (the previous output, a tf.Variable reused while the size stays), the previous content frame (as
 * optimised: colours or luminance) and Adam with its moments. Owns those tensors: forget() frees them.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface FrameMemory {
  /** The previous output, if any (the variable the optimiser moves). */
  readonly output: tf.Variable<tf.Rank.R4> | undefined;
  /** The previous content frame, if any. */
  readonly content: tf.Tensor4D | undefined;
  /** Keeps a copy of this frame's content for the next frame. */
  rememberContent(content: tf.Tensor4D): void;
  /**
   * Makes `start` the image to optimise (assigned in place when the size is unchanged), with the
   * optimiser: a cold start gets a fresh one, so Adam's moments carry over warm starts only.
   * Takes `start` (it is freed here).
   */
  begin(start: tf.Tensor4D, warm: boolean, lr: number): { image: tf.Variable<tf.Rank.R4>; optimizer: tf.AdamOptimizer };
  /** Drops the optimiser (its step size changed); the next frame makes a new one. */
  dropOptimizer(): void;
  /** Forgets the previous output, frame and optimiser state: the next frame starts cold. */
  forget(): void;
}

export function createFrameMemory(): FrameMemory {
  let image: tf.Variable<tf.Rank.R4> | undefined;
  let previousContent: tf.Tensor4D | undefined;
  let optimizer: tf.AdamOptimizer | undefined;

  function dropOptimizer(): void {
    optimizer?.dispose();
    optimizer = undefined;
  }

  return {
    get output() {
      return image;
    },
    get content() {
      return previousContent;
    },
    rememberContent(content) {
      previousContent?.dispose();
      previousContent = content.clone();
    },
    begin(start, warm, lr) {
      if (!warm) dropOptimizer();
      if (image && image.shape.join() === start.shape.join()) {
        image.assign(start);
      } else {
        image?.dispose();
        dropOptimizer();
        image = tf.variable(start, true);
      }
      start.dispose();
      optimizer ??= tf.train.adam(lr);
      return { image, optimizer };
    },
    dropOptimizer,
    forget() {
      image?.dispose();
      image = undefined;
      previousContent?.dispose();
      previousContent = undefined;
      dropOptimizer();
    },
  };
}
