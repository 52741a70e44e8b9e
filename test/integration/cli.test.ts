/** The real `stylize` binary, as a person runs it. */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drawScene, drawSwirls } from '../../fixtures/draw.js';
import { randomVgg19Weights } from '../../server/engine/networks/vgg19.js';
import { writeKerasH5 } from '../helpers/keras-h5.js';
import { readWeightStore } from '../../server/engine/weights/weight-store.js';
import { CAT, ROOT, SHIPPED_VGG19, STARRY_NIGHT, WAVE, tempDir } from '../helpers/paths.js';
import { writeTfjsLayersDir } from '../helpers/tfjs-layers.js';

let dir: string;
let cleanup: () => Promise<void>;
let content: string;
let style: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function stylize(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'bin/stylize.js'), ...args],
      { cwd: dir, env: { ...process.env, STYLIZE_BACKEND: 'wasm', STYLIZE_MODELS_DIR: path.join(dir, 'models'), ...env } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  content = path.join(dir, 'scene.jpg');
  style = path.join(dir, 'swirls.png');
  const scene = drawScene(120, 80);
  await sharp(scene.data, { raw: { width: 120, height: 80, channels: 3 } }).jpeg().toFile(content);
  const swirls = drawSwirls(96, 96);
  await sharp(swirls.data, { raw: { width: 96, height: 96, channels: 3 } }).png().toFile(style);
});
afterAll(() => cleanup());

describe('stylize image', () => {
  it('paints the real cat as the Starry Night with the shipped ImageNet VGG19 blocks 1–3 by default (nothing installed, offline)', async () => {
    const out = path.join(dir, 'out.png');
    const run = await stylize(['image', CAT, '--style', STARRY_NIGHT, '--size', '64', '--steps', '6', '-o', out]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/backend wasm \(\d threads?\)/);
    expect(run.stderr).toMatch(
      /model vgg19 \(stylize .*models\/vgg19-blocks1-3, truncated after block3_conv2\); content relu3_2; style relu1_1, relu2_1, relu3_1 — the ImageNet VGG19 blocks 1–3 shipped in models\//,
    );
    const summary = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { costs: { total: number; style: number } } & Record<string, unknown>;
    expect(summary).toMatchObject({ backend: 'wasm', model: 'vgg19', width: 64, height: 43, steps: 6 });
    expect(summary.msPerStep).toBeGreaterThan(0);
    expect(summary.costs.style).toBeGreaterThan(0);
    const meta = await sharp(out).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 64, 43]);
  });

  it('paints with the embedded random-multiscale net only when asked for', async () => {
    const out = path.join(dir, 'random.png');
    const run = await stylize(['image', content, '--style', style, '--model', 'random-multiscale', '--size', '48', '--steps', '2', '-o', out]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/model random-multiscale .* chosen with --model/);
    expect(JSON.parse(run.stdout.trim()).model).toBe('random-multiscale');
  });

  it('shows its progress with the time left, measured from its steps (stderr, not a terminal: a line per tenth)', async () => {
    const run = await stylize(['image', content, '--style', style, '--model', 'random-multiscale', '--size', '40', '--steps', '5', '-o', path.join(dir, 'eta.png')]);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stderr.split('\n').filter((l) => l.startsWith('stylize '));
    expect(lines.map((l) => l.split(' ')[1])).toEqual(['1/5', '2/5', '3/5', '4/5', '5/5']);
    for (const line of lines) expect(line).toMatch(/^stylize \d\/5 J \S+ · ETA (\d+ s|\d+ min \d\d s)$/);
    expect(lines.at(-1)).toMatch(/ · ETA 0 s$/);
  });

  it('uses VGG19 weights given with --weights (a TF.js layers export with missing deeper groups), truncated', async () => {
    const { weights } = await readWeightStore(SHIPPED_VGG19);
    const tfjs = path.join(dir, 'tfjs-partial');
    await writeTfjsLayersDir(tfjs, weights, { block3_conv3: [3, 3, 256, 256] });
    const out = path.join(dir, 'cat.jpg');
    const run = await stylize(['image', CAT, '--style', WAVE, '--weights', tfjs, '--size', '48', '--steps', '2', '-o', out]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/model vgg19 \(tfjs-layers .*tfjs-partial, truncated after block3_conv2\); content relu3_2; style relu1_1, relu2_1, relu3_1 — weights from/);
    expect(JSON.parse(run.stdout.trim()).model).toBe('vgg19');
    expect((await sharp(out).metadata()).format).toBe('jpeg');
  });

  it('mixes two styles, starts from noise, preserves colours', async () => {
    const out = path.join(dir, 'mix.webp');
    const run = await stylize([
      'image', content, '--style', `${style},${WAVE}`, '--style-weights', '0.7,0.3',
      '--init', 'noise', '--preserve-colors', '--size', '48', '--steps', '2', '-o', out,
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect((await sharp(out).metadata()).format).toBe('webp');
  });

  it('picks installed VGG19 weights by itself after `models import`', async () => {
    const h5 = path.join(dir, 'vgg.h5');
    await writeKerasH5(h5, randomVgg19Weights(2, 'block2_conv2'));
    const imported = await stylize(['models', 'import', 'vgg19', h5]);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toMatch(/installed vgg19 .*4 conv layers .*truncated/);
    const list = await stylize(['models']);
    expect(list.stdout).toMatch(/vgg19 +installed .*← default/);
    expect(list.stdout).toMatch(/vgg19-blocks1-3 +shipped in .*models\/vgg19-blocks1-3 \(ImageNet VGG19, 6 conv layers, float16, checksum ok\)\n/);
    const run = await stylize(['image', content, '--style', style, '--size', '40', '--steps', '1', '-o', path.join(dir, 'v.png')]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/model vgg19 .* installed weights/);
  });
});

describe('bad input: one line, non-zero exit', () => {
  it('a file that is not an image', async () => {
    const notImage = path.join(dir, 'readme.txt');
    await writeFile(notImage, 'hello');
    const run = await stylize(['image', notImage, '--style', style, '-o', path.join(dir, 'x.png')]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^stylize: error \[NOT_AN_IMAGE\]: content image .*readme\.txt is not an image/);
  });

  it('a missing file, a bad number, a size out of range, unknown model', async () => {
    const missing = await stylize(['image', path.join(dir, 'nope.jpg'), '--style', style]);
    expect([missing.code, missing.stderr]).toEqual([2, expect.stringMatching(/FILE_NOT_FOUND.*nope\.jpg/)]);
    const nan = await stylize(['image', content, '--style', style, '--steps', 'many']);
    expect(nan.code).toBe(2);
    expect(nan.stderr).toMatch(/"many" is not a number/);
    const small = await stylize(['image', content, '--style', style, '--size', '4']);
    expect(small.code).toBe(2);
    expect(small.stderr).toMatch(/--size/);
    const model = await stylize(['image', content, '--style', style, '--model', 'alexnet']);
    expect(model.code).toBe(2);
    expect(model.stderr).toMatch(/alexnet/);
  });

  it('--model vgg19 without weights says how to get them', async () => {
    const run = await stylize(['image', content, '--style', style, '--model', 'vgg19'], { STYLIZE_MODELS_DIR: path.join(dir, 'empty') });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/WEIGHTS_MISSING.*stylize models fetch vgg19/);
  });

  it('mismatched --style-weights', async () => {
    const run = await stylize(['image', content, '--style', style, '--style-weights', '0.5,0.5']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/2 values for 1 style/);
  });
});
