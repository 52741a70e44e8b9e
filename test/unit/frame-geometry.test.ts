/**
 * A live frame's geometry from its header (issue 20, item 2): a frame beyond the aspect bound is
 * refused naming the limit; within it, the working frame and the style are bounded by pixels
 * whatever the shape, and ordinary streams are sized as before.
 */
import { describe, expect, it } from 'vitest';
import { LIMITS, SERVER_DEFAULTS } from '../../server/config.js';
import { BadFrameError } from '../../server/live/frame.js';
import { STYLE_PIXELS_PER_WORK_PIXEL, checkFrameShape, frameGeometry } from '../../server/live/stream-process/frame-geometry.js';
import { MAX_ASPECT_RATIO } from '../../server/video/ffmpeg.js';

const MIN_SIDE = 32;
const maxWork = SERVER_DEFAULTS.maxWorkPixels;

describe('live frame geometry', () => {
  it('refuses a 10 000×16 frame (and 16×10 000) with BAD_FRAME naming the limit', () => {
    for (const source of [{ width: 10_000, height: 16 }, { width: 16, height: 10_000 }]) {
      let error: unknown;
      try {
        frameGeometry(source, 144, maxWork, MIN_SIDE, 'frame 7');
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(BadFrameError);
      expect(error).toMatchObject({ code: 'BAD_FRAME', message: `frame 7 is ${source.width}×${source.height}: its longest side may be at most 4 times its shortest` });
    }
  });

  it('one aspect bound for live frames and videos', () => {
    expect(MAX_ASPECT_RATIO).toBe(LIMITS.maxAspectRatio);
    expect(() => checkFrameShape({ width: 4 * 90, height: 90 }, 'f')).not.toThrow();
    expect(() => checkFrameShape({ width: 4 * 90 + 1, height: 90 }, 'f')).toThrow(BadFrameError);
  });

  it('ordinary streams keep their sizes: 16:9 at 144 and at 360', () => {
    expect(frameGeometry({ width: 1280, height: 720 }, 144, maxWork, MIN_SIDE)).toMatchObject({ full: { width: 256, height: 144 }, cap: 1, styleSide: 256 });
    const at360 = frameGeometry({ width: 1920, height: 1080 }, 360, maxWork, MIN_SIDE);
    expect(at360.full).toEqual({ width: 640, height: 360 });
    expect(at360.pixels).toBeCloseTo(maxWork, 3);
    expect(at360.styleSide).toBe(256);
  });

  it('within the bound, every shape and size stays within its pixels', () => {
    for (let aspect = 1; aspect <= LIMITS.maxAspectRatio; aspect += 0.25) {
      for (const size of [32, 64, 144, 360, 720, 1024]) {
        for (const workPixels of [32 * 32, maxWork, 640 * 360]) {
          const g = frameGeometry({ width: Math.floor(1000 * aspect), height: 1000 }, size, workPixels, MIN_SIDE);
          expect(g.full.width * g.full.height).toBeLessThanOrEqual(LIMITS.maxAspectRatio * (size + 2) ** 2);
          expect(g.pixels).toBeLessThanOrEqual(workPixels * 1.0001);
          // The working frame the optimiser paints (its short side floored at the network's least).
          const workShort = Math.max(MIN_SIDE, Math.round(size * g.cap));
          const workLong = (workShort * g.full.width) / g.full.height;
          expect(workShort * workLong).toBeLessThanOrEqual(Math.max(workPixels, LIMITS.maxAspectRatio * MIN_SIDE ** 2) * 1.1);
          // A square style: at most STYLE_PIXELS_PER_WORK_PIXEL × the working pixels (or the least side).
          expect(g.styleSide ** 2).toBeLessThanOrEqual(Math.max(STYLE_PIXELS_PER_WORK_PIXEL * g.pixels * 1.01, MIN_SIDE ** 2));
        }
      }
    }
  });
});
