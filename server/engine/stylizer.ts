/**
 * The engine's one interface, shared by the CLI, live streams and video jobs:
 *   createStylizer(opts) → { setStyle, configure, stylizeFrame, reset, dispose }
 * Gatys et al. by optimisation: the image itself is the variable, Adam moves it to lower
 * J = α·J_content + β·J_style (+ τ·J_tv), pixels clipped to [0, 1] after each step.
 * For video, `warmStart` seeds a frame from the previous output and keeps Adam's moments, so a
 * few steps per frame suffice. Style Gram targets are computed once per style and cached.
 * The parts: style-targets.ts (the Gram targets), frame-memory.ts (what carries between frames),
 * stylize-frame.ts (one frame: warm-start.ts, then optimise-steps.ts).
 */
import type * as tf from '@tensorflow/tfjs-core';
import { BadInputError, DisposedError } from './engine-errors.js';
import { createFrameMemory } from './frame-memory.js';
import { assertRgbImage, luminanceAsRgb, type RgbImage } from './image.js';
import type { FeatureNetwork } from './networks/network.js';
import { sameRecipe } from './optimiser-recipe.js';
import { createStyleTargets } from './style-targets.js';
import { stylizeOneFrame, type FrameContext } from './stylize-frame.js';
import { DEFAULT_SETTINGS, type StyleImage, type Stylizer, type StylizerSettings } from './stylizer-types.js';

export {
  DEFAULT_SETTINGS,
  PAINTER_PERSISTENCE,
  type CostWeights,
  type Costs,
  type Init,
  type StyleImage,
  type StylizeFrameOptions,
  type StylizeResult,
  type Stylizer,
  type StylizerSettings,
} from './stylizer-types.js';

/**
 * By default takes ownership of `network` (dispose() frees it too); pass `ownsNetwork: false`
 * when one network serves several stylizers (one per live stream).
 */
export function createStylizer(
  network: FeatureNetwork,
  settings: Partial<StylizerSettings> = {},
  { ownsNetwork = true }: { ownsNetwork?: boolean } = {},
): Stylizer {
  let current: StylizerSettings = { ...DEFAULT_SETTINGS, ...settings };
  /** What the network sees: the image itself, or its luminance in colour-preserving mode. */
  const netInput = (rgb: tf.Tensor4D): tf.Tensor4D => (current.preserveColors ? luminanceAsRgb(rgb) : rgb);
  const styles = createStyleTargets(network, netInput);
  const memory = createFrameMemory();
  let disposed = false;
  let busy = false;
  const frames: FrameContext = { network, settings: () => current, styles, memory, isDisposed: () => disposed };

  function check(): void {
    if (disposed) throw new DisposedError('stylizer');
  }

  function freeAll(): void {
    memory.forget();
    styles.drop();
    if (ownsNetwork) network.dispose();
  }

  return {
    network: { name: network.name, description: network.description },

    setStyle(next) {
      check();
      checkStyles(next, network);
      styles.set(next);
    },

    configure(settings) {
      check();
      const next = { ...current, ...settings };
      if (next.preserveColors !== current.preserveColors) {
        styles.drop();
        // The previous output and frame are in the other space (colours vs luminance): start cold.
        memory.forget();
      }
      if (!sameRecipe(next.optimizer, current.optimizer)) memory.forget(); // other parameters: start cold
      else if (next.lr !== current.lr) memory.dropOptimizer();
      current = next;
    },

    async stylizeFrame(frame, options) {
      check();
      checkSize(frame, 'content image', network);
      if (busy) throw new Error('stylizeFrame() is already running; frames must be fed one at a time');
      busy = true;
      try {
        return await stylizeOneFrame(frames, frame, options);
      } finally {
        busy = false;
        if (disposed) freeAll();
      }
    },

    reset() {
      check();
      memory.forget();
    },

    dispose() {
      if (disposed) return;
      disposed = true;
      // A frame in progress stops at its next step and frees everything on its way out.
      if (!busy) freeAll();
    },
  };
}

function checkSize(image: RgbImage, what: string, network: FeatureNetwork): void {
  assertRgbImage(image, what);
  if (Math.min(image.width, image.height) < network.minSide) {
    throw new BadInputError(`${what} is ${image.width}×${image.height}; ${network.name} needs at least ${network.minSide} pixels a side`);
  }
}

function checkStyles(next: readonly StyleImage[], network: FeatureNetwork): void {
  if (next.length === 0) throw new RangeError('at least one style image is needed');
  next.forEach((s, i) => {
    checkSize(s.image, `style image ${i + 1}`, network);
    if (s.weight !== undefined && !(s.weight >= 0)) throw new RangeError(`style ${i + 1}: weight must be ≥ 0`);
  });
  if (next.reduce((sum, s) => sum + (s.weight ?? 1), 0) <= 0) throw new RangeError('style weights sum to 0');
}
