/**
 * Keyframes (issue 22): frames the optimiser paints fully, as `stylize image` paints a still, for
 * the stroke painter to learn from (keyframe-trainer.ts). Same recipe, weights and colour start as
 * the still, so what the painter learns to copy is the still painting itself.
 */
import { resolveCostWeights, resolveStartColours, DEFAULTS } from '../config.js';
import type { RgbImage } from '../engine/image.js';
import type { FeatureNetwork } from '../engine/networks/network.js';
import { OPTIMISER_RECIPES } from '../engine/optimiser-recipe.js';
import type { Keyframe } from '../engine/painter-net/keyframe-trainer.js';
import { createStylizer } from '../engine/stylizer.js';

import { decodeImage, encodeImage } from '../codec/image-codec.js';
import { PAINTER_TUNING } from './painter-tuning.js';

/** How a keyframe is painted: the still's defaults (strength, recipe, step size). */
export interface KeyframeRecipe {
  styleStrength: number;
  steps: number;
}

export const DEFAULT_KEYFRAME_RECIPE: KeyframeRecipe = { styleStrength: DEFAULTS.styleStrength, steps: PAINTER_TUNING.stroke.keyframeSteps };

/**
 * Paints each frame fully with the optimiser (cold, from the photo in the style's colours), in
 * order; `onKeyframe(done, total)` after each; `checkAborted()` between steps may throw to stop.
 */
export async function paintKeyframes(
  network: FeatureNetwork,
  style: RgbImage,
  frames: readonly RgbImage[],
  recipe: KeyframeRecipe = DEFAULT_KEYFRAME_RECIPE,
  hooks: { onKeyframe?: (done: number, total: number) => void; checkAborted?: () => void } = {},
): Promise<Keyframe[]> {
  const strength = { optimizer: DEFAULTS.optimizer, styleStrength: recipe.styleStrength };
  const stylizer = createStylizer(
    network,
    { ...DEFAULTS, ...resolveCostWeights(strength), startColours: resolveStartColours(strength), optimizer: OPTIMISER_RECIPES[DEFAULTS.optimizer] },
    { ownsNetwork: false },
  );
  try {
    stylizer.setStyle([{ image: style }]);
    const out: Keyframe[] = [];
    for (const photo of frames) {
      hooks.checkAborted?.();
      const { image } = await stylizer.stylizeFrame(photo, { steps: recipe.steps, ...(hooks.checkAborted ? { onStep: hooks.checkAborted } : {}) });
      out.push({ photo, painting: image });
      hooks.onKeyframe?.(out.length, frames.length);
    }
    return out;
  } finally {
    stylizer.dispose();
  }
}

/**
 * The page sends live frames as JPEG at quality 0.85 (client/src/live-client.ts): a live
 * stream's painter sees those, not clean frames.
 */
export const LIVE_JPEG_QUALITY = 85;

/**
 * Keyframes whose photos are as a live stream receives them (JPEG at LIVE_JPEG_QUALITY), their
 * paintings those of the clean frames: a painter taught on clean photos alone paints JPEG'd ones
 * 0.02–0.05 farther from the still by the reference gap (the mirrored cockatoo, shipped Starry
 * Night painter: 0.384 → 0.416, 0.360 → 0.407, 0.560 → 0.576), so it learns to look past them.
 */
export async function asStreamed(keyframes: readonly Keyframe[]): Promise<Keyframe[]> {
  return Promise.all(keyframes.map(async ({ photo, painting }) => ({ photo: await decodeImage(await encodeImage(photo, 'jpeg', LIVE_JPEG_QUALITY)), painting })));
}
