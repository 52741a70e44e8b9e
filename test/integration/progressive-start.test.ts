/**
 * A progressive cold start: the first frames of a new stream (and after a new style) are painted
 * coarser, each with the work of an ordinary frame, and sharpen as the working size grows.
 * In process (the painter's own FrameStylizer, a real stylizer and real JPEG frames), then through
 * a real server and its stream process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, encodeImage } from '../../server/codec/image-codec.js';
import { DEFAULTS, VIDEO_DEFAULTS } from '../../server/config.js';
import type { RgbImage } from '../../server/engine/image.js';
import { createRandomMultiscale } from '../../server/engine/networks/random-multiscale.js';
import { createStylizer, type Stylizer } from '../../server/engine/stylizer.js';
import { COLD_START_RAMP } from '../../server/live/stream-process/cold-start.js';
import { createFrameStylizer, type LiveSettings, type PaintedFrame } from '../../server/live/stream-process/frame-stylizer.js';
import { encodeFrame } from '../../server/live/protocol.js';
import { useWasm } from '../helpers/backend.js';
import { CAT, STARRY_NIGHT } from '../helpers/paths.js';
import { startTestServer } from '../helpers/server.js';
import { connect } from '../helpers/ws-client.js';

const SIZE = 96;
/**
 * A fixed plan (no target rate): the plan is all steps at the full size, so the cold start's sizes
 * are known (how many coarse frames there are depends on the machine's speed: about a second's worth).
 */
const settings: LiveSettings = {
  style: 'starry-night',
  size: SIZE,
  steps: 2,
  // The seed's recipe (α 10, β 40): the strokes the sharpness checks below were measured with.
  styleStrength: DEFAULTS.styleStrength,
  optimizer: 'adam-pixels',
  preserveColors: false,
  targetFps: 0,
  motion: 'flow',
  temporalWeight: 5e4,
  painter: 'off',
};

let stylizer: Stylizer;
let photo: RgbImage;
let jpeg: Uint8Array;
let style: RgbImage;

beforeAll(async () => {
  await useWasm();
  stylizer = createStylizer(createRandomMultiscale(3));
  photo = await decodeImage(CAT, { exact: { width: 170, height: SIZE } });
  jpeg = await encodeImage(photo, 'jpeg', 90);
  style = await decodeImage(STARRY_NIGHT, { longSide: 170 });
});
afterAll(() => stylizer?.dispose());

/** Mean |a − b| over all samples. */
const distance = (a: RgbImage, b: RgbImage): number => a.data.reduce((s, v, i) => s + Math.abs(v - b.data[i]!), 0) / a.data.length;

/** Mean gradient magnitude of the painting's own part (output − photo): how fine its strokes are. */
function strokeSharpness(out: RgbImage, base: RgbImage): number {
  const { width: w, height: h } = out;
  const r = (x: number, y: number): number => {
    const i = (y * w + x) * 3;
    let s = 0;
    for (let c = 0; c < 3; c++) s += out.data[i + c]! - base.data[i + c]!;
    return s / 3;
  };
  let sum = 0;
  for (let y = 1; y < h - 1; y++) for (let x = 1; x < w - 1; x++) sum += Math.hypot(r(x + 1, y) - r(x - 1, y), r(x, y + 1) - r(x, y - 1)) / 2;
  return sum / ((w - 2) * (h - 2));
}

describe('progressive cold start, in the painter', () => {
  it('paints the first frames coarser with an ordinary frame\'s work; the picture then sharpens at the planned size', async () => {
    const frames = createFrameStylizer({ stylizer, minSide: 32, floorShortSide: SIZE, styleImage: async () => style });
    const painted: PaintedFrame[] = [];
    const images: RgbImage[] = [];
    for (let seq = 0; seq < COLD_START_RAMP.length + 2; seq++) {
      const out = await frames.process({ seq, timestampMs: seq, jpeg, receivedAt: performance.now() }, settings);
      painted.push(out);
      images.push(await decodeImage(out.message.subarray(8)));
    }
    const normalWork = settings.steps * 170 * SIZE;
    const work = painted.map((p) => p.steps * p.workWidth * p.workHeight);
    // The first frame: no more work than an ordinary frame (so it comes after one frame time), a
    // fifth of what a cold frame painted in one go (the video's first-frame steps) would take…
    expect(work[0]).toBeLessThanOrEqual(normalWork * 1.1);
    expect(work[0]).toBeLessThan((VIDEO_DEFAULTS.firstFrameSteps * 170 * SIZE) / 5);
    // …at a coarser size, with more steps than an ordinary frame.
    expect(painted[0]!.workHeight).toBe(SIZE / 2);
    expect(painted[0]!.steps).toBeGreaterThan(settings.steps);
    expect(painted[0]!.warmStarted).toBe(false);
    // Every frame comes out at the stream size; the working size grows to the full size.
    for (const image of images) expect([image.width, image.height]).toEqual([170, SIZE]);
    const heights = painted.map((p) => p.workHeight);
    for (let i = 1; i < heights.length; i++) expect(heights[i]).toBeGreaterThanOrEqual(heights[i - 1]!);
    expect(heights.at(-1)).toBe(SIZE);
    // Already painted at the first frame (not the photo), later frames different, the strokes finer
    // once the working size is the full size.
    expect(distance(images[0]!, photo)).toBeGreaterThan(4);
    expect(distance(images.at(-1)!, images[0]!)).toBeGreaterThan(8);
    expect(strokeSharpness(images.at(-1)!, photo)).toBeGreaterThan(1.3 * strokeSharpness(images[0]!, photo));

    // A new style is a cold start too: the ramp starts again.
    const again = await frames.process({ seq: 99, timestampMs: 99, jpeg, receivedAt: performance.now() }, { ...settings, style: 'another' });
    expect(again.workHeight).toBe(SIZE / 2);
    expect(again.warmStarted).toBe(false);
  });
});

describe('progressive cold start, through the server', () => {
  it('a new stream\'s first frames come from a smaller working size, then the full one', async () => {
    // No frame is abandoned on a loaded machine: this test is about sizes, not speed.
    const server = await startTestServer({ liveSize: SIZE, liveSteps: 2, targetFps: 0, minWorkingSize: SIZE, maxFrameMs: 120_000 });
    try {
      const publisher = await connect(await server.publishUrl('ramp'));
      const heights: number[] = [];
      // One frame at a time, each answered and reported in the stats before the next.
      for (let seq = 1; seq <= COLD_START_RAMP.length + 1; seq++) {
        publisher.socket.send(encodeFrame({ seq, timestampMs: seq }, Buffer.from(jpeg)));
        await publisher.until(() => publisher.messages.some((m) => m.type === 'stats' && m.framesOut === seq));
        heights.push(publisher.messages.find((m) => m.type === 'stats' && m.framesOut === seq)!.height as number);
      }
      expect(heights[0]).toBe(SIZE / 2);
      expect(heights.at(-1)).toBe(SIZE);
      publisher.socket.close();
    } finally {
      await server.close();
    }
  });
});
