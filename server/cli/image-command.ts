/**
 * `stylize image <content> --style <img>[,<img2> …] -o out.png`: one picture, from scratch.
 */
import { Command, Option } from 'commander';
import { BACKEND_NAMES, DEFAULTS, LIMITS, MODEL_NAMES, OPTIMIZER_NAMES, parseStylizeOptions, readEnv } from '../config.js';
import { BadInputError } from '../errors.js';
import { decodeImage, formatForPath, writeImage } from '../codec/image-codec.js';
import { describeBackend, selectBackend } from '../engine/backend.js';
import { loadNetwork } from '../engine/networks/load-network.js';
import { OPTIMISER_RECIPES } from '../engine/optimiser-recipe.js';
import { createStylizer, type Init } from '../engine/stylizer.js';
import { DEFAULT_MODELS_DIR } from '../paths.js';
import { checkOutputLocation } from './output-file.js';
import { createProgress } from './progress.js';
import { numberList, numberOption } from './parse.js';
import { STYLE_ARG_HELP, cliStyleLibrary, resolveStyle } from './style-arg.js';

export function imageCommand(): Command {
  return new Command('image')
    .description('stylize one image: Gatys et al. optimisation from the content (or noise) image')
    .argument('<content>', 'the photo to paint (any image sharp reads: JPEG, PNG, WebP, …)')
    .requiredOption('-s, --style <styles>', `style(s), comma-separated: each ${STYLE_ARG_HELP}`)
    .option('--style-weights <weights>', 'how much of each style, comma-separated (e.g. 0.7,0.3)', numberList)
    .option('-o, --output <file>', 'where to write the result (.png, .jpg or .webp)', 'stylized.png')
    .option('--size <px>', 'longest side of the working image', numberOption, DEFAULTS.size)
    .option('--steps <n>', 'optimisation steps', numberOption, DEFAULTS.steps)
    .option('--lr <rate>', 'Adam learning rate (pixels in [0,1])', numberOption, DEFAULTS.lr)
    .option('--style-strength <0-1>', 'how much of the style: 0 keeps the photo, 1 paints it over everything (log scale of α)', numberOption, DEFAULTS.styleStrength)
    .addOption(new Option('--optimizer <recipe>', "how it paints: the default converges in a quarter of the seed's steps; adam-pixels is the seed's recipe (and α 10, β 40)").choices([...OPTIMIZER_NAMES]).default(DEFAULTS.optimizer))
    .option('--content-weight <alpha>', 'α, weight of the content cost (overrides --style-strength)', numberOption)
    .option('--style-weight <beta>', 'β, weight of the style cost (overrides --style-strength)', numberOption)
    .option('--tv-weight <w>', 'weight of the total-variation smoothness cost', numberOption, DEFAULTS.tvWeight)
    .addOption(new Option('--model <name>', 'feature network').choices([...MODEL_NAMES]).default(DEFAULTS.model))
    .option('--weights <dir|h5>', 'VGG19 weights: a stylize or TF.js layers directory, or a Keras .h5 file')
    .addOption(new Option('--backend <name>', 'force a tfjs backend (default: best available)').choices([...BACKEND_NAMES]))
    .option('--seed <n>', 'seed for random filters and noise', numberOption, DEFAULTS.seed)
    .option('--init <content|noise|file>', 'where the optimisation starts', DEFAULTS.init)
    .option('--preserve-colors', "keep the photo's colours: transfer luminance only", false)
    .action(runImage);
}

interface ImageFlags {
  style: string;
  styleWeights?: number[];
  output: string;
  size: number;
  steps: number;
  lr: number;
  styleStrength: number;
  optimizer: string;
  contentWeight?: number;
  styleWeight?: number;
  tvWeight: number;
  model: string;
  weights?: string;
  backend?: string;
  seed: number;
  init: string;
  preserveColors: boolean;
}

async function runImage(contentPath: string, flags: ImageFlags): Promise<void> {
  const env = readEnv();
  const options = parseStylizeOptions({ ...flags, backend: flags.backend ?? env.backend });
  // Where the result goes is checked first: a bad -o fails now, not after the painting.
  formatForPath(flags.output);
  await checkOutputLocation(flags.output);
  const styleArgs = flags.style.split(',').map((s) => s.trim()).filter(Boolean);
  if (styleArgs.length === 0) throw new BadInputError('--style needs at least one image or style id');
  if (options.styleWeights && options.styleWeights.length !== styleArgs.length) {
    throw new BadInputError(`--style-weights has ${options.styleWeights.length} values for ${styleArgs.length} style images`);
  }

  // Decode everything first: a bad file fails fast, before the backend and the network load.
  const fit = { longSide: options.size, minShortSide: LIMITS.minSize };
  const content = await decodeImage(contentPath, { ...fit, label: `content image ${contentPath}` });
  const library = cliStyleLibrary();
  const styles = await Promise.all(
    styleArgs.map(async (value, i) => {
      const style = await resolveStyle(value, library);
      const image = 'file' in style ? await decodeImage(style.file, { ...fit, label: `style image ${style.file}` }) : await library.decoded(style.id, fit.longSide, fit.minShortSide);
      return { image, weight: options.styleWeights?.[i] ?? 1 };
    }),
  );
  let init: Init = 'content';
  if (options.init === 'noise') init = 'noise';
  else if (options.init !== 'content') {
    init = await decodeImage(options.init, { exact: { width: content.width, height: content.height }, label: `--init ${options.init}` });
  }

  const backend = await selectBackend({ prefer: options.backend, wasmThreads: env.wasmThreads });
  log(describeBackend(backend));
  const { network, reason } = await loadNetwork({
    model: options.model,
    weights: options.weights,
    modelsDir: env.modelsDir ?? DEFAULT_MODELS_DIR,
    seed: options.seed,
  });
  log(`model ${network.description} — ${reason}`);

  const stylizer = createStylizer(network, { ...options, optimizer: OPTIMISER_RECIPES[options.optimizer] });
  try {
    stylizer.setStyle(styles);
    log(`content ${content.width}×${content.height}, ${options.steps} steps`);
    const progress = createProgress('stylize', options.steps);
    const result = await stylizer.stylizeFrame(content, {
      steps: options.steps,
      init,
      onStep: (step, costs) => progress.update(step, `J ${costs.total.toExponential(3)}`),
    });
    progress.stop();
    await writeImage(result.image, flags.output);
    const c = result.costs;
    process.stdout.write(
      `${JSON.stringify({
        output: flags.output,
        backend: backend.name,
        model: network.name,
        width: result.image.width,
        height: result.image.height,
        steps: result.steps,
        optimizer: options.optimizer,
        styleStrength: options.styleStrength,
        contentWeight: options.contentWeight,
        styleWeight: options.styleWeight,
        msPerStep: Math.round(result.msPerStep),
        costs: { total: c.total, content: c.content, style: c.style, tv: c.tv },
      })}\n`,
    );
  } finally {
    stylizer.dispose();
  }
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}
