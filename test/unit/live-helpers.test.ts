/** Scene cuts, the deadline controller and rate counters, by hand. */
import { describe, expect, it } from 'vitest';
import { drawScene, drawStrokes } from '../../fixtures/draw.js';
import { affordableMotion, createDeadlineController } from '../../server/pipeline/deadline.js';
import { createSceneCutDetector, lumaThumbnail, thumbnailDistance } from '../../server/pipeline/scene-cut.js';
import { createAverage, createRate } from '../../server/pipeline/stream-stats.js';

describe('scene cuts', () => {
  it('averages luminance on a 16×9 grid', () => {
    const grey = { width: 32, height: 18, data: new Uint8Array(32 * 18 * 3).fill(100) };
    const thumb = lumaThumbnail(grey);
    expect(thumb).toHaveLength(144);
    thumb.forEach((v) => expect(v).toBeCloseTo(100, 3));
    expect(thumbnailDistance(thumb, lumaThumbnail({ ...grey, data: new Uint8Array(32 * 18 * 3).fill(130) }))).toBeCloseTo(30, 3);
  });

  it('calls the first frame and a new picture a cut, a small change not', () => {
    const detector = createSceneCutDetector();
    const scene = drawScene(64, 36);
    expect(detector.isCut(scene)).toBe(true);
    const brighter = { ...scene, data: scene.data.map((v) => Math.min(255, v + 10)) };
    expect(detector.isCut(brighter)).toBe(false);
    expect(detector.isCut(drawStrokes(64, 36))).toBe(true);
    detector.reset();
    expect(detector.isCut(drawStrokes(64, 36))).toBe(true);
  });
});

describe('deadline controller', () => {
  it('before it has measured anything: the full plan if it is small, else a bounded first frame', () => {
    // 256×144 × 2 steps is FIRST_FRAME_WORK: all of it.
    expect(createDeadlineController().plan(100, 256 * 144, 2)).toEqual({ steps: 2, scale: 1 });
    expect(createDeadlineController().plan(Infinity, 128 * 72, 8)).toEqual({ steps: 8, scale: 1 });
    // 4 steps at 256×144 is twice that: 2 steps.
    expect(createDeadlineController().plan(100, 256 * 144, 4)).toEqual({ steps: 2, scale: 1 });
    // 640×360: 0.75² × 230 400 = 129 600 px > 73 728; 0.5² × 230 400 = 57 600 fits once.
    expect(createDeadlineController().plan(Infinity, 640 * 360, 10)).toEqual({ steps: 1, scale: 0.5 });
    expect(createDeadlineController().predict(1000, 1)).toBeUndefined();
  });

  it('fits steps into the budget, then gives up resolution', () => {
    const c = createDeadlineController(1); // no smoothing: take each sample as is
    // 1 ms per step per 1000 px, 10 ms overhead.
    c.observe({ steps: 2, pixels: 40_000, stepMs: 40, overheadMs: 10 });
    // 100 ms − 10 overhead = 90 ms; at 40k px a step is 40 ms → 2 steps.
    expect(c.plan(100, 40_000, 4)).toEqual({ steps: 2, scale: 1 });
    // 50 ms → 40: exactly one step at full size.
    expect(c.plan(50, 40_000, 4)).toEqual({ steps: 1, scale: 1 });
    // 33.3 ms → 23.3: full (40) and 0.75² (22.5 → 1 step) → scale 0.75.
    expect(c.plan(1000 / 30, 40_000, 4)).toEqual({ steps: 1, scale: 0.75 });
    // Impossible budgets bottom out at a quarter size, one step.
    expect(c.plan(5, 40_000, 4)).toEqual({ steps: 1, scale: 0.25 });
    // Never more steps than configured; no budget: the full plan.
    expect(c.plan(1000, 40_000, 3)).toEqual({ steps: 3, scale: 1 });
    expect(c.plan(Infinity, 40_000, 7)).toEqual({ steps: 7, scale: 1 });
    // What the full plan would cost: 10 + 3 × 40.
    expect(c.predict(40_000, 3)).toBeCloseTo(130, 6);
  });
});

describe('affordable motion', () => {
  it('swaps the flow for the residual warm start below half size, and nothing else', () => {
    expect(affordableMotion('flow', { steps: 2, scale: 1 })).toBe('flow');
    expect(affordableMotion('flow', { steps: 1, scale: 0.5 })).toBe('flow');
    expect(affordableMotion('flow', { steps: 1, scale: 0.375 })).toBe('residual');
    expect(affordableMotion('none', { steps: 1, scale: 0.25 })).toBe('none');
    expect(affordableMotion('residual', { steps: 3, scale: 1 })).toBe('residual');
  });
});

describe('rates and averages', () => {
  it('counts events in the last window and forgets old ones', () => {
    let t = 0;
    const rate = createRate(1000, () => t);
    for (let i = 0; i < 5; i++) {
      rate.tick();
      t += 100;
    }
    expect(rate.perSecond()).toBe(5);
    t += 2000;
    expect(rate.perSecond()).toBe(0);
  });

  it('moves an average toward new samples', () => {
    const avg = createAverage(0.5);
    expect(avg.value).toBe(0);
    avg.add(10);
    avg.add(20);
    expect(avg.value).toBe(15);
  });
});
