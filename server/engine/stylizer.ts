/**
 * The engine's one interface, shared by the CLI, live streams and video jobs:
 *   createStylizer(opts) → { setStyle, configure, stylizeFrame, reset, dispose }
 * Gatys et al. by optimisation: the image itself is the variable, Adam moves it to lower
 * J = α·J_content + β·J_style (+ τ·J_tv), pixels clipped to [0, 1] after each step.
 * For video, `warmStart` seeds a frame from the previous output and keeps Adam's moments, so a
 * few steps per frame suffice. Style Gram targets are computed once per style and cached.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ENGINE_DEFAULTS, type MotionMode } from './engine-options.js';
import { BadInputError, DisposedError } from '../errors.js';
import { assertRgbImage, imageToTensor, luminanceAsRgb, recolour, tensorToImage, type RgbImage } from './image.js';
import { contentCost, gramMatrix, styleLayerCostFromGram, temporalCost, totalCost, totalVariationCost, weightedSum } from './losses.js';
import { followChange, followMotion } from './follow-motion.js';
import type { FeatureNetwork } from './networks/network.js';
import { createRandom, uniformArray } from './random.js';

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
  lr: number;
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
  /** Called after each step with the step number (1-based) and the costs of that step. */
  onStep?: (step: number, costs: Costs) => void;
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
  contentWeight: ENGINE_DEFAULTS.contentWeight,
  styleWeight: ENGINE_DEFAULTS.styleWeight,
  tvWeight: ENGINE_DEFAULTS.tvWeight,
  preserveColors: ENGINE_DEFAULTS.preserveColors,
  seed: ENGINE_DEFAULTS.seed,
};

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
  let styles: StyleImage[] = [];
  /** Per-pixel style Grams Ĝ = G / (nH·nW), one per style layer, mixed over the styles. */
  let styleGrams: Map<string, tf.Tensor2D> | undefined;
  /** Ĝ scaled to the current frame's layer sizes, keyed by frame size. */
  let styleTargets: { key: string; grams: Map<string, tf.Tensor2D> } | undefined;
  let image: tf.Variable<tf.Rank.R4> | undefined;
  /** The previous content frame (as optimised: colours or luminance), for warm starts that follow it. */
  let previousContent: tf.Tensor4D | undefined;
  let optimizer: tf.AdamOptimizer | undefined;
  let disposed = false;
  let busy = false;
  const contentNames = network.contentLayers.map((l) => l.name);
  const styleNames = network.styleLayers.map((l) => l.name);

  function check(): void {
    if (disposed) throw new DisposedError('stylizer');
  }

  function checkSize(image: RgbImage, what: string): void {
    assertRgbImage(image, what);
    if (Math.min(image.width, image.height) < network.minSide) {
      throw new BadInputError(
        `${what} is ${image.width}×${image.height}; ${network.name} needs at least ${network.minSide} pixels a side`,
      );
    }
  }

  function dropStyleTargets(): void {
    for (const g of styleGrams?.values() ?? []) g.dispose();
    for (const g of styleTargets?.grams.values() ?? []) g.dispose();
    styleGrams = undefined;
    styleTargets = undefined;
  }

  function dropOptimizer(): void {
    optimizer?.dispose();
    optimizer = undefined;
  }

  /** Forget the previous output, frame and optimiser state: the next frame starts cold. */
  function forgetPrevious(): void {
    image?.dispose();
    image = undefined;
    previousContent?.dispose();
    previousContent = undefined;

    dropOptimizer();
  }

  function freeAll(): void {
    forgetPrevious();
    dropStyleTargets();
    if (ownsNetwork) network.dispose();
  }

  /** What the network sees: the image itself, or its luminance in colour-preserving mode. */
  function netInput(rgb: tf.Tensor4D): tf.Tensor4D {
    return current.preserveColors ? luminanceAsRgb(rgb) : rgb;
  }

  function computeStyleGrams(): Map<string, tf.Tensor2D> {
    if (styles.length === 0) throw new RangeError('setStyle() must be called before stylizeFrame()');
    const total = styles.reduce((sum, s) => sum + (s.weight ?? 1), 0);
    const grams = tf.tidy(() => {
      const mixed: Record<string, tf.Tensor2D> = {};
      for (const style of styles) {
        const share = (style.weight ?? 1) / total;
        const activations = network.extract(netInput(imageToTensor(style.image)), styleNames);
        for (const [name, a] of Object.entries(activations)) {
          // Where we differ from the seed: the style Gram is taken per pixel, then rescaled to the
          // generated image's pixel count, so a style image of any size gives the same target.
          const perPixel = tf.mul(gramMatrix(a), share / (a.shape[1] * a.shape[2])) as tf.Tensor2D;
          const previous = mixed[name];
          mixed[name] = previous ? tf.add(previous, perPixel) : perPixel;
        }
      }
      return mixed;
    });
    return new Map(Object.entries(grams));
  }

  function targetsFor(layerShapes: Map<string, number[]>, key: string): Map<string, tf.Tensor2D> {
    if (styleTargets?.key === key) return styleTargets.grams;
    styleGrams ??= computeStyleGrams();
    for (const g of styleTargets?.grams.values() ?? []) g.dispose();
    const grams = new Map<string, tf.Tensor2D>();
    for (const [name, perPixel] of styleGrams) {
      const [, h, w] = layerShapes.get(name)!;
      grams.set(name, tf.tidy(() => tf.mul(perPixel, h! * w!)));
    }
    styleTargets = { key, grams };
    return grams;
  }

  /** `followed`: the previous output already carried to this frame (flow or residual mode). */
  function startImage(content: tf.Tensor4D, warm: boolean, init: Init | undefined, followed?: tf.Tensor4D): { start: tf.Tensor4D; warm: boolean } {
    const [, h, w] = content.shape;
    if (warm && image) {
      if (followed) return { start: followed.clone(), warm: true };
      const [, ph, pw] = image.shape;
      return { start: ph === h && pw === w ? image.clone() : tf.tidy(() => tf.image.resizeBilinear(image!, [h, w])), warm: true };
    }
    if (init === 'noise') {
      return { start: tf.tensor4d(uniformArray(h * w * 3, createRandom(current.seed), 0, 1), [1, h, w, 3]), warm: false };
    }
    if (init && init !== 'content') {
      assertRgbImage(init, 'init image');
      const t = imageToTensor(init);
      if (init.width === w && init.height === h) return { start: t, warm: false };
      const resized = tf.image.resizeBilinear(t, [h, w]);
      t.dispose();
      return { start: resized, warm: false };
    }
    return { start: content.clone(), warm: false };
  }

  return {
    network: { name: network.name, description: network.description },

    setStyle(next) {
      check();
      if (next.length === 0) throw new RangeError('at least one style image is needed');
      next.forEach((s, i) => {
        checkSize(s.image, `style image ${i + 1}`);
        if (s.weight !== undefined && !(s.weight >= 0)) throw new RangeError(`style ${i + 1}: weight must be ≥ 0`);
      });
      if (next.reduce((sum, s) => sum + (s.weight ?? 1), 0) <= 0) throw new RangeError('style weights sum to 0');
      styles = [...next];
      dropStyleTargets();
    },

    configure(settings) {
      check();
      const next = { ...current, ...settings };
      if (next.preserveColors !== current.preserveColors) {
        dropStyleTargets();
        // The previous output and frame are in the other space (colours vs luminance): start cold.
        forgetPrevious();
      }
      if (next.lr !== current.lr) dropOptimizer();
      current = next;
    },

    async stylizeFrame(frame, options) {
      check();
      checkSize(frame, 'content image');
      if (busy) throw new Error('stylizeFrame() is already running; frames must be fed one at a time');
      busy = true;
      // Per-frame tensors, freed however the frame ends.
      const frameTensors: tf.Tensor[] = [];
      try {
        const content = imageToTensor(frame);
        const seen = netInput(content);
        frameTensors.push(content, ...(seen === content ? [] : [seen]));
        // One forward pass gives the content targets and the style layers' shapes. Zero steps (a
        // learned painter's frame shown as it starts) need neither: no loss-network pass at all.
        const contentTargets = new Map<string, tf.Tensor4D>();
        const shapes = new Map<string, number[]>();
        const features = options.steps > 0 ? tf.tidy(() => network.extract(seen, [...contentNames, ...styleNames])) : {};
        for (const [name, a] of Object.entries(features)) {
          shapes.set(name, a.shape);
          if (contentNames.includes(name)) contentTargets.set(name, a);
          else a.dispose();
        }
        frameTensors.push(...contentTargets.values());
        const targets = options.steps > 0 ? targetsFor(shapes, `${frame.width}x${frame.height}`) : new Map<string, tf.Tensor2D>();
        // The space the image is optimised in: colours, or luminance in colour-preserving mode.
        const optimised = current.preserveColors ? seen : content;
        const sameSize = image !== undefined && previousContent?.shape.join() === optimised.shape.join();
        let base: tf.Tensor4D | undefined;
        if (options.base) {
          // The base is a colour picture; colour preservation optimises luminance.
          if (current.preserveColors) throw new RangeError('a base picture cannot be used with preserveColors');
          if (options.base.width !== frame.width || options.base.height !== frame.height) throw new RangeError('the base picture must be the frame\'s size');
          base = imageToTensor(options.base);
          frameTensors.push(base);
        }
        const painter = base ? { picture: base, persistence: options.persistence ?? PAINTER_PERSISTENCE } : undefined;
        const warmWith = options.warmStart === true && sameSize ? (options.motion ?? 'none') : 'none';
        let warmStartImage: tf.Tensor4D | undefined;
        /** Per-pixel weight of the temporal loss, over the channels ([1,H,W,C]); flow mode only. */
        let temporalMask: tf.Tensor4D | undefined;
        if (warmWith === 'flow') {
          const light = options.lightFlow === true && options.steps === 0;
          const followed = followMotion(previousContent!, optimised, image!, { ...(painter ? { painter } : {}), ...(light ? { light } : {}) });
          warmStartImage = followed.warped;
          frameTensors.push(warmStartImage);
          if ((options.temporalWeight ?? 0) > 0) {
            const channels = optimised.shape[3];
            // Over the channels once here, not broadcast in every step's loss and gradient (slow on wasm).
            temporalMask = tf.tidy(() => tf.conv2d(followed.mask, tf.ones([1, 1, 1, channels]) as tf.Tensor4D, 1, 'valid'));
            frameTensors.push(temporalMask);
          }
          followed.mask.dispose();
        } else if (warmWith === 'residual') {
          warmStartImage = followChange(previousContent!, optimised, image!, painter);
          frameTensors.push(warmStartImage);
        }
        previousContent?.dispose();
        previousContent = optimised.clone();
        let { start, warm } = startImage(optimised, options.warmStart === true, options.init, warmStartImage);
        if (!warm && base) {
          start.dispose();
          start = base.clone(); // a cold start begins at the painter's picture
        }
        const temporalWeight = temporalMask && warm ? (options.temporalWeight ?? 0) : 0;
        if (!warm) dropOptimizer();
        if (image && image.shape.join() === start.shape.join()) {
          image.assign(start);
        } else {
          image?.dispose();
          dropOptimizer();
          image = tf.variable(start, true);
        }
        start.dispose();
        optimizer ??= tf.train.adam(current.lr);

        const variable = image;
        const { contentWeight, styleWeight, tvWeight } = current;
        const costs: Costs = { total: Number.NaN, content: Number.NaN, style: Number.NaN, tv: Number.NaN, temporal: 0 };
        const started = performance.now();
        let stepsRun = 0;
        for (let step = 1; step <= options.steps; step++) {
          if (disposed) throw new DisposedError('stylizer'); // disposed between two steps
          if (step > 1 && options.stopAfterMs !== undefined && performance.now() - started >= options.stopAfterMs) break;
          stepsRun = step;
          let parts: tf.Scalar[] = [];
          const total = optimizer.minimize(
            () => {
              const features = network.extract(variable, [...contentNames, ...styleNames]);
              const jContent = weightedSum(
                network.contentLayers.map((l) => contentCost(contentTargets.get(l.name)!, features[l.name]!)),
                network.contentLayers.map((l) => l.weight),
              );
              const jStyle = weightedSum(
                network.styleLayers.map((l) => styleLayerCostFromGram(targets.get(l.name)!, features[l.name]!)),
                network.styleLayers.map((l) => l.weight),
              );
              const jTv = tvWeight > 0 ? totalVariationCost(variable) : tf.scalar(0);
              const jTemporal = temporalWeight > 0 ? temporalCost(variable, warmStartImage!, temporalMask!) : tf.scalar(0);
              parts = [tf.keep(jContent), tf.keep(jStyle), tf.keep(jTv), tf.keep(jTemporal)];
              return tf.addN([
                totalCost(jContent, jStyle, contentWeight, styleWeight),
                tf.mul(jTv, tvWeight),
                tf.mul(jTemporal, temporalWeight),
              ]) as tf.Scalar;
            },
            true,
            [variable],
          )!;
          tf.tidy(() => variable.assign(tf.clipByValue(variable, 0, 1)));
          const [t, c, s, v, tm] = await Promise.all([total, ...parts].map((x) => x.data()));
          total.dispose();
          parts.forEach((p) => p.dispose());
          costs.total = t![0]!;
          costs.content = c![0]!;
          costs.style = s![0]!;
          costs.tv = v![0]!;
          costs.temporal = tm![0]!;
          options.onStep?.(step, { ...costs });
          // wasm math runs on this thread: let sockets and timers in between steps.
          await new Promise((resolve) => setImmediate(resolve));
        }
        const elapsed = performance.now() - started;
        const output = current.preserveColors ? recolour(variable, content) : variable.clone();
        frameTensors.push(output);
        const result = await tensorToImage(output);
        return {
          image: result,
          costs,
          steps: stepsRun,
          msPerStep: stepsRun > 0 ? elapsed / stepsRun : 0,
          warmStarted: warm,
        };
      } finally {
        tf.dispose(frameTensors);
        busy = false;
        if (disposed) freeAll();
      }
    },

    reset() {
      check();
      forgetPrevious();
    },

    dispose() {
      if (disposed) return;
      disposed = true;
      // A frame in progress stops at its next step and frees everything on its way out.
      if (!busy) freeAll();
    },
  };
}
