/**
 * Makes the VGG19 weights that ship in git (models/vgg19-blocks1-3): the ImageNet weights of
 * the conv layers the truncated network uses, stored as float16 to halve the repository's
 * size. Redone with `stylize models build-shipped <source>` from the Keras .h5 or a TF.js
 * layers export. float16 is only kept if the engine's costs on a real photo and painting stay
 * within SHIPPED_TOLERANCE (relative) of the float32 originals; what was measured is written
 * into the manifest (`notes.float16Check`) so the test suite can hold the shipped file to it.
 */
import path from 'node:path';
import { WeightsError } from '../engine-errors.js';
import { PROJECT_ROOT, SHIPPED_VGG19_DIR } from '../engine-paths.js';
import type { RgbImage } from '../image.js';
import { measureFeatureCosts, relativeCostErrors, type FeatureCosts } from '../feature-costs.js';
import { readWeights } from '../networks/load-network.js';
import { createVgg19, VGG19_CONVS } from '../networks/vgg19.js';
import { roundToFloat16 } from './float16.js';
import type { WeightSet } from './weight-set.js';
import { writeWeightStore, type StoreManifest } from './weight-store.js';

/** The deepest layer the truncated net uses: content relu3_2 (style relu1_1, relu2_1, relu3_1 come before it). */
export const SHIPPED_LAST_LAYER = 'block3_conv2';
/** Largest relative change of any cost that float16 storage may cause. */
export const SHIPPED_TOLERANCE = 1e-3;
/** The check's pictures, inside the repository; the photo's long side in pixels. */
export const SHIPPED_CHECK = {
  photo: 'fixtures/content/chelsea_cat.jpg',
  painting: 'fixtures/styles/starry_night.jpg',
  longSide: 256,
} as const;

export const SHIPPED_LICENSE =
  'ImageNet VGG19 weights: K. Simonyan, A. Zisserman, "Very Deep Convolutional Networks for Large-Scale Image Recognition", ' +
  'ICLR 2015 (Visual Geometry Group, University of Oxford), CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/). ' +
  'Via the Keras Applications release and its TF.js conversion DavidCai1993/vgg19-tensorflowjs-model (MIT, (c) 2018 David Cai). ' +
  'Changes: only the layers up to the last one listed are kept, stored as float16.';

export interface Float16Check {
  photo: string;
  painting: string;
  width: number;
  height: number;
  float32: FeatureCosts;
  float16: FeatureCosts;
  relativeErrors: Record<string, number>;
  maxRelativeError: number;
  tolerance: number;
}

/**
 * Reads an image file into RGB at a size: the check's pictures are JPEGs, and the engine reads no
 * image format itself (server/codec's decodeImage fits).
 */
export type ImageFileDecoder = (file: string, size: { longSide: number } | { exact: { width: number; height: number } }) => Promise<RgbImage>;

export interface BuildShippedOptions {
  /** A Keras .h5 file, a TF.js layers directory or a stylize store holding VGG19 (at least) through `lastLayer`. */
  source: string;
  outDir?: string;
  lastLayer?: string;
  /** Float32 anyway (e.g. if a deeper net fails the float16 check). */
  float32?: boolean;
  /** Long side of the photo for the float16 check (SHIPPED_CHECK.longSide by default). */
  checkSize?: number;
  /** Decodes the check's photo and painting (the engine reads no image format itself). */
  decodeImage: ImageFileDecoder;
}

export interface BuildShippedResult {
  dir: string;
  layers: string[];
  manifest: StoreManifest;
  check: Float16Check;
}

/** Needs a tfjs backend selected (the costs are measured with the engine). */
export async function buildShippedVgg19(options: BuildShippedOptions): Promise<BuildShippedResult> {
  const decode = options.decodeImage;
  const lastLayer = options.lastLayer ?? SHIPPED_LAST_LAYER;
  const last = VGG19_CONVS.findIndex((c) => c.name === lastLayer);
  if (last === -1) throw new WeightsError(`${lastLayer} is not a VGG19 conv layer (block1_conv1 … block5_conv4)`);
  const { weights } = await readWeights(options.source);
  const float32: WeightSet = new Map();
  for (const conv of VGG19_CONVS.slice(0, last + 1)) {
    for (const part of ['kernel', 'bias']) {
      const w = weights.get(`${conv.name}/${part}`);
      if (!w) throw new WeightsError(`${options.source} has no ${conv.name}/${part}; the shipped net needs every layer through ${lastLayer}`);
      float32.set(`${conv.name}/${part}`, w);
    }
  }
  const float16: WeightSet = new Map([...float32].map(([name, w]) => [name, { shape: w.shape, data: roundToFloat16(w.data) }]));

  const check = await compareCosts(float32, float16, options.source, options.checkSize ?? SHIPPED_CHECK.longSide, decode);
  const useFloat16 = !options.float32;
  if (useFloat16 && check.maxRelativeError > SHIPPED_TOLERANCE) {
    throw new WeightsError(
      `float16 changes a cost by ${check.maxRelativeError.toExponential(2)} (relative), more than ${SHIPPED_TOLERANCE}; rebuild with --float32`,
    );
  }
  const dir = options.outDir ?? SHIPPED_VGG19_DIR;
  const manifest = await writeWeightStore(dir, 'vgg19', path.basename(options.source), useFloat16 ? float16 : float32, {
    dtype: useFloat16 ? 'float16' : 'float32',
    license: SHIPPED_LICENSE,
    notes: { lastLayer, float16Check: check },
  });
  return { dir, layers: VGG19_CONVS.slice(0, last + 1).map((c) => c.name), manifest, check };
}

async function compareCosts(float32: WeightSet, float16: WeightSet, source: string, longSide: number, decode: ImageFileDecoder): Promise<Float16Check> {
  const photo = await decode(path.join(PROJECT_ROOT, SHIPPED_CHECK.photo), { longSide });
  const painting = await decode(path.join(PROJECT_ROOT, SHIPPED_CHECK.painting), { exact: { width: photo.width, height: photo.height } });
  const costs = (weights: WeightSet): FeatureCosts => {
    const net = createVgg19({ weights, source: { kind: 'stylize', path: source } });
    try {
      return measureFeatureCosts(net, photo, painting);
    } finally {
      net.dispose();
    }
  };
  const reference = costs(float32);
  const rounded = costs(float16);
  const { errors, max } = relativeCostErrors(rounded, reference);
  return {
    photo: SHIPPED_CHECK.photo,
    painting: SHIPPED_CHECK.painting,
    width: photo.width,
    height: photo.height,
    float32: reference,
    float16: rounded,
    relativeErrors: errors,
    maxRelativeError: max,
    tolerance: SHIPPED_TOLERANCE,
  };
}
