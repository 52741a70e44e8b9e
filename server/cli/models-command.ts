/**
 * `stylize models` — list, fetch and import feature-network weights.
 */
import { stat } from 'node:fs/promises';
import { Command } from 'commander';
import { readEnv } from '../config.js';
import { BadInputError } from '../errors.js';
import { installedVgg19Dir } from '../engine/networks/load-network.js';
import { fetchVgg19, importVgg19, VGG19_KERAS_URL } from '../engine/weights/vgg19-install.js';
import { readWeightStore } from '../engine/weights/weight-store.js';
import { DEFAULT_MODELS_DIR } from '../paths.js';
import { createProgress } from './progress.js';

const NETWORKS = ['vgg19'];

function modelsDir(): string {
  return readEnv().modelsDir ?? DEFAULT_MODELS_DIR;
}

function checkNetwork(name: string): void {
  if (!NETWORKS.includes(name)) throw new BadInputError(`unknown network "${name}"; weights can be installed for: ${NETWORKS.join(', ')}`);
}

export function modelsCommand(): Command {
  const models = new Command('models').description('list, fetch and import feature-network weights');
  models.command('list', { isDefault: true }).description('show the networks and which one runs by default').action(listModels);
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
  const lines = [
    installed
      ? `vgg19              installed in ${dir} (${installed.tensors.length / 2} conv layers, from ${installed.source})  ← default`
      : `vgg19              not installed: \`stylize models fetch vgg19\` or \`stylize models import vgg19 <file.h5>\``,
    `random-multiscale  embedded (6 seeded random filter banks, no download)${installed ? '' : '  ← default'}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
