/**
 * The engine's own names and defaults: the backends and networks it can load, how a warm start
 * follows the video, and the optimiser's settings when nobody says otherwise. The server's
 * config (server/config.ts) builds its tables and validation on these, so the engine depends on
 * nothing outside server/engine/ and a default is still written once.
 */
import { OPTIMIZER_NAMES, type OptimizerName } from './optimiser-recipe.js';

export { OPTIMIZER_NAMES, type OptimizerName };

export const BACKEND_NAMES = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export const MODEL_NAMES = ['auto', 'vgg19', 'vgg19-blocks1-3', 'random-multiscale'] as const;
export type ModelChoice = (typeof MODEL_NAMES)[number];

export const MOTION_MODES = ['flow', 'residual', 'none'] as const;
export type MotionMode = (typeof MOTION_MODES)[number];

/**
 * The optimiser's defaults. α = 10, β = 40 and lr 0.03 are the seed's Gatys et al. as taught;
 * products paint with the style strength's α (style-strength.ts) unless weights are given.
 */
export const ENGINE_DEFAULTS = {
  lr: 0.03,
  /** One control for the content/style balance, 0 (the photo) … 1 (all style): style-strength.ts. */
  styleStrength: 0.6,
  /** The optimiser recipe (optimiser-recipe.ts); 'adam-pixels' is the seed's exactly. */
  optimizer: 'adam-decorrelated' as OptimizerName,
  contentWeight: 10,
  styleWeight: 40,
  /** Weight of the total-variation term (0 = off, as in the seed). */
  tvWeight: 0,
  preserveColors: false,
  seed: 42,
  /** How a warm start follows the video (live streams and video jobs); see StylizeFrameOptions. */
  motion: 'flow' as MotionMode,
  /**
   * Ruder et al.'s temporal loss weight (pixels on the 0–255 scale). The quality benchmark's
   * choice: the least weight that keeps flicker under 1.2× the input's on both real clips.
   */
  temporalWeight: 5e4,
} as const;
