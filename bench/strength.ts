/**
 * Where the "style strength" control's range lies (engine/style-strength.ts), by eye: one sheet
 * per style, a row per photo (the repository's own: a cockatoo frame, a person, a cat, a
 * landscape), a column per strength, each the default recipe's still at that strength. Beside it
 * two figures per picture with no neural network in them: structure loss (1 − SSIM of blurred
 * luminance against the photo: does the subject survive?) and the reference gap to the
 * strength-1 picture (how much of the full painting is there).
 *
 *   npm run bench -- strength [--strengths 0,0.25,0.4,0.5,0.6,0.75,1] [--styles starry-night,great-wave]
 *                             [--photos cockatoo,astronaut,cat] [--steps 100] [--height 144] [--out bench/out/strength]
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { decodeImage, writeImage } from '../server/codec/image-codec.js';
import { selectBackend } from '../server/engine/backend.js';
import type { RgbImage } from '../server/engine/image.js';
import { readWeights } from '../server/engine/networks/load-network.js';
import { createVgg19 } from '../server/engine/networks/vgg19.js';
import { costWeightsForStrength } from '../server/engine/style-strength.js';
import { createStylizer } from '../server/engine/stylizer.js';
import { PAINTINGS } from '../server/styles/paintings.js';
import { decodeRgbFrames, probeVideo } from '../server/video/ffmpeg.js';
import { COCKATOO, ROOT, SHIPPED_VGG19 } from '../test/helpers/paths.js';
import { coverCrop, PHOTOS } from './convergence.js';
import { concat, round, stack, structureLoss } from './quality-judge.js';
import { referenceGap } from './reference-gap.js';

export async function runStrengthBench(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      strengths: { type: 'string', default: '0,0.25,0.4,0.5,0.6,0.75,1' },
      styles: { type: 'string', default: 'starry-night,great-wave' },
      photos: { type: 'string', default: 'cockatoo,astronaut,cat' },
      steps: { type: 'string', default: '100' },
      height: { type: 'string', default: '144' },
      out: { type: 'string', default: 'bench/out/strength' },
    },
  });
  await selectBackend({ prefer: 'wasm' });
  const height = Number(values.height);
  const width = Math.round((height * 16) / 9);
  const strengths = values.strengths.split(',').map(Number);
  const { weights, source } = await readWeights(SHIPPED_VGG19);
  const network = createVgg19({ weights, source });
  await mkdir(values.out, { recursive: true });
  const photos: [string, RgbImage][] = [];
  for (const name of values.photos.split(',')) photos.push([name, name === 'cockatoo' ? await cockatooFrame(width, height) : await coverCrop(path.join(ROOT, PHOTOS[name] ?? name), width, height)]);
  for (const styleId of values.styles.split(',')) {
    const painting = PAINTINGS.find((p) => p.id === styleId);
    if (!painting) throw new RangeError(`no built-in style "${styleId}"`);
    const style = await decodeImage(path.join(ROOT, 'models/paintings', painting.file), { longSide: 512 });
    const rows: RgbImage[] = [];
    for (const [photoName, photo] of photos) {
      const pictures: RgbImage[] = [];
      for (const strength of strengths) {
        const stylizer = createStylizer(network, { ...costWeightsForStrength(strength), startColours: strength }, { ownsNetwork: false });
        stylizer.setStyle([{ image: style }]);
        pictures.push((await stylizer.stylizeFrame(photo, { steps: Number(values.steps) })).image);
        stylizer.dispose();
      }
      const full = pictures[strengths.indexOf(Math.max(...strengths))]!;
      strengths.forEach((strength, i) => {
        const row = {
          style: styleId,
          photo: photoName,
          strength,
          alpha: costWeightsForStrength(strength).contentWeight,
          structureLoss: round(structureLoss(pictures[i]!, photo), 3),
          gapToFullStrength: round(referenceGap(pictures[i]!, full, photo), 3),
        };
        process.stdout.write(`${JSON.stringify(row)}\n`);
      });
      rows.push(concat([photo, ...pictures]));
    }
    await writeImage(stack(rows), path.join(values.out, `strength-${styleId}.png`));
  }
  network.dispose();
}

async function cockatooFrame(width: number, height: number): Promise<RgbImage> {
  const info = await probeVideo(COCKATOO);
  for await (const data of decodeRgbFrames(COCKATOO, info, { width, height }, { start: 60, end: 61 })) return { width, height, data };
  throw new Error('no cockatoo frame');
}
