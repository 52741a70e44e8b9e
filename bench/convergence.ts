/**
 * How fast each optimiser recipe paints (issue 21): the reference gap (bench/reference-gap.ts, no
 * neural network in it) after 1, 2, 5, 10, 25, 50, 100, 200 steps and against seconds, measured
 * (a) against the variant's own 200-step result and (b) against today's 200-step still (the seed
 * recipe: Adam lr 0.03 on raw pixels from the photo), α = 10, β = 40 given explicitly.
 * Beside it the VGG figures of each 200-step result (judge: the shipped VGG19 blocks 1–3, the loss
 * network itself — say so beside each figure), and one live step (lr 0.1) from the photo.
 *
 *   npm run bench -- convergence [--photos mountain,cat,astronaut] [--styles starry-night,great-wave,the-scream]
 *                                [--variants 'seed;colour-start;decorrelated;pyramid-rgb;pyramid;lbfgs;coarse-to-fine']
 *                                [--steps 200] [--height 144] [--out bench/out/convergence]
 *
 * Variants are separated by ';' and may be tuned: `pyramid:lr=0.05,levels=4,colour=0.5,basis=rgb,method=lbfgs,decay=15,floor=0.1`.
 */
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { decodeImage, probeImage, resizeImage, writeImage } from '../server/codec/image-codec.js';
import { selectBackend } from '../server/engine/backend.js';
import type { RgbImage } from '../server/engine/image.js';
import { readWeights } from '../server/engine/networks/load-network.js';
import type { FeatureNetwork } from '../server/engine/networks/network.js';
import { createVgg19 } from '../server/engine/networks/vgg19.js';
import { OPTIMISER_RECIPES, PYRAMID_RECIPE, type OptimiserRecipe } from '../server/engine/optimiser-recipe.js';
import { createStylizer } from '../server/engine/stylizer.js';
import { PAINTINGS } from '../server/styles/paintings.js';
import { ROOT, SHIPPED_VGG19 } from '../test/helpers/paths.js';
import { linePlot } from './plot.js';
import { concat, contentDistance, judgeGrams, mean, round, stack, styleDistance } from './quality-judge.js';
import { referenceGap } from './reference-gap.js';

const CHECKPOINTS = [1, 2, 5, 10, 25, 50, 100, 200];
export const PHOTOS: Record<string, string> = {
  mountain: 'fixtures/content/kodim13_mountain_stream.jpg',
  cat: 'fixtures/content/chelsea_cat.jpg',
  astronaut: 'fixtures/content/astronaut_eileen_collins.jpg',
};
/** The seed's cost weights, given explicitly: the targets are measured with them. */
const WEIGHTS = { contentWeight: 10, styleWeight: 40 };
const LIVE_LR = 0.1;

export interface Variant {
  name: string;
  recipe: OptimiserRecipe;
  lr: number;
  /** Steps painted at half size first (coarse-to-fine), then upsampled. */
  coarseSteps: number;
}

const PIXELS = OPTIMISER_RECIPES['adam-pixels'];
/** Without a schedule: tune with decay=…, floor=… (the default has decay=15, floor=0.1). */
const PYRAMID = { ...PYRAMID_RECIPE, decay: undefined };
const VARIANTS: Record<string, Omit<Variant, 'name'>> = {
  seed: { recipe: PIXELS, lr: 0.03, coarseSteps: 0 },
  default: { recipe: OPTIMISER_RECIPES['adam-decorrelated'], lr: 0.03, coarseSteps: 0 },
  'colour-start': { recipe: { ...PIXELS, colourStart: 1 }, lr: 0.03, coarseSteps: 0 },
  decorrelated: { recipe: { ...PIXELS, colourBasis: 'decorrelated' }, lr: 0.03, coarseSteps: 0 },
  'pyramid-rgb': { recipe: { ...PYRAMID, colourBasis: 'rgb', colourStart: 0 }, lr: 0.03, coarseSteps: 0 },
  pyramid: { recipe: PYRAMID, lr: 0.03, coarseSteps: 0 },
  lbfgs: { recipe: { ...PYRAMID, method: 'lbfgs' }, lr: 0.05, coarseSteps: 0 },
  'coarse-to-fine': { recipe: PYRAMID, lr: 0.03, coarseSteps: 40 },
};

export function parseVariant(spec: string): Variant {
  const [name, tuning] = spec.split(':') as [string, string | undefined];
  const base = VARIANTS[name];
  if (!base) throw new RangeError(`no variant "${name}"; known: ${Object.keys(VARIANTS).join(', ')}`);
  const variant: Variant = { name: spec, ...base, recipe: { ...base.recipe } };
  for (const pair of tuning ? tuning.split(',') : []) {
    const [key, value] = pair.split('=') as [string, string];
    if (key === 'lr') variant.lr = Number(value);
    else if (key === 'levels') variant.recipe.pyramidLevels = Number(value);
    else if (key === 'colour') variant.recipe.colourStart = Number(value);
    else if (key === 'basis') variant.recipe.colourBasis = value as OptimiserRecipe['colourBasis'];
    else if (key === 'method') variant.recipe.method = value as OptimiserRecipe['method'];
    else if (key === 'coarse') variant.coarseSteps = Number(value);
    else if (key === 'decay') variant.recipe.decay = { halfLife: Number(value), floor: variant.recipe.decay?.floor ?? 0.1 };
    else if (key === 'floor') variant.recipe.decay = { halfLife: variant.recipe.decay?.halfLife ?? 10, floor: Number(value) };
    else throw new RangeError(`variant ${name}: unknown setting "${key}"`);
  }
  return variant;
}

interface Run {
  /** Picture after each checkpoint's steps. */
  pictures: Map<number, RgbImage>;
  /** Seconds of optimiser time to each checkpoint (snapshots not counted). */
  seconds: Map<number, number>;
  msPerStep: number;
}

export async function runConvergenceBench(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      photos: { type: 'string', default: Object.keys(PHOTOS).join(',') },
      styles: { type: 'string', default: 'starry-night,great-wave,the-scream' },
      variants: { type: 'string', default: Object.keys(VARIANTS).join(';') },
      steps: { type: 'string', default: '200' },
      height: { type: 'string', default: '144' },
      out: { type: 'string', default: 'bench/out/convergence' },
      /** Only the summary (table and curves) of rows printed by an earlier run (its stdout, JSON lines). */
      summarise: { type: 'string' },
    },
  });
  if (values.summarise) return summariseRows(values.summarise, values.out);
  const backend = await selectBackend({ prefer: 'wasm' });
  const height = Number(values.height);
  const width = Math.round((height * 16) / 9);
  const maxSteps = Number(values.steps);
  const checkpoints = CHECKPOINTS.filter((c) => c <= maxSteps);
  const variants = values.variants.split(';').map(parseVariant);
  if (variants[0]?.name !== 'seed') variants.unshift(parseVariant('seed'));
  const { weights, source } = await readWeights(SHIPPED_VGG19);
  const network = createVgg19({ weights, source });
  await mkdir(values.out, { recursive: true });
  process.stderr.write(`convergence: ${width}×${height}, ${maxSteps} steps, backend ${backend.name}; judge: reference gap (blurred Lab); VGG figures: vgg19 blocks 1–3 (the loss net)\n`);

  const rows: Record<string, unknown>[] = [];
  for (const photoName of values.photos.split(',')) {
    const photo = await coverCrop(path.join(ROOT, PHOTOS[photoName] ?? photoName), width, height);
    for (const styleId of values.styles.split(',')) {
      const painting = PAINTINGS.find((p) => p.id === styleId);
      if (!painting) throw new RangeError(`no built-in style "${styleId}"`);
      const style = await decodeImage(path.join(ROOT, 'models/paintings', painting.file), { longSide: 512 });
      const styleGrams = judgeGrams(network, style);
      const runs = new Map<string, Run>();
      const live = new Map<string, RgbImage>();
      for (const variant of variants) {
        runs.set(variant.name, await paint(network, photo, style, variant, maxSteps, checkpoints));
        live.set(variant.name, await liveStep(network, photo, style, variant));
        process.stderr.write(`  ${photoName} × ${styleId}: ${variant.name} done, ${round(runs.get(variant.name)!.msPerStep, 0)} ms/step\n`);
      }
      const still = runs.get('seed')!.pictures.get(maxSteps)!;
      const dPhoto = styleDistance(network, photo, styleGrams);
      const dStill = styleDistance(network, still, styleGrams);
      for (const variant of variants) {
        const run = runs.get(variant.name)!;
        const own = run.pictures.get(maxSteps)!;
        const final = own;
        const row = {
          photo: photoName,
          style: styleId,
          variant: variant.name,
          msPerStep: round(run.msPerStep, 1),
          gapOwn: checkpoints.map((c) => round(referenceGap(run.pictures.get(c)!, own, photo), 3)),
          gapStill: checkpoints.map((c) => round(referenceGap(run.pictures.get(c)!, still, photo), 3)),
          seconds: checkpoints.map((c) => round(run.seconds.get(c)!, 2)),
          liveGapStill: round(referenceGap(live.get(variant.name)!, still, photo), 3),
          // VGG19 blocks 1–3 (the loss net): share of the still's Gram-distance reduction, and content cost to the photo.
          vggStyleMatch: round((dPhoto - styleDistance(network, final, styleGrams)) / (dPhoto - dStill), 3),
          vggContent: round(contentDistance(network, final, photo), 1),
        };
        rows.push(row);
        process.stdout.write(`${JSON.stringify(row)}\n`);
      }
      styleGrams.forEach((g) => g.dispose());
      const picks = [1, 5, 25].filter((c) => c <= maxSteps);
      const sheet = stack(
        variants.map((v) => concat([photo, live.get(v.name)!, ...picks.map((c) => runs.get(v.name)!.pictures.get(c)!), runs.get(v.name)!.pictures.get(maxSteps)!, still])),
      );
      await writeImage(sheet, path.join(values.out, `${photoName}-${styleId}.png`));
    }
  }
  network.dispose();
  await writeSummary(rows, variants, checkpoints, values.out);
}

/** The photo scaled to cover width × height, centre-cropped. */
export async function coverCrop(file: string, width: number, height: number): Promise<RgbImage> {
  const size = await probeImage(file);
  const scale = Math.max(width / size.width, height / size.height);
  const decoded = await decodeImage(file, { exact: { width: Math.ceil(size.width * scale), height: Math.ceil(size.height * scale) } });
  const x0 = Math.floor((decoded.width - width) / 2);
  const y0 = Math.floor((decoded.height - height) / 2);
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) data.set(decoded.data.subarray(((y + y0) * decoded.width + x0) * 3, ((y + y0) * decoded.width + x0 + width) * 3), y * width * 3);
  return { width, height, data };
}

async function paint(network: FeatureNetwork, photo: RgbImage, style: RgbImage, variant: Variant, maxSteps: number, checkpoints: number[]): Promise<Run> {
  const pictures = new Map<number, RgbImage>();
  const seconds = new Map<number, number>();
  let optimiserMs = 0;
  let init: RgbImage | undefined;
  // Coarse-to-fine: paint at half size first, then go on from that picture, upsampled.
  if (variant.coarseSteps > 0) {
    const small = await resizeImage(photo, { width: Math.round(photo.width / 2), height: Math.round(photo.height / 2) }, 'linear');
    const coarse = createStylizer(network, { ...WEIGHTS, optimizer: variant.recipe, lr: variant.lr }, { ownsNetwork: false });
    coarse.setStyle([{ image: style }]);
    const started = performance.now();
    const result = await coarse.stylizeFrame(small, { steps: variant.coarseSteps });
    init = await resizeImage(result.image, { width: photo.width, height: photo.height }, 'linear');
    optimiserMs += performance.now() - started;
    coarse.dispose();
  }
  const stylizer = createStylizer(network, { ...WEIGHTS, optimizer: variant.recipe, lr: variant.lr }, { ownsNetwork: false });
  stylizer.setStyle([{ image: style }]);
  let mark = performance.now();
  const firstMark = optimiserMs;
  await stylizer.stylizeFrame(photo, {
    steps: maxSteps,
    ...(init ? { init } : {}),
    onStep: async (step, _costs, view) => {
      optimiserMs += performance.now() - mark;
      if (checkpoints.includes(step)) {
        pictures.set(step, await view.picture());
        seconds.set(step, optimiserMs / 1000);
      }
      mark = performance.now();
    },
  });
  stylizer.dispose();
  return { pictures, seconds, msPerStep: (optimiserMs - firstMark) / maxSteps };
}

/** One step from a cold photo at the live step size: what a stream's first frame shows. */
async function liveStep(network: FeatureNetwork, photo: RgbImage, style: RgbImage, variant: Variant): Promise<RgbImage> {
  const stylizer = createStylizer(network, { ...WEIGHTS, optimizer: variant.recipe, lr: LIVE_LR }, { ownsNetwork: false });
  stylizer.setStyle([{ image: style }]);
  const { image } = await stylizer.stylizeFrame(photo, { steps: 1 });
  stylizer.dispose();
  return image;
}

const COLOURS: [number, number, number][] = [[0, 0, 0], [230, 25, 75], [60, 180, 75], [0, 130, 200], [245, 130, 48], [145, 30, 180], [70, 240, 240], [128, 128, 0]];

async function summariseRows(file: string, out: string): Promise<void> {
  const rows = (await readFile(file, 'utf8')).split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  const names = [...new Set(rows.map((r) => r.variant as string))];
  const checkpoints = CHECKPOINTS.slice(0, (rows[0]?.gapOwn as number[] | undefined)?.length ?? CHECKPOINTS.length);
  await mkdir(out, { recursive: true });
  await writeSummary(rows, names.map(parseVariant), checkpoints, out);
}

async function writeSummary(rows: Record<string, unknown>[], variants: Variant[], checkpoints: number[], out: string): Promise<void> {
  const table: string[] = [`| variant | ms/step | ${checkpoints.map((c) => `gap@${c}`).join(' | ')} | 1 live step vs still | VGG style (loss net) | VGG content (loss net) |`];
  table.push(`| --- | ${['', ...checkpoints, '', '', ''].map(() => '---').join(' | ')} |`);
  const curves: { own: number[]; still: number[]; seconds: number[] }[] = [];
  for (const variant of variants) {
    const mine = rows.filter((r) => r.variant === variant.name);
    const avg = (key: string, i: number): number => mean(mine.map((r) => (r[key] as number[])[i]!));
    const own = checkpoints.map((_, i) => avg('gapOwn', i));
    const still = checkpoints.map((_, i) => avg('gapStill', i));
    const seconds = checkpoints.map((_, i) => avg('seconds', i));
    curves.push({ own, still, seconds });
    const ms = mean(mine.map((r) => r.msPerStep as number));
    const cells = checkpoints.map((_, i) => `${round(own[i]!, 2)} / ${round(still[i]!, 2)}`);
    const scalar = (key: string, digits: number): number => round(mean(mine.map((r) => r[key] as number)), digits);
    table.push(`| ${variant.name} | ${round(ms, 0)} | ${cells.join(' | ')} | ${scalar('liveGapStill', 2)} | ${scalar('vggStyleMatch', 3)} | ${scalar('vggContent', 0)} |`);
  }
  process.stdout.write(`\nmean over ${rows.length / variants.length} photo × style pairs; gap@N = reference gap (blurred Lab) after N steps vs the variant's own 200-step result / vs today's 200-step still\n${table.join('\n')}\n`);
  // Curves: x = log2(steps), y = gap; own-result curves and still curves in two plots.
  const xs = checkpoints.map((c) => Math.log2(c));
  const xMax = Math.ceil(Math.max(...xs));
  for (const which of ['own', 'still'] as const) {
    const series = curves.map((c, k) => ({ colour: COLOURS[k % COLOURS.length]!, points: c[which].map((y, i) => ({ x: xs[i]!, y })) }));
    await writeImage(linePlot(series, { xMax, yMax: 1.4, xTick: 1, width: 560, height: 280 }), path.join(out, `curves-${which}.png`));
  }
  const secondsMax = Math.ceil(Math.max(...curves.flatMap((c) => c.seconds)));
  const bySeconds = curves.map((c, k) => ({ colour: COLOURS[k % COLOURS.length]!, points: c.still.map((y, i) => ({ x: c.seconds[i]!, y })) }));
  await writeImage(linePlot(bySeconds, { xMax: secondsMax, yMax: 1.4, xTick: Math.max(1, Math.round(secondsMax / 10)), width: 560, height: 280 }), path.join(out, 'curves-seconds.png'));
  process.stdout.write(`legend (top-left swatches, in order): ${variants.map((v, k) => `${v.name} ${COLOURS[k % COLOURS.length]!.join(',')}`).join('; ')}\n`);
}
