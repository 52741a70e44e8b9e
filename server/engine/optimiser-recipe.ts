/**
 * How the optimiser paints, as one named recipe: what it moves (pixels, or a Laplacian pyramid in
 * a colour basis: image-parameters.ts), where a cold start begins (the photo, or the photo in the
 * style's colours: colour-transfer.ts) and which method steps (steppers.ts). The costs are the
 * seed's in every recipe; only the variable, the start and the optimiser change.
 */
import type { ColourBasis } from './image-parameters.js';
import type { StepMethod } from './steppers.js';

export interface OptimiserRecipe {
  method: StepMethod;
  /** 1: raw pixels. */
  pyramidLevels: number;
  colourBasis: ColourBasis;
  /** A cold start from the photo with this much of the style's colour statistics (0–1). */
  colourStart: number;
  /**
   * The step size over one frame's steps: lr · max(floor, 2^(−(k−1)/halfLife)) at its k-th step
   * (a frame of a few live steps keeps about lr; a still settles). None: lr throughout (the seed).
   */
  decay?: { halfLife: number; floor: number } | undefined;
}

/** The step size of a frame's k-th step (1-based) under `recipe`. */
export function stepSize(recipe: OptimiserRecipe, lr: number, k: number): number {
  if (!recipe.decay) return lr;
  return lr * Math.max(recipe.decay.floor, 2 ** (-(k - 1) / recipe.decay.halfLife));
}

export const OPTIMIZER_NAMES = ['adam-decorrelated', 'adam-pixels'] as const;
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];

export const OPTIMISER_RECIPES: Record<OptimizerName, OptimiserRecipe> = {
  /**
   * The default, the winner of `npm run bench -- convergence` (README "How fast it paints"): Adam
   * on the pixels in a decorrelated colour basis (a step moves brightness, hardly colour: no
   * rainbow noise), from the photo in the style's colours, the step size halving every 15 steps
   * of a frame down to a tenth (a still settles; a live frame's few steps keep about lr).
   * Its 25 steps come as close to its 200-step painting as the seed's 100 do to the seed's.
   */
  'adam-decorrelated': { method: 'adam', pyramidLevels: 1, colourBasis: 'decorrelated', colourStart: 1, decay: { halfLife: 15, floor: 0.1 } },
  /** The seed's recipe exactly: Adam on raw RGB pixels, starting from the photo, lr throughout. */
  'adam-pixels': { method: 'adam', pyramidLevels: 1, colourBasis: 'rgb', colourStart: 0 },
};

/**
 * Tried and measured, not the default (bench/convergence.ts): the picture as a 5-level Laplacian
 * pyramid in the decorrelated basis. Its first steps move patches, but its 200-step paintings
 * lose the photo's large shapes to blobs (content cost +10 %, reference gap to the seed's still
 * 0.60 against the default's 0.42 on the landscape).
 */
export const PYRAMID_RECIPE: OptimiserRecipe = { method: 'adam', pyramidLevels: 5, colourBasis: 'decorrelated', colourStart: 1, decay: { halfLife: 15, floor: 0.1 } };

export function sameRecipe(a: OptimiserRecipe, b: OptimiserRecipe): boolean {
  return (
    a.method === b.method &&
    a.pyramidLevels === b.pyramidLevels &&
    a.colourBasis === b.colourBasis &&
    a.colourStart === b.colourStart &&
    a.decay?.halfLife === b.decay?.halfLife &&
    a.decay?.floor === b.decay?.floor
  );
}
