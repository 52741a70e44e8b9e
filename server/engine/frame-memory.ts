/**
 * What a stylizer carries from one frame to the next, for warm starts: the picture being optimised
 * (the previous output, as the recipe's parameters, reused while the size stays), the previous
 * content frame (as optimised: colours or luminance) and the stepper with its state (Adam's
 * moments). Owns those tensors: forget() frees them.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { createImageParameters, type ImageParameters } from './image-parameters.js';
import type { OptimiserRecipe } from './optimiser-recipe.js';
import { createStepper, type Stepper } from './steppers.js';

export interface FrameMemory {
  /** The previous output, if any (the picture the optimiser moves). */
  readonly output: tf.Tensor4D | undefined;
  /** The previous content frame, if any. */
  readonly content: tf.Tensor4D | undefined;
  /** Keeps a copy of this frame's content for the next frame. */
  rememberContent(content: tf.Tensor4D): void;
  /**
   * Makes `start` the picture to optimise (assigned in place when the size is unchanged), with the
   * stepper: a cold start gets a fresh one, so Adam's moments carry over warm starts only.
   * Takes `start` (it is freed here).
   */
  begin(start: tf.Tensor4D, warm: boolean, recipe: OptimiserRecipe, lr: number): { parameters: ImageParameters; stepper: Stepper };
  /** Drops the stepper (its step size changed); the next frame makes a new one. */
  dropOptimizer(): void;
  /** Forgets the previous output, frame and optimiser state: the next frame starts cold. */
  forget(): void;
}

export function createFrameMemory(): FrameMemory {
  let parameters: ImageParameters | undefined;
  let previousContent: tf.Tensor4D | undefined;
  let stepper: Stepper | undefined;

  function dropOptimizer(): void {
    stepper?.dispose();
    stepper = undefined;
  }

  return {
    get output() {
      return parameters?.picture;
    },
    get content() {
      return previousContent;
    },
    rememberContent(content) {
      previousContent?.dispose();
      previousContent = content.clone();
    },
    begin(start, warm, recipe, lr) {
      if (!warm) dropOptimizer();
      if (parameters && parameters.picture.shape.join() === start.shape.join()) {
        parameters.assign(start);
      } else {
        parameters?.dispose();
        dropOptimizer();
        parameters = createImageParameters(recipe, start);
      }
      start.dispose();
      stepper ??= createStepper(recipe.method, lr);
      return { parameters, stepper };
    },
    dropOptimizer,
    forget() {
      parameters?.dispose();
      parameters = undefined;
      previousContent?.dispose();
      previousContent = undefined;
      dropOptimizer();
    },
  };
}
