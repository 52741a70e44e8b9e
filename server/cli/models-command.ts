/**
 * `stylize models` — list, fetch and import feature-network weights, and rebuild the ones
 * shipped in git.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Command, Option } from 'commander';
import { BACKEND_NAMES, readEnv, type BackendName } from '../config.js';
import { BadInputError } from '../errors.js';
import { describeBackend, selectBackend } from '../engine/backend.js';
import { installedVgg19Dir, shippedVgg19Fix } from '../engine/networks/load-network.js';
import { buildShippedVgg19, SHIPPED_CHECK, SHIPPED_LAST_LAYER } from '../engine/weights/shipped-vgg19.js';
import { decodeImage } from '../codec/image-codec.js';
import { fetchVgg19, importVgg19, VGG19_KERAS_URL } from '../engine/weights/vgg19-install.js';
import { readWeightStore } from '../engine/weights/weight-store.js';
import { DEFAULT_MODELS_DIR, PROJECT_ROOT, SHIPPED_VGG19_DIR } from '../paths.js';
import { numberOption } from './parse.js';
import { createProgress } from './progress.js';
import { asDefaultSubcommand } from './subcommands.js';

const NETWORKS = ['vgg19'];

function modelsDir(): string {
  return readEnv().modelsDir ?? DEFAULT_MODELS_DIR;
}

function checkNetwork(name: string): void {
  if (!NETWORKS.includes(name)) throw new BadInputError(`unknown network "${name}"; weights can be installed for: ${NETWORKS.join(', ')}`);
}

export function modelsCommand(): Command {
  const models = new Command('models').description('list, fetch and import feature-network weights');
  asDefaultSubcommand(models.command('list', { isDefault: true }).description('show the networks and which one runs by default').action(listModels), models);
  models
    .command('fetch')
    .description('download the ImageNet VGG19 weights (Keras release, ~80 MB; resumable, checksummed) and install them')
    .argument('<network>', 'vgg19')
    .option('--url <url>', 'download from here instead (a mirror)', readEnv().vgg19Url ?? VGG19_KERAS_URL)
    .action(async (network: string, flags: { url: string }) => {
      checkNetwork(network);
      let bar: ReturnType<typeof createProgress> | undefined;
      const result = await fetchVgg19(modelsDir(), {
        url: flags.url,
        onProgress: (received, total) => {
          bar ??= createProgress('download', Math.max(1, Math.round((total ?? received) / 1e6)));
          bar.update(Math.round(received / 1e6), `${(received / 1e6).toFixed(1)} MB`);
        },
      });
      bar?.stop();
      report(result.dir, result.layers, result.resumedFrom > 0 ? ` (resumed at ${result.resumedFrom} bytes)` : '');
    });
  models
    .command('import')
    .description('install VGG19 weights from a local Keras .h5 file or a TF.js layers directory')
    .argument('<network>', 'vgg19')
    .argument('<source>', 'vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5, or a directory with model.json')
    .action(async (network: string, source: string) => {
      checkNetwork(network);
      const result = await importVgg19(source, modelsDir());
      report(result.dir, result.layers, '');
    });
  models
    .command('build-shipped')
    .description(
      `rebuild ${path.relative(PROJECT_ROOT, SHIPPED_VGG19_DIR)} (the VGG19 weights kept in git) from the ImageNet VGG19 weights: ` +
        'the layers the truncated net uses, float16 if the costs stay within 1e-3 of float32',
    )
    .argument('<source>', 'a Keras .h5 file or a TF.js layers directory (e.g. the partial vgg19-keras-tfjs-partial-block3 export)')
    .option('--out <dir>', 'write here instead', SHIPPED_VGG19_DIR)
    .option('--through <layer>', 'the deepest conv layer to keep', SHIPPED_LAST_LAYER)
    .option('--float32', 'store float32 (twice the size)', false)
    .option('--check-size <px>', "long side of the float16 check's photo", numberOption, SHIPPED_CHECK.longSide)
    .addOption(new Option('--backend <name>', 'tfjs backend for the float16 check (default: best available)').choices([...BACKEND_NAMES]))
    .action(async (source: string, flags: { out: string; through: string; float32: boolean; checkSize: number; backend?: string }) => {
      const env = readEnv();
      const prefer = (flags.backend as BackendName | undefined) ?? env.backend;
      process.stderr.write(`${describeBackend(await selectBackend({ prefer, wasmThreads: env.wasmThreads }))}\n`);
      const result = await buildShippedVgg19({ source, outDir: path.resolve(flags.out), lastLayer: flags.through, float32: flags.float32, checkSize: flags.checkSize, decodeImage });
      const { check } = result;
      process.stdout.write(
        `built ${result.dir}: ${result.layers.length} conv layers (${result.layers[0]} … ${result.layers.at(-1)}), ` +
          `${result.manifest.dtype ?? 'float32'}, sha256 ${result.manifest.sha256.slice(0, 12)}…; float16 vs float32 costs on ` +
          `${check.photo} + ${check.painting} (${check.width}×${check.height}): content ${check.relativeErrors.content!.toExponential(2)}, ` +
          `style ${check.relativeErrors.style!.toExponential(2)}, worst layer ${check.maxRelativeError.toExponential(2)} (relative)\n`,
      );
    });
  return models;
}

function report(dir: string, layers: string[], extra: string): void {
  const whole = layers.length === 16;
  process.stdout.write(
    `installed vgg19 in ${dir}${extra}: ${layers.length} conv layers (${layers[0]} … ${layers[layers.length - 1]})` +
      `${whole ? '' : ', truncated: the net will use the layers it has'}\n`,
  );
}

async function listModels(): Promise<void> {
  const dir = installedVgg19Dir(modelsDir());
  const installed = await stat(dir).then(
    () => readWeightStore(dir).then(({ manifest }) => manifest),
    () => undefined,
  );
  const shipped = await readWeightStore(SHIPPED_VGG19_DIR, { fix: shippedVgg19Fix(SHIPPED_VGG19_DIR) }).then(
    ({ manifest }) => `shipped in ${SHIPPED_VGG19_DIR} (ImageNet VGG19, ${manifest.tensors.length / 2} conv layers, ${manifest.dtype ?? 'float32'}, checksum ok)`,
    (error: unknown) => `damaged or missing: ${(error as Error).message}`,
  );
  const lines = [
    installed
      ? `vgg19              installed in ${dir} (${installed.tensors.length / 2} conv layers, from ${installed.source})  ← default`
      : `vgg19              not installed: \`stylize models fetch vgg19\` or \`stylize models import vgg19 <file.h5>\``,
    `vgg19-blocks1-3    ${shipped}${installed ? '' : '  ← default'}`,
    `random-multiscale  embedded (6 seeded random filter banks, no download); only with --model random-multiscale`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
