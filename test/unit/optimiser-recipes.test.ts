/**
 * The optimiser recipes through the stylizer (issue 21): the seed's recipe reproduces the numbers
 * the engine gave before recipes existed; the default starts in the style's colours and its first
 * step adds no per-pixel colour noise; L-BFGS lowers the cost; no recipe leaks tensors.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { drawScene, drawSwirls } from '../../fixtures/draw.js';
import { colourStats } from '../../server/engine/colour-transfer.js';
import type { RgbImage } from '../../server/engine/image.js';
import { createRandomMultiscale } from '../../server/engine/networks/random-multiscale.js';
import { OPTIMISER_RECIPES, PYRAMID_RECIPE, stepSize, type OptimiserRecipe } from '../../server/engine/optimiser-recipe.js';
import { createStylizer, DEFAULT_SETTINGS } from '../../server/engine/stylizer.js';
import { useWasm } from '../helpers/backend.js';

beforeAll(useWasm);

const SEED = OPTIMISER_RECIPES['adam-pixels'];
const DEFAULT = OPTIMISER_RECIPES['adam-decorrelated'];
const PYRAMID = PYRAMID_RECIPE;

async function paint(recipe: OptimiserRecipe, steps: number, lr = DEFAULT_SETTINGS.lr, onStep?: (total: number) => void): Promise<RgbImage> {
  const s = createStylizer(createRandomMultiscale(1), { optimizer: recipe, lr });
  try {
    s.setStyle([{ image: drawSwirls(48, 48) }]);
    return (await s.stylizeFrame(drawScene(48, 40), { steps, ...(onStep ? { onStep: (_: number, c: { total: number }) => onStep(c.total) } : {}) })).image;
  } finally {
    s.dispose();
  }
}

/** Mean |chroma − its 3×3 box blur| (YIQ's I and Q, 0–255): per-pixel colour noise. */
function chromaNoise(image: RgbImage): number {
  const { width, height, data } = image;
  const chroma = (i: number): [number, number] => [
    0.596 * data[i]! - 0.274 * data[i + 1]! - 0.322 * data[i + 2]!,
    0.211 * data[i]! - 0.523 * data[i + 1]! + 0.312 * data[i + 2]!,
  ];
  let sum = 0;
  let n = 0;
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      const [ci, cq] = chroma((y * width + x) * 3);
      let bi = 0;
      let bq = 0;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const [i, q] = chroma(((y + dy) * width + x + dx) * 3);
          bi += i / 9;
          bq += q / 9;
        }
      }
      sum += Math.abs(ci - bi) + Math.abs(cq - bq);
      n++;
    }
  }
  return sum / n;
}

describe('optimiser recipes', () => {
  it("the seed's recipe (adam-pixels) gives the numbers the engine gave before recipes (commit 6597425)", async () => {
    const totals: number[] = [];
    const s = createStylizer(createRandomMultiscale(1), { optimizer: SEED });
    s.setStyle([{ image: drawSwirls(48, 48) }]);
    const first = await s.stylizeFrame(drawScene(48, 40), { steps: 8, onStep: (_, c) => totals.push(c.total) });
    const second = await s.stylizeFrame(drawScene(48, 40), { steps: 3, warmStart: true, motion: 'flow', temporalWeight: 100 });
    s.dispose();
    expect(totals).toEqual([68128352, 41547016, 26025636, 17400970, 12749864, 10357386, 9112524, 8421180]);
    expect(first.image.data.reduce((a, b) => a + b, 0)).toBe(873934);
    expect(Array.from(first.image.data.slice(0, 12))).toEqual([136, 91, 189, 136, 92, 188, 136, 190, 188, 136, 195, 188]);
    expect(second.image.data.reduce((a, b) => a + b, 0)).toBe(893851);
    expect(second.costs.total).toBe(6864208.5);
  });

  it("the default recipe starts in the style's colours: its first picture's mean colour is the style's, not the photo's", async () => {
    const style = colourStats(drawSwirls(48, 48).data);
    const photo = colourStats(drawScene(48, 40).data);
    const start = colourStats((await paint(DEFAULT, 0)).data);
    const distance = (a: number[], b: number[]): number => Math.hypot(...a.map((v, i) => v - b[i]!));
    expect(distance(start.mean, style.mean)).toBeLessThan(0.02);
    expect(distance(photo.mean, style.mean)).toBeGreaterThan(0.05); // the check means something
  });

  it("one live step (lr 0.1) from a cold photo adds far less per-pixel colour noise than the seed recipe's", async () => {
    // Noise the step adds: against the recipe's own start (the photo, or the photo in the style's colours).
    const added = async (recipe: OptimiserRecipe): Promise<number> => chromaNoise(await paint(recipe, 1, 0.1)) - chromaNoise(await paint(recipe, 0));
    const seed = await added(SEED);
    expect(seed).toBeGreaterThan(0.5); // Adam's first pixel step: ±lr in every colour of every pixel
    expect(await added(DEFAULT)).toBeLessThan(seed / 2);
    expect(await added(PYRAMID)).toBeLessThan(seed / 2);
  });

  it("the default's step size halves every 15 steps of a frame, down to a tenth; the seed's stays", () => {
    expect(stepSize(DEFAULT, 0.03, 1)).toBe(0.03);
    expect(stepSize(DEFAULT, 0.03, 16)).toBeCloseTo(0.015, 12);
    expect(stepSize(DEFAULT, 0.03, 31)).toBeCloseTo(0.0075, 12);
    expect(stepSize(DEFAULT, 0.03, 200)).toBeCloseTo(0.003, 12);
    expect(stepSize(SEED, 0.03, 200)).toBe(0.03);
  });

  it('L-BFGS lowers the cost (one evaluation a step)', async () => {
    const totals: number[] = [];
    await paint({ ...PYRAMID, method: 'lbfgs' }, 12, 0.05, (t) => totals.push(t));
    expect(totals).toHaveLength(12);
    expect(totals[11]!).toBeLessThan(totals[0]! * 0.6);
  });

  for (const [name, recipe] of [['the default', DEFAULT], ['pyramid + adam', PYRAMID], ['pyramid + lbfgs', { ...PYRAMID, method: 'lbfgs' as const }]] as const) {
    it(`${name}: warm and cold frames, a size change and a recipe change leave tf.memory().numTensors unchanged`, async () => {
      const before = tf.memory().numTensors;
      const s = createStylizer(createRandomMultiscale(3), { optimizer: recipe });
      s.setStyle([{ image: drawSwirls(32, 32) }]);
      const small = drawScene(32, 32);
      await s.stylizeFrame(small, { steps: 2 });
      const steady = tf.memory().numTensors;
      for (let i = 0; i < 20; i++) {
        await s.stylizeFrame(small, { steps: 2, warmStart: i % 5 !== 0, motion: (['flow', 'residual', 'none'] as const)[i % 3], temporalWeight: 100 });
        expect(tf.memory().numTensors).toBe(steady);
      }
      await s.stylizeFrame(drawScene(40, 32), { steps: 2, warmStart: true });
      s.configure({ optimizer: SEED });
      await s.stylizeFrame(small, { steps: 2, warmStart: true });
      s.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});
