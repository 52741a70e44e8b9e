/**
 * The optimiser recipe and the style strength through the real `stylize image` (issue 21): the
 * seed's recipe is one flag away and keeps α 10, β 40; the strength moves the picture between the
 * photo and the full painting; bad values are refused by name.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../server/config.js';
import { costWeightsForStrength } from '../../server/engine/style-strength.js';
import { CAT, ROOT, STARRY_NIGHT, tempDir } from '../helpers/paths.js';

let dir: string;
let cleanup: () => Promise<void>;

function stylize(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(ROOT, 'bin/stylize.js'), ...args], { cwd: dir, env: { ...process.env, STYLIZE_BACKEND: 'wasm' } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Paints the cat at 64 px with `flags`; the summary line and the picture's pixels. */
async function paint(name: string, flags: string[]): Promise<{ summary: Record<string, unknown>; pixels: Buffer }> {
  const out = path.join(dir, `${name}.png`);
  const run = await stylize(['image', CAT, '--style', STARRY_NIGHT, '--size', '64', '--steps', '12', '-o', out, ...flags]);
  expect(run.code, run.stderr).toBe(0);
  const summary = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
  return { summary, pixels: await sharp(out).removeAlpha().raw().toBuffer() };
}

function meanAbsDiff(a: Buffer, b: Buffer): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterAll(() => cleanup());

describe('stylize image: --optimizer and --style-strength', () => {
  it("runs the default recipe at the default strength; --optimizer adam-pixels is the seed's recipe with α 10, β 40", { timeout: 300_000 }, async () => {
    const photo = await sharp(CAT).resize(64, 43, { fit: 'fill' }).removeAlpha().raw().toBuffer();
    const byDefault = await paint('default', []);
    expect(byDefault.summary).toMatchObject({ optimizer: DEFAULTS.optimizer, styleStrength: DEFAULTS.styleStrength, ...costWeightsForStrength(DEFAULTS.styleStrength) });
    const seed = await paint('seed', ['--optimizer', 'adam-pixels']);
    expect(seed.summary).toMatchObject({ optimizer: 'adam-pixels', contentWeight: 10, styleWeight: 40 });
    expect(meanAbsDiff(seed.pixels, byDefault.pixels)).toBeGreaterThan(5); // another recipe, another picture
    // Strength 0 keeps the photo far better than full strength does.
    const none = await paint('none', ['--style-strength', '0']);
    const full = await paint('full', ['--style-strength', '1']);
    expect(full.summary).toMatchObject({ contentWeight: 1000, styleWeight: 40 });
    expect(meanAbsDiff(none.pixels, photo)).toBeLessThan(meanAbsDiff(full.pixels, photo) * 0.7);
    // Explicit weights override the strength.
    expect((await paint('weights', ['--content-weight', '123'])).summary).toMatchObject({ contentWeight: 123, styleWeight: 40 });
  });

  it('refuses a strength outside 0–1 and an unknown recipe by name, with exit status 2', async () => {
    const strength = await stylize(['image', CAT, '--style', STARRY_NIGHT, '--style-strength', '1.5']);
    expect(strength.code).toBe(2);
    expect(strength.stderr).toMatch(/--style-strength/);
    const recipe = await stylize(['image', CAT, '--style', STARRY_NIGHT, '--optimizer', 'sgd']);
    expect(recipe.code).toBe(2);
    expect(recipe.stderr).toMatch(/adam-pixels/);
  });
});
