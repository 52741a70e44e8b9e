/** The engine interface: optimisation works, warm starts, caching, no tensor growth, lifecycle. */
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { drawScene, drawStrokes, drawSwirls } from '../../fixtures/draw.js';
import { DisposedError } from '../../server/errors.js';
import type { RgbImage } from '../../server/engine/image.js';
import { createRandomMultiscale } from '../../server/engine/networks/random-multiscale.js';
import { createVgg19, randomVgg19Weights } from '../../server/engine/networks/vgg19.js';
import { OPTIMISER_RECIPES } from '../../server/engine/optimiser-recipe.js';
import { createStylizer, type StylizeFrameOptions, type Stylizer } from '../../server/engine/stylizer.js';
import { useWasm } from '../helpers/backend.js';

beforeAll(useWasm);

let stylizer: Stylizer | undefined;
afterEach(() => {
  stylizer?.dispose();
  stylizer = undefined;
});

function meanAbsDiff(a: RgbImage, b: RgbImage): number {
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) sum += Math.abs(a.data[i]! - b.data[i]!);
  return sum / a.data.length;
}

describe('createStylizer', () => {
  it('lowers the cost step after step and moves the image away from the photo', async () => {
    stylizer = createStylizer(createRandomMultiscale(1));
    stylizer.setStyle([{ image: drawSwirls(48, 48) }]);
    const content = drawScene(48, 40);
    const totals: number[] = [];
    const result = await stylizer.stylizeFrame(content, { steps: 15, onStep: (_, c) => totals.push(c.total) });
    expect(totals).toHaveLength(15);
    expect(totals[14]!).toBeLessThan(totals[0]! * 0.7);
    expect(result.image.width).toBe(48);
    expect(result.image.height).toBe(40);
    expect(meanAbsDiff(result.image, content)).toBeGreaterThan(2);
    expect(result.costs.style).toBeGreaterThan(0);
    expect(result.warmStarted).toBe(false);
  });

  it('warm-starts from the previous output and keeps improving it', async () => {
    stylizer = createStylizer(createRandomMultiscale(1));
    stylizer.setStyle([{ image: drawSwirls(48, 48) }]);
    const content = drawScene(48, 40);
    const first = await stylizer.stylizeFrame(content, { steps: 5 });
    const second = await stylizer.stylizeFrame(content, { steps: 5, warmStart: true });
    expect(second.warmStarted).toBe(true);
    // Same content: starting from the last output, the cost keeps going down.
    expect(second.costs.total).toBeLessThan(first.costs.total);
    // A cold start forgets it: its cost is back near the first frame's.
    const cold = await stylizer.stylizeFrame(content, { steps: 5, warmStart: false });
    expect(cold.warmStarted).toBe(false);
    expect(cold.costs.total).toBeCloseTo(first.costs.total, 1);
  });

  it('warm-starts across a size change by resizing the previous output', async () => {
    stylizer = createStylizer(createRandomMultiscale(1));
    stylizer.setStyle([{ image: drawSwirls(48, 48) }]);
    await stylizer.stylizeFrame(drawScene(48, 40), { steps: 2 });
    const bigger = await stylizer.stylizeFrame(drawScene(64, 48), { steps: 2, warmStart: true });
    expect(bigger.warmStarted).toBe(true);
    expect([bigger.image.width, bigger.image.height]).toEqual([64, 48]);
  });

  it('reset() makes the next frame start cold', async () => {
    stylizer = createStylizer(createRandomMultiscale(1));
    stylizer.setStyle([{ image: drawSwirls(48, 48) }]);
    await stylizer.stylizeFrame(drawScene(48, 40), { steps: 1 });
    stylizer.reset();
    expect((await stylizer.stylizeFrame(drawScene(48, 40), { steps: 1, warmStart: true })).warmStarted).toBe(false);
  });

  it('switching colour preservation makes the next frame start cold (the old output is in the other space)', async () => {
    stylizer = createStylizer(createRandomMultiscale(1));
    stylizer.setStyle([{ image: drawSwirls(48, 48) }]);
    await stylizer.stylizeFrame(drawScene(48, 40), { steps: 1 });
    expect((await stylizer.stylizeFrame(drawScene(48, 40), { steps: 1, warmStart: true, motion: 'flow' })).warmStarted).toBe(true);
    stylizer.configure({ preserveColors: true });
    expect((await stylizer.stylizeFrame(drawScene(48, 40), { steps: 1, warmStart: true, motion: 'flow' })).warmStarted).toBe(false);
  });

  it('mixes styles by weight: weight 0 leaves the other style alone', async () => {
    const run = async (styles: { image: RgbImage; weight: number }[]): Promise<RgbImage> => {
      const s = createStylizer(createRandomMultiscale(2));
      try {
        s.setStyle(styles);
        return (await s.stylizeFrame(drawScene(40, 40), { steps: 4 })).image;
      } finally {
        s.dispose();
      }
    };
    const swirls = drawSwirls(40, 40);
    const strokes = drawStrokes(40, 40);
    const only = await run([{ image: swirls, weight: 1 }]);
    const withZero = await run([{ image: swirls, weight: 1 }, { image: strokes, weight: 0 }]);
    const mixed = await run([{ image: swirls, weight: 0.5 }, { image: strokes, weight: 0.5 }]);
    expect(meanAbsDiff(withZero, only)).toBeLessThan(0.5);
    expect(meanAbsDiff(mixed, only)).toBeGreaterThan(0.5);
  });

  it("keeps the photo's colours with preserveColors", async () => {
    stylizer = createStylizer(createRandomMultiscale(1), { preserveColors: true });
    stylizer.setStyle([{ image: drawStrokes(48, 48) }]);
    const content = drawScene(48, 40);
    const out = (await stylizer.stylizeFrame(content, { steps: 10 })).image;
    // Chroma (I, Q of YIQ) of each pixel stays the content's; only luminance changes.
    const iq = (img: RgbImage, p: number): [number, number] => {
      const [r, g, b] = [img.data[p * 3]!, img.data[p * 3 + 1]!, img.data[p * 3 + 2]!];
      return [0.596 * r - 0.274 * g - 0.322 * b, 0.211 * r - 0.523 * g + 0.312 * b];
    };
    let chromaDiff = 0;
    let lumaDiff = 0;
    for (let p = 0; p < 48 * 40; p++) {
      const [i1, q1] = iq(out, p);
      const [i2, q2] = iq(content, p);
      chromaDiff += Math.abs(i1 - i2) + Math.abs(q1 - q2);
      const y = (img: RgbImage): number => 0.299 * img.data[p * 3]! + 0.587 * img.data[p * 3 + 1]! + 0.114 * img.data[p * 3 + 2]!;
      lumaDiff += Math.abs(y(out) - y(content));
    }
    expect(lumaDiff / (48 * 40)).toBeGreaterThan(1);
    // Chroma moves only where the recombined pixel had to be clipped into [0, 255].
    expect(chromaDiff / (48 * 40)).toBeLessThan(lumaDiff / (48 * 40));
  });

  it('refuses bad input with clear errors', async () => {
    stylizer = createStylizer(createRandomMultiscale(1));
    const before = tf.memory().numTensors;
    await expect(stylizer.stylizeFrame(drawScene(40, 40), { steps: 1 })).rejects.toThrow(/setStyle/);
    expect(tf.memory().numTensors).toBe(before); // a failed frame frees what it made
    expect(() => stylizer!.setStyle([])).toThrow(/at least one/);
    expect(() => stylizer!.setStyle([{ image: { width: 4, height: 4, data: new Uint8Array(5) } }])).toThrow(/expected 48 bytes/);
    expect(() => stylizer!.setStyle([{ image: drawSwirls(40, 40), weight: 0 }])).toThrow(/sum to 0/);
    expect(() => stylizer!.setStyle([{ image: drawSwirls(64, 20) }])).toThrow(/64×20; random-multiscale needs at least 32 pixels/);
    stylizer.setStyle([{ image: drawSwirls(40, 40) }]);
    await expect(stylizer.stylizeFrame({ width: 0, height: 3, data: new Uint8Array(0) }, { steps: 1 })).rejects.toThrow(/dimensions/);
  });

  it('is safe to dispose twice and refuses use after dispose', async () => {
    const s = createStylizer(createRandomMultiscale(1));
    s.dispose();
    s.dispose();
    expect(() => s.setStyle([{ image: drawSwirls(8, 8) }])).toThrow(DisposedError);
    await expect(s.stylizeFrame(drawScene(8, 8), { steps: 1 })).rejects.toThrow(DisposedError);
  });
});

describe('motion-compensated warm start and temporal loss', () => {
  /** A 48×40 window of a wider scene, panned by `dx` pixels. */
  const pan = (dx: number): RgbImage => {
    const wide = drawScene(96, 40);
    const data = new Uint8Array(48 * 40 * 3);
    for (let y = 0; y < 40; y++) data.set(wide.data.subarray((y * 96 + dx) * 3, (y * 96 + dx + 48) * 3), y * 48 * 3);
    return { width: 48, height: 40, data };
  };

  /** Two frames through one stylizer: a cold first frame, then a warm second one. */
  const twoFrames = async (second: RgbImage, options: Partial<StylizeFrameOptions>, first: RgbImage = pan(0)): Promise<RgbImage> => {
    const s = createStylizer(createRandomMultiscale(4));
    try {
      s.setStyle([{ image: drawSwirls(48, 48) }]);
      await s.stylizeFrame(first, { steps: 3 });
      return (await s.stylizeFrame(second, { steps: 3, warmStart: true, ...options })).image;
    } finally {
      s.dispose();
    }
  };

  it('temporal weight 0 is exactly the flow warm start without the loss, and on a still scene the plain warm start', async () => {
    const plain = await twoFrames(pan(0), {});
    const flow = await twoFrames(pan(0), { motion: 'flow' });
    const flowTemporal0 = await twoFrames(pan(0), { motion: 'flow', temporalWeight: 0 });
    expect(Array.from(flowTemporal0.data)).toEqual(Array.from(flow.data));
    // Only the B-spline resampling's round trip (< 0.1 %) separates the still-scene flow start from the plain one.
    expect(meanAbsDiff(flow, plain)).toBeLessThan(0.5);
    // Same on a moving scene with the loss on: weight 0 changes nothing.
    const moving = await twoFrames(pan(2), { motion: 'flow' });
    const movingTemporal0 = await twoFrames(pan(2), { motion: 'flow', temporalWeight: 0 });
    expect(Array.from(movingTemporal0.data)).toEqual(Array.from(moving.data));
  });

  it('residual mode: on a still scene the plain warm start; on a change, the previous output plus that change', async () => {
    expect(Array.from((await twoFrames(pan(0), { motion: 'residual' })).data)).toEqual(Array.from((await twoFrames(pan(0), {})).data));
    // Zero steps show the start itself: a darker second frame darkens the painting by as much.
    const start = async (motion: 'residual' | 'none'): Promise<RgbImage> => {
      // The seed's start (the photo): a style-coloured start may already be dark enough to clip.
      const s = createStylizer(createRandomMultiscale(4), { optimizer: OPTIMISER_RECIPES['adam-pixels'] });
      try {
        s.setStyle([{ image: drawSwirls(48, 48) }]);
        await s.stylizeFrame(pan(0), { steps: 3 });
        const darker = { ...pan(0), data: pan(0).data.map((v) => Math.round(v * 0.7)) };
        return (await s.stylizeFrame(darker, { steps: 0, warmStart: true, motion })).image;
      } finally {
        s.dispose();
      }
    };
    const mean = (img: RgbImage): number => img.data.reduce((a, b) => a + b, 0) / img.data.length;
    const contentDrop = mean(pan(0)) * 0.3;
    const [residual, unchanged] = [await start('residual'), await start('none')];
    expect(mean(unchanged) - mean(residual)).toBeGreaterThan(contentDrop * 0.8);
  });

  it('reports the temporal cost and holds the picture steady with a large temporal weight', async () => {
    const consecutiveChange = async (temporalWeight: number): Promise<{ change: number; temporal: number }> => {
      const s = createStylizer(createRandomMultiscale(4));
      try {
        s.setStyle([{ image: drawSwirls(48, 48) }]);
        const first = await s.stylizeFrame(pan(0), { steps: 4 });
        const second = await s.stylizeFrame(pan(0), { steps: 6, warmStart: true, motion: 'flow', temporalWeight });
        return { change: meanAbsDiff(second.image, first.image), temporal: second.costs.temporal };
      } finally {
        s.dispose();
      }
    };
    const free = await consecutiveChange(0);
    const held = await consecutiveChange(1e6);
    expect(free.temporal).toBe(0);
    expect(held.temporal).toBeGreaterThan(0);
    expect(held.change).toBeLessThan(free.change * 0.5);
  });

  it('follows a pan: the warm start is the previous output moved with the scene', async () => {
    const s = createStylizer(createRandomMultiscale(4));
    try {
      s.setStyle([{ image: drawSwirls(48, 48) }]);
      const first = await s.stylizeFrame(pan(0), { steps: 4 });
      // Zero steps: the output is the warm start itself.
      const moved = await s.stylizeFrame(pan(3), { steps: 0, warmStart: true, motion: 'flow' });
      // The file's `stylizer` is disposed by afterEach, whatever happens here.
      stylizer = createStylizer(createRandomMultiscale(4));
      stylizer.setStyle([{ image: drawSwirls(48, 48) }]);
      await stylizer.stylizeFrame(pan(0), { steps: 4 });
      const unmoved = await stylizer.stylizeFrame(pan(3), { steps: 0, warmStart: true, motion: 'none' });
      // Compare with the first output shifted left by 3 px (interior columns only).
      const shiftedError = (img: RgbImage): number => {
        let sum = 0;
        let n = 0;
        for (let y = 6; y < 34; y++) {
          for (let x = 6; x < 38; x++) {
            for (let c = 0; c < 3; c++) sum += Math.abs(img.data[(y * 48 + x) * 3 + c]! - first.image.data[(y * 48 + x + 3) * 3 + c]!);
            n += 3;
          }
        }
        return sum / n;
      };
      expect(shiftedError(moved.image)).toBeLessThan(shiftedError(unmoved.image) * 0.6);
    } finally {
      s.dispose();
    }
  });
});

describe('a base picture under the warm start (a learned painter\'s, issue 12)', () => {
  it('a cold frame starts at the base; a warm one blends the carried painting with the new base by `persistence`', async () => {
    stylizer = createStylizer(createRandomMultiscale(4));
    stylizer.setStyle([{ image: drawSwirls(48, 48) }]);
    const frame = drawScene(48, 40);
    const baseA = { ...frame, data: frame.data.map((v) => 255 - v) };
    // Zero steps show the start itself.
    const cold = await stylizer.stylizeFrame(frame, { steps: 0, base: baseA });
    expect(cold.warmStarted).toBe(false);
    expect(Array.from(cold.image.data)).toEqual(Array.from(baseA.data));
    const painted = await stylizer.stylizeFrame(frame, { steps: 3, base: baseA, warmStart: true, motion: 'residual', persistence: 1 });
    expect(meanAbsDiff(painted.image, baseA)).toBeGreaterThan(0.5); // the steps did refine it
    // A still scene (the carry is whole): start = frame + p·(painting − frame) + (1 − p)·(new base − frame).
    const baseB = { ...frame, data: baseA.data.map((v) => Math.min(200, v) + 40) };
    const next = await stylizer.stylizeFrame(frame, { steps: 0, base: baseB, warmStart: true, motion: 'residual', persistence: 0.8 });
    expect(next.warmStarted).toBe(true);
    let worst = 0;
    for (let i = 0; i < frame.data.length; i++) {
      const f = frame.data[i]!;
      const expected = Math.max(0, Math.min(255, f + 0.8 * (painted.image.data[i]! - f) + 0.2 * (baseB.data[i]! - f)));
      worst = Math.max(worst, Math.abs(next.image.data[i]! - expected));
    }
    expect(worst).toBeLessThanOrEqual(1.5); // bytes rounded on both sides
    // Persistence 0: the painter's picture alone; 1: the carried painting alone.
    const fresh = await stylizer.stylizeFrame(frame, { steps: 0, base: baseA, warmStart: true, motion: 'residual', persistence: 0 });
    expect(meanAbsDiff(fresh.image, baseA)).toBeLessThan(0.6);
    const kept = await stylizer.stylizeFrame(frame, { steps: 0, base: baseB, warmStart: true, motion: 'residual', persistence: 1 });
    expect(meanAbsDiff(kept.image, fresh.image)).toBeLessThan(0.6);
  });

  it('refuses a base of another size, and a base with preserveColors', async () => {
    stylizer = createStylizer(createRandomMultiscale(4));
    stylizer.setStyle([{ image: drawSwirls(48, 48) }]);
    await expect(stylizer.stylizeFrame(drawScene(48, 40), { steps: 1, base: drawScene(40, 40) })).rejects.toThrow(/size/);
    stylizer.configure({ preserveColors: true });
    await expect(stylizer.stylizeFrame(drawScene(48, 40), { steps: 1, base: drawScene(48, 40) })).rejects.toThrow(/preserveColors/);
  });
});

describe('dispose during a frame', () => {
  it('stops the frame at its next step and frees every tensor', async () => {
    const before = tf.memory().numTensors;
    const s = createStylizer(createRandomMultiscale(1));
    s.setStyle([{ image: drawSwirls(40, 40) }]);
    let stepsRun = 0;
    const running = s.stylizeFrame(drawScene(40, 40), {
      steps: 50,
      onStep: () => {
        stepsRun++;
        if (stepsRun === 2) s.dispose();
      },
    });
    await expect(running).rejects.toThrow(DisposedError);
    expect(stepsRun).toBe(2);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('no tensor leaks', () => {
  for (const [name, make] of [
    ['random-multiscale', () => createRandomMultiscale(3)],
    ['vgg19', () => createVgg19({ weights: randomVgg19Weights(3, 'block2_conv1'), source: { kind: 'random', path: 'r' } })],
  ] as const) {
    it(`${name}: 100 warm-started frames leave tf.memory().numTensors unchanged`, async () => {
      const before = tf.memory().numTensors;
      const s = createStylizer(make());
      s.setStyle([{ image: drawSwirls(32, 32) }]);
      const scene = drawScene(32, 32).data;
      const frames = [scene, scene.map((v) => 255 - v)].map((data) => ({ width: 32, height: 32, data }));
      await s.stylizeFrame(frames[0]!, { steps: 1, base: frames[1]! });
      const steady = tf.memory().numTensors;
      for (let i = 0; i < 100; i++) {
        const base = i % 4 === 0 ? undefined : frames[(i + 1) % 2]!; // with and without a base picture
        await s.stylizeFrame(frames[i % 2]!, { steps: i % 7 === 3 && i % 10 !== 0 ? 0 : 1, warmStart: i % 10 !== 0, motion: (['flow', 'residual', 'none'] as const)[i % 3], temporalWeight: 100, ...(base ? { base } : {}) });
        expect(tf.memory().numTensors).toBe(steady);
      }
      s.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});
