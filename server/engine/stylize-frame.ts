/**
 * One frame through the stylizer: the content and its loss targets, the warm start (warm-start.ts),
 * the optimiser's steps (optimise-steps.ts), the picture back out. Every tensor made for the frame
 * is freed however the frame ends; what carries to the next frame lives in its FrameMemory.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { FrameMemory } from './frame-memory.js';
import { imageToTensor, luminanceAsRgb, recolour, tensorToImage, type RgbImage } from './image.js';
import type { FeatureNetwork } from './networks/network.js';
import { runSteps } from './optimise-steps.js';
import type { StyleTargets } from './style-targets.js';
import { PAINTER_PERSISTENCE, type StylizeFrameOptions, type StylizeResult, type StylizerSettings } from './stylizer-types.js';
import { followPrevious, startImage } from './warm-start.js';

/** What a frame uses of its stylizer. `settings()`: the settings as they are now. */
export interface FrameContext {
  network: FeatureNetwork;
  settings: () => StylizerSettings;
  styles: StyleTargets;
  memory: FrameMemory;
  isDisposed: () => boolean;
}

export async function stylizeOneFrame(context: FrameContext, frame: RgbImage, options: StylizeFrameOptions): Promise<StylizeResult> {
  // Per-frame tensors, freed however the frame ends.
  const frameTensors: tf.Tensor[] = [];
  try {
    return await paintFrame(context, frame, options, frameTensors);
  } finally {
    tf.dispose(frameTensors);
  }
}

async function paintFrame(context: FrameContext, frame: RgbImage, options: StylizeFrameOptions, frameTensors: tf.Tensor[]): Promise<StylizeResult> {
  const { network, memory } = context;
  const settings = context.settings();
  const content = imageToTensor(frame);
  const seen = settings.preserveColors ? luminanceAsRgb(content) : content;
  frameTensors.push(content, ...(seen === content ? [] : [seen]));
  const { contentTargets, shapes } = frameFeatures(network, seen, options.steps, frameTensors);
  const styleTargets = options.steps > 0 ? context.styles.at(shapes, `${frame.width}x${frame.height}`) : new Map<string, tf.Tensor2D>();
  // The space the image is optimised in: colours, or luminance in colour-preserving mode.
  const optimised = settings.preserveColors ? seen : content;
  const base = basePicture(frame, options, settings.preserveColors, frameTensors);
  const painter = base ? { picture: base, persistence: options.persistence ?? PAINTER_PERSISTENCE } : undefined;
  const followed = followPrevious(memory, optimised, options, painter, frameTensors);
  memory.rememberContent(optimised);
  const { start, warm } = startImage(optimised, memory.output, {
    warmStart: options.warmStart === true,
    init: options.init,
    seed: settings.seed,
    followed: followed.image,
    base,
    // Colour-preserving mode optimises luminance: the style's colours have no place there.
    styleColours: settings.preserveColors || settings.optimizer.colourStart * settings.startColours === 0
      ? undefined
      : { stats: context.styles.colours(), strength: settings.optimizer.colourStart * settings.startColours },
  });
  const { parameters, stepper } = memory.begin(start, warm, settings.optimizer, settings.lr);
  const temporal = followed.temporalMask && warm ? { image: followed.image!, mask: followed.temporalMask, weight: options.temporalWeight ?? 0 } : undefined;
  const schedule = { recipe: settings.optimizer, lr: settings.lr };
  const run = await runSteps(network, parameters, stepper, { content: contentTargets, style: styleTargets, temporal }, settings, schedule, options, context.isDisposed);
  const image = parameters.picture;
  const output = context.settings().preserveColors ? recolour(image, content) : image.clone();
  frameTensors.push(output);
  return {
    image: await tensorToImage(output),
    costs: run.costs,
    steps: run.steps,
    msPerStep: run.steps > 0 ? run.elapsedMs / run.steps : 0,
    warmStarted: warm,
  };
}

/**
 * One forward pass gives the content targets and the style layers' shapes. Zero steps (a learned
 * painter's frame shown as it starts) need neither: no loss-network pass at all.
 */
function frameFeatures(
  network: FeatureNetwork,
  seen: tf.Tensor4D,
  steps: number,
  frameTensors: tf.Tensor[],
): { contentTargets: Map<string, tf.Tensor4D>; shapes: Map<string, number[]> } {
  const contentNames = network.contentLayers.map((l) => l.name);
  const contentTargets = new Map<string, tf.Tensor4D>();
  const shapes = new Map<string, number[]>();
  const features = steps > 0 ? tf.tidy(() => network.extract(seen, [...contentNames, ...network.styleLayers.map((l) => l.name)])) : {};
  for (const [name, a] of Object.entries(features)) {
    shapes.set(name, a.shape);
    if (contentNames.includes(name)) contentTargets.set(name, a);
    else a.dispose();
  }
  frameTensors.push(...contentTargets.values());
  return { contentTargets, shapes };
}

/** A learned painter's picture of the frame (StylizeFrameOptions.base), as a tensor for the frame. */
function basePicture(frame: RgbImage, options: StylizeFrameOptions, preserveColors: boolean, frameTensors: tf.Tensor[]): tf.Tensor4D | undefined {
  if (!options.base) return undefined;
  // The base is a colour picture; colour preservation optimises luminance.
  if (preserveColors) throw new RangeError('a base picture cannot be used with preserveColors');
  if (options.base.width !== frame.width || options.base.height !== frame.height) throw new RangeError('the base picture must be the frame\'s size');
  const base = imageToTensor(options.base);
  frameTensors.push(base);
  return base;
}
