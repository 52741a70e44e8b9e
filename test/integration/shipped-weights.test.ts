/**
 * The ImageNet VGG19 blocks 1–3 that ship in git (models/vgg19-blocks1-3): they load offline from
 * the repository with their checksum verified, `auto` picks them, float16 storage keeps the
 * engine's costs within 1e-3 of the float32 originals on a real photo and painting, a damaged or
 * missing file gives one line naming the file and the fix, and `stylize models build-shipped`
 * makes the same bytes again from a TF.js layers export.
 */
import { execFile } from 'node:child_process';
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../../server/codec/image-codec.js';
import { ChecksumError, WeightsError, WeightsMissingError } from '../../server/errors.js';
import { measureFeatureCosts, relativeCostErrors } from '../../server/engine/feature-costs.js';
import { loadNetwork, shippedVgg19Fix } from '../../server/engine/networks/load-network.js';
import { createVgg19, randomVgg19Weights } from '../../server/engine/networks/vgg19.js';
import { roundToFloat16 } from '../../server/engine/weights/float16.js';
import { SHIPPED_LAST_LAYER, SHIPPED_TOLERANCE, type Float16Check } from '../../server/engine/weights/shipped-vgg19.js';
import { importVgg19 } from '../../server/engine/weights/vgg19-install.js';
import { readWeightStore } from '../../server/engine/weights/weight-store.js';
import { SHIPPED_VGG19_DIR } from '../../server/paths.js';
import { useWasm } from '../helpers/backend.js';
import { writeKerasH5 } from '../helpers/keras-h5.js';
import { ROOT, SHIPPED_VGG19, tempDir } from '../helpers/paths.js';
import { writeTfjsLayersDir } from '../helpers/tfjs-layers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  await useWasm();
  ({ dir, cleanup } = await tempDir());
});
afterAll(() => cleanup());

const SHIPPED_LAYERS = ['block1_conv1', 'block1_conv2', 'block2_conv1', 'block2_conv2', 'block3_conv1', 'block3_conv2'];

describe('the shipped VGG19 blocks 1–3', () => {
  it('is in the repository, float16, checksummed, small, and holds the genuine ImageNet weights', async () => {
    expect(SHIPPED_VGG19_DIR).toBe(SHIPPED_VGG19);
    const { manifest, weights } = await readWeightStore(SHIPPED_VGG19);
    expect(manifest).toMatchObject({ network: 'vgg19', dtype: 'float16', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(manifest.license).toMatch(/Simonyan.*Zisserman.*Very Deep Convolutional Networks.*CC BY 4\.0/);
    expect([...new Set([...weights.keys()].map((n) => n.split('/')[0]))]).toEqual(SHIPPED_LAYERS);
    expect(SHIPPED_LAYERS.at(-1)).toBe(SHIPPED_LAST_LAYER);
    // Under 6 MiB, so it sits in git without LFS.
    expect((await readFile(path.join(SHIPPED_VGG19, 'weights.bin'))).length).toBeLessThan(6 * 2 ** 20);
    // The original Caffe conv1_1 biases, as float16.
    const bias = weights.get('block1_conv1/bias')!.data;
    expect(Array.from(bias.slice(0, 4))).toEqual(Array.from(roundToFloat16(new Float32Array([0.7301776, 0.06493629, 0.03428847, 0.8260386]))));
  });

  it('keeps the costs on a real photo and painting within 1e-3 of float32 (the originals, measured when it was built)', async () => {
    const { manifest, weights } = await readWeightStore(SHIPPED_VGG19);
    const check = (manifest.notes as { float16Check: Float16Check }).float16Check;
    expect(check.tolerance).toBe(SHIPPED_TOLERANCE);
    const photo = await decodeImage(path.join(ROOT, check.photo), { longSide: Math.max(check.width, check.height) });
    expect([photo.width, photo.height]).toEqual([check.width, check.height]);
    const painting = await decodeImage(path.join(ROOT, check.painting), { exact: { width: photo.width, height: photo.height } });
    const net = createVgg19({ weights, source: { kind: 'stylize', path: SHIPPED_VGG19 } });
    try {
      const now = measureFeatureCosts(net, photo, painting);
      expect(Object.keys(now.layers)).toEqual(Object.keys(check.float32.layers));
      const { errors, max } = relativeCostErrors(now, check.float32);
      process.stderr.write(`shipped float16 vs float32 costs, relative: ${JSON.stringify(errors)}\n`);
      expect(max).toBeLessThan(SHIPPED_TOLERANCE);
      expect(now.content).toBeGreaterThan(0);
      expect(now.style).toBeGreaterThan(0);
    } finally {
      net.dispose();
    }
  });

  it('is what `auto` picks offline; an installed VGG19 wins; random-multiscale only when asked for', async () => {
    const empty = path.join(dir, 'no-models');
    const auto = await loadNetwork({ model: 'auto', modelsDir: empty, seed: 1 });
    try {
      expect(auto.network.name).toBe('vgg19');
      expect(auto.network.description).toMatch(/vgg19-blocks1-3, truncated after block3_conv2\); content relu3_2; style relu1_1, relu2_1, relu3_1/);
      expect(auto.reason).toMatch(/blocks 1–3 shipped in models\//);
    } finally {
      auto.network.dispose();
    }

    const withInstall = path.join(dir, 'models-installed');
    const h5 = path.join(dir, 'small.h5');
    await writeKerasH5(h5, randomVgg19Weights(4, 'block1_conv2'));
    await importVgg19(h5, withInstall);
    for (const [model, expected] of [
      ['auto', /installed weights/],
      ['vgg19', /installed weights/],
      ['vgg19-blocks1-3', /chosen with --model/],
    ] as const) {
      const loaded = await loadNetwork({ model, modelsDir: withInstall, seed: 1 });
      try {
        expect(loaded.reason).toMatch(expected);
        expect(loaded.network.description).toMatch(model === 'vgg19-blocks1-3' ? /block3_conv2/ : /block1_conv2/);
      } finally {
        loaded.network.dispose();
      }
    }

    const random = await loadNetwork({ model: 'random-multiscale', modelsDir: empty, seed: 1 });
    random.network.dispose();
    expect(random.network.name).toBe('random-multiscale');
    await expect(loadNetwork({ model: 'vgg19', modelsDir: empty, seed: 1 })).rejects.toThrow(/no VGG19 weights .*--model auto uses the blocks 1–3/);
  });

  it('a damaged weights.bin: one line naming the file and how to restore it', async () => {
    const copy = path.join(dir, 'damaged');
    await cp(SHIPPED_VGG19, copy, { recursive: true });
    const bin = path.join(copy, 'weights.bin');
    const bytes = await readFile(bin);
    bytes[12345] = bytes[12345]! ^ 0x40;
    await writeFile(bin, bytes);
    const error = await loadNetwork({ model: 'auto', modelsDir: path.join(dir, 'none'), seed: 1, shippedDir: copy }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChecksumError);
    const message = (error as Error).message;
    expect(message.split('\n')).toHaveLength(1);
    expect(message).toContain(bin);
    expect(message).toMatch(/damaged; restore .*--model random-multiscale/);

    // For the repository's own folder, the fix is a git checkout of that folder.
    expect(shippedVgg19Fix(SHIPPED_VGG19)).toMatch(/^restore it with `git checkout -- models\/vgg19-blocks1-3` in .* \(or reinstall stylize-live\), or run with --model random-multiscale$/);
  });

  it('a missing weights.bin or manifest, or a manifest that is not JSON: one line naming the file', async () => {
    const copy = path.join(dir, 'missing');
    await cp(SHIPPED_VGG19, copy, { recursive: true });
    await rm(path.join(copy, 'weights.bin'));
    const load = () => loadNetwork({ model: 'vgg19-blocks1-3', modelsDir: dir, seed: 1, shippedDir: copy });
    await expect(load()).rejects.toThrow(WeightsMissingError);
    await expect(load()).rejects.toThrow(new RegExp(`^${escape(path.join(copy, 'weights.bin'))} is missing; restore`));
    await writeFile(path.join(copy, 'manifest.json'), '{"format": "stylize-weights/1", "sha');
    await expect(load()).rejects.toThrow(WeightsError);
    await expect(load()).rejects.toThrow(/manifest\.json is not valid JSON \(the file is damaged\); restore/);
    await rm(path.join(copy, 'manifest.json'));
    await expect(load()).rejects.toThrow(/manifest\.json is missing; restore/);
  });

  it('`stylize models build-shipped` makes the same bytes again from a TF.js layers export (the partial one, as shipped)', async () => {
    const { manifest, weights } = await readWeightStore(SHIPPED_VGG19);
    const export_ = path.join(dir, 'tfjs-export');
    // Deeper groups listed in model.json without their shards, like the real partial export.
    await writeTfjsLayersDir(export_, weights, { block3_conv3: [3, 3, 256, 256], block4_conv1: [3, 3, 256, 512] });
    const out = path.join(dir, 'rebuilt');
    const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [path.join(ROOT, 'bin/stylize.js'), 'models', 'build-shipped', export_, '--out', out, '--check-size', '64'],
        { env: { ...process.env, STYLIZE_BACKEND: 'wasm' } },
        (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
      );
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/built .*rebuilt: 6 conv layers \(block1_conv1 … block3_conv2\), float16/);
    const rebuilt = await readWeightStore(out);
    expect(rebuilt.manifest.sha256).toBe(manifest.sha256);
    // The values were float16 already: rounding them again changes nothing.
    expect((rebuilt.manifest.notes as { float16Check: Float16Check }).float16Check.maxRelativeError).toBe(0);
    expect((await readFile(path.join(out, 'weights.bin'))).equals(await readFile(path.join(SHIPPED_VGG19, 'weights.bin')))).toBe(true);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
