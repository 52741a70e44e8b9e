/**
 * The stylizer's public shapes (stylizer.ts is its one entry point): styles, settings, what a
 * frame is asked for and what it gives back. Apart so the modules that paint a frame share them
 * without importing the stylizer itself.
 */
import { ENGINE_DEFAULTS, type MotionMode } from './engine-options.js';
import type { RgbImage } from './image.js';
import type { FeatureNetwork } from './networks/network.js';
import { OPTIMISER_RECIPES, type OptimiserRecipe } from './optimiser-recipe.js';

export interface StyleImage {
  readonly image: RgbImage;
  /** Relative weight when several styles are mixed (normalised to sum 1). */
  readonly weight?: number;
}

export interface CostWeights {
  /** α */
  contentWeight: number;
  /** β */
  styleWeight: number;
  /** weight of the total-variation term (0 = off, as in the seed) */
  tvWeight: number;
}

export interface StylizerSettings extends CostWeights {
  /** Adam's step size (for L-BFGS, its first step's largest move). */
  lr: number;
  /** What is optimised, where a cold start begins, which method steps (optimiser-recipe.ts). */
  optimizer: OptimiserRecipe;
  /**
   * How much of the recipe's style-coloured start a cold frame takes (0–1): the style strength,
   * where the weights come from it, so that strength 0 starts (and stays) at the photo.
   */
  startColours: number;
  preserveColors: boolean;
  seed: number;
}

export type Init = 'content' | 'noise' | RgbImage;

export interface StylizeFrameOptions {
  steps: number;
  /** Start from the previous output (resized if needed) and keep the optimiser state. */
  warmStart?: boolean;
  /** Where a cold start begins (default: the content image). */
  init?: Init;
  /**
   * A learned painter's picture of this frame (issue 12), same size: a cold start begins there; a
   * warm start blends it with the previous painting carried as `motion` says (PainterBlend in
   * follow-motion.ts), `persistence` (default PAINTER_PERSISTENCE) of the carried part kept
   * where the motion is trusted.
   */
  base?: RgbImage;
  persistence?: number;
  /**
   * Called after each step with the step number (1-based), the costs of that step and a way to
   * read the picture as it is after it (the next step waits for a returned promise).
   */
  onStep?: (step: number, costs: Costs, view: StepView) => unknown;
  /**
   * How a warm start follows the change between the previous and this content frame:
   * - 'flow' warps the previous output along the motion (motion.ts);
   * - 'residual', the cheap mode, adds the content's change to the previous output (no motion
   *   estimate: what moved shows through at once, and the steps paint it over);
   * - 'none' starts from the previous output as it is (moving things ghost).
   */
  motion?: MotionMode;
  /**
   * motion 'flow' with no optimiser step (steps 0): follow with the cheap flow (FollowOptions.light
   * in follow-motion.ts: forward only, at half size). Ignored when steps run.
   */
  lightFlow?: boolean;
  /**
   * Ruder et al.'s temporal loss: weight of Σ c·(x − warp(previous output))² / D, with c the
   * occlusion mask. Needs motion 'flow'; 0 (default) leaves it out.
   */
  temporalWeight?: number;
  /**
   * A time budget for the steps: no new step starts once this many ms have passed since the
   * first began (at least one step always runs). Live frames use it so that no frame overruns
   * its share of the painter; `StylizeResult.steps` says how many ran.
   */
  stopAfterMs?: number;
}

export interface StepView {
  picture(): Promise<RgbImage>;
}

export interface Costs {
  total: number;
  content: number;
  style: number;
  tv: number;
  temporal: number;
}

export interface StylizeResult {
  image: RgbImage;
  /** Costs at the last step (NaN when steps = 0). */
  costs: Costs;
  steps: number;
  msPerStep: number;
  warmStarted: boolean;
}

export interface Stylizer {
  readonly network: Pick<FeatureNetwork, 'name' | 'description'>;
  setStyle(styles: readonly StyleImage[]): void;
  configure(settings: Partial<StylizerSettings>): void;
  stylizeFrame(content: RgbImage, options: StylizeFrameOptions): Promise<StylizeResult>;
  /** Forget the previous output and optimiser state (the next frame starts cold). */
  reset(): void;
  /** Frees every tensor, the network's included. Safe to call twice. */
  dispose(): void;
}

/**
 * With a painter's picture (StylizeFrameOptions.base): the share of the carried painting kept
 * where the motion is trusted; the rest is the painter's fresh picture. Measured with
 * `npm run bench -- quality --long --configs painter` (issue 12's note).
 */
export const PAINTER_PERSISTENCE = 0.8;

export const DEFAULT_SETTINGS: StylizerSettings = {
  lr: ENGINE_DEFAULTS.lr,
  optimizer: OPTIMISER_RECIPES[ENGINE_DEFAULTS.optimizer],
  startColours: 1,
  contentWeight: ENGINE_DEFAULTS.contentWeight,
  styleWeight: ENGINE_DEFAULTS.styleWeight,
  tvWeight: ENGINE_DEFAULTS.tvWeight,
  preserveColors: ENGINE_DEFAULTS.preserveColors,
  seed: ENGINE_DEFAULTS.seed,
};
