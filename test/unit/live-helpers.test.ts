/** Scene cuts, the deadline controller and rate counters, by hand. */
import { describe, expect, it } from 'vitest';
import { drawScene, drawStrokes } from '../../fixtures/draw.js';
import { COLD_START_RAMP, createColdStartRamp, rampSteps } from '../../server/live/stream-process/cold-start.js';
import { affordableMotion, createDeadlineController } from '../../server/live/stream-process/deadline.js';
import { createSceneCutDetector, isFlatFrame, lumaThumbnail, thumbnailDistance } from '../../server/engine/scene-cut.js';
import { createAverage, createRate } from '../../server/live/stream-stats.js';

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

  /** 1-pixel stripes of black and grey `v`: luminance std v/2, every thumbnail cell v/2. */
  const stripes = (v: number) => {
    const data = new Uint8Array(64 * 36 * 3);
    for (let p = 0; p < 64 * 36; p++) data.fill(p % 2 ? v : 0, p * 3, p * 3 + 3);
    return { width: 64, height: 36, data };
  };

  it('flags flat frames, and calls a cut at the first frame that is not flat after them, then as a fade-in gains contrast', () => {
    expect(isFlatFrame(stripes(0))).toBe(true);
    expect(isFlatFrame(stripes(3))).toBe(true); // std 1.5: the encoder's noise on black
    expect(isFlatFrame(stripes(6))).toBe(false);
    expect(isFlatFrame(drawScene(64, 36))).toBe(false);
    const detector = createSceneCutDetector();
    // A fade from black: no step between two frames is anywhere near the cut threshold (28).
    const seen = [0, 3, 6, 10, 14, 20, 30, 62].map((v) => detector.look(stripes(v)));
    expect(seen.map((s) => s.flat)).toEqual([true, true, false, false, false, false, false, false]);
    // Cold at the first frame, the first not flat (std 3), at twice that contrast (std 7), again at
    // twice (std 15); from there (no longer low-contrast) only real cuts count.
    expect(seen.map((s) => s.cut)).toEqual([true, false, true, false, true, false, true, false]);
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

describe('the working-size floor', () => {
  it('gives up resolution only down to the floor, then frames take longer: one step at the floor', () => {
    const c = createDeadlineController(1);
    // 256×144 = 36 864 px; 1 ms per step per 1000 px, no overhead: one full-size step is 36.9 ms.
    c.observe({ steps: 1, pixels: 36_864, stepMs: 36.864, overheadMs: 0 });
    const floor = 96 / 144;
    // 30 ms: 0.75² (20.7 ms) fits once, above the floor.
    expect(c.plan(30, 36_864, 4, floor)).toEqual({ steps: 1, scale: 0.75 });
    // 17 ms: the floor itself (16.4 ms) fits once; 0.5 (9.2 ms) would fit, but is below the floor.
    expect(c.plan(17, 36_864, 4, floor)).toEqual({ steps: 1, scale: floor });
    // 5 ms: nothing fits; one step at the floor, never a quarter size.
    expect(c.plan(5, 36_864, 4, floor)).toEqual({ steps: 1, scale: floor });
    // Without a floor it would go down to a quarter (2.3 ms a step: two of them).
    expect(c.plan(5, 36_864, 4)).toEqual({ steps: 2, scale: 0.25 });
    // A floor at or above the stream size: full size always.
    expect(c.plan(5, 36_864, 4, 1.5)).toEqual({ steps: 1, scale: 1 });
  });

  it('bounds the first frame, before anything is learnt, by the floor too', () => {
    // 640×360 × 10 steps: the first-frame work fits once at 0.5, but the floor is 0.75.
    expect(createDeadlineController().plan(Infinity, 640 * 360, 10, 0.75)).toEqual({ steps: 1, scale: 0.75 });
  });

  it('counts the optimiser steps left after a learned painter\'s pass, down to none', () => {
    const c = createDeadlineController(1);
    expect(c.stepsLeft(100, 10_000, 4)).toBe(0); // nothing learnt: no steps on top of a painted picture
    c.observe({ steps: 1, pixels: 10_000, stepMs: 30, overheadMs: 10 });
    expect(c.stepsLeft(100, 10_000, 4)).toBe(3); // (100 − 10) / 30
    expect(c.stepsLeft(100, 10_000, 2)).toBe(2); // never more than asked
    expect(c.stepsLeft(35, 10_000, 4)).toBe(0); // (35 − 10) / 30 < 1: none, not one
    expect(c.stepsLeft(5, 10_000, 4)).toBe(0); // less than the overhead
    expect(c.stepsLeft(Infinity, 10_000, 4)).toBe(4);
  });

  it('fits steps into a budget at a given size (the cold-start frames)', () => {
    const c = createDeadlineController(1);
    expect(c.stepsWithin(100, 10_000, 8)).toBe(7); // nothing learnt: 73 728 px-steps of work
    c.observe({ steps: 1, pixels: 10_000, stepMs: 10, overheadMs: 20 });
    expect(c.stepsWithin(100, 10_000, 50)).toBe(8); // (100 − 20) / 10
    expect(c.stepsWithin(100, 10_000, 3)).toBe(3);
    expect(c.stepsWithin(10, 10_000, 3)).toBe(1); // at least one
    expect(c.stepsWithin(Infinity, 10_000, 6)).toBe(6);
  });
});

describe('cold-start ramp', () => {
  it('paints the frames after a cold start coarser, then at the planned size, and starts again on restart', () => {
    const ramp = createColdStartRamp({ now: () => 0 });
    expect(ramp.next()).toBe(1); // no cold start yet
    ramp.restart();
    const factors = Array.from({ length: COLD_START_RAMP.length + 2 }, () => ramp.next());
    expect(factors).toEqual([...COLD_START_RAMP, 1, 1]);
    expect(factors[0]).toBeLessThan(1);
    for (let i = 1; i < factors.length; i++) expect(factors[i]).toBeGreaterThanOrEqual(factors[i - 1]!);
    ramp.restart();
    expect(ramp.next()).toBe(COLD_START_RAMP[0]);
  });

  it('lasts about a second: a slow stream gets one coarse frame, not four seconds of them', () => {
    let t = 0;
    const ramp = createColdStartRamp({ windowMs: 1000, now: () => t });
    ramp.restart();
    t += 5000; // the first frame after a cold start is coarse however late it comes
    expect(ramp.next()).toBe(COLD_START_RAMP[0]);
    expect(ramp.next()).toBe(1);
    ramp.restart();
    expect(ramp.next()).toBe(COLD_START_RAMP[0]);
    t += 600;
    expect(ramp.next()).toBe(COLD_START_RAMP[1]);
    t += 600;
    expect(ramp.next()).toBe(1);
    expect(ramp.next()).toBe(1);
  });

  it('gives a coarse frame the work of a normal one, and no more than the budget allows', () => {
    expect(rampSteps(2, 0.5, (most) => most)).toBe(8);
    expect(rampSteps(1, 0.71, (most) => most)).toBe(1);
    expect(rampSteps(4, 0.71, (most) => most)).toBe(7);
    expect(rampSteps(2, 0.5, (most) => Math.min(most, 3))).toBe(3);
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
  it('is exact on a steady stream, fast or much slower than 1 fps, whatever the phase of the reader', () => {
    let t = 0;
    const fast = createRate({}, () => t);
    for (let i = 0; i < 100; i++) {
      fast.tick();
      t += 1000 / 15;
    }
    t -= 1000 / 15;
    for (const phase of [0, 20, 60]) {
      t += phase;
      expect(fast.perSecond()).toBeCloseTo(15, 6);
      t -= phase;
    }
    t = 0;
    const slow = createRate({}, () => t);
    for (let i = 0; i < 6; i++) {
      slow.tick();
      t += 2500; // 0.4 fps: a one-second window would read 0 or 1
    }
    t -= 2500;
    for (const since of [0, 1000, 2499]) {
      t += since;
      expect(slow.perSecond()).toBeCloseTo(0.4, 6);
      t -= since;
    }
  });

  it('decays once the stream stops, and forgets it', () => {
    let t = 0;
    const rate = createRate({ windowMs: 5000, forgetMs: 30_000 }, () => t);
    expect(rate.perSecond()).toBe(0);
    rate.tick();
    t += 500;
    expect(rate.perSecond()).toBe(1); // one event: at most 1 a second
    t += 3500;
    expect(rate.perSecond()).toBe(0.25); // one in the 4 s since
    for (let i = 0; i < 5; i++) {
      t += 100;
      rate.tick();
    }
    // Events at 0, 4.1 … 4.5 s: past the 5 s window the first one goes (the last two always stay).
    t += 600;
    const before = rate.perSecond();
    t += 2000;
    const later = rate.perSecond();
    expect(later).toBeLessThan(before);
    expect(later).toBeGreaterThan(0);
    t += 30_000;
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
