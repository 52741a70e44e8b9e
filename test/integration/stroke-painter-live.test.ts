/**
 * The keyframes painter mode (issue 22), the live default: a stream paints with its style's kept
 * stroke painter from the first frame when there is one; without one it is painted by the
 * optimiser (LEARNING), and it switches to the painter (READY, full working size) within a look
 * of the painter being kept (as the background training keeps it). Through the FrameStylizer with
 * a real stylizer and loss network, and through a real server (stream process and all).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, encodeImage } from '../../server/codec/image-codec.js';
import { DEFAULTS } from '../../server/config.js';
import type { RgbImage } from '../../server/engine/image.js';
import type { FeatureNetwork } from '../../server/engine/networks/network.js';
import { createRandomMultiscale } from '../../server/engine/networks/random-multiscale.js';
import { PAINTER_EXTENSION, painterKey, STROKE_PAINTER_SHAPE } from '../../server/engine/painter-net/painter-key.js';
import { createPainterNet, type PainterNet } from '../../server/engine/painter-net/painter-net.js';
import { savePainter } from '../../server/engine/painter-net/painter-store.js';
import { createStylizer, type Stylizer } from '../../server/engine/stylizer.js';
import { createFrameStylizer, type LiveSettings } from '../../server/live/stream-process/frame-stylizer.js';
import { LivePainterState } from '../../server/live/stream-process/live-painter.js';
import { createStrokeLivePainter } from '../../server/live/stream-process/stroke-live-painter.js';
import { PAINTER_TUNING } from '../../server/painter/painter-tuning.js';
import { strokePainterFor } from '../../server/painter/stroke-painter-key.js';
import { createStyleLibrary } from '../../server/styles/style-library.js';
import { DEFAULT_STYLES_DIR } from '../../server/paths.js';
import { seededValues, useWasm } from '../helpers/backend.js';
import { firstFrameStats } from '../helpers/first-frame.js';
import { CAT, tempDir } from '../helpers/paths.js';
import { startTestServer } from '../helpers/server.js';

const SIZE = 64;
const settings: LiveSettings = {
  style: 'starry-night',
  size: SIZE,
  steps: 1,
  styleStrength: DEFAULTS.styleStrength,
  optimizer: DEFAULTS.optimizer,
  preserveColors: false,
  targetFps: 0,
  motion: 'residual',
  temporalWeight: 0,
  painter: 'keyframes',
};

let network: FeatureNetwork;
let stylizer: Stylizer;
let style: RgbImage;
let jpeg: Uint8Array;
let styleBytes: Uint8Array;

beforeAll(async () => {
  await useWasm();
  network = createRandomMultiscale(3);
  stylizer = createStylizer(network, {}, { ownsNetwork: false });
  const styles = createStyleLibrary({ stylesDir: DEFAULT_STYLES_DIR, uploadsDir: '/nonexistent' });
  styleBytes = (await styles.image('starry-night')).bytes;
  style = await styles.decoded('starry-night', 128, 32);
  jpeg = await encodeImage(await decodeImage(CAT, { exact: { width: 112, height: SIZE } }), 'jpeg', 90);
});
afterAll(() => {
  stylizer?.dispose();
  network?.dispose();
});

/** A stroke painter that visibly paints (weights not the initial ones), trained "far enough" by its meta. */
async function keptPainter(dir: string, networkName: string): Promise<void> {
  const painter: PainterNet = createPainterNet(STROKE_PAINTER_SHAPE, 4);
  const weights = await painter.read();
  let seed = 40;
  for (const w of weights.values()) w.values.set(seededValues(w.values.length, seed++).map((v) => v * 0.2));
  painter.write(weights);
  await mkdir(dir, { recursive: true });
  const what = strokePainterFor(styleBytes, 'starry-night', networkName);
  await savePainter(path.join(dir, `${painterKey(what)}${PAINTER_EXTENSION}`), painter, { style: 'starry-night', contentWeight: what.contentWeight, styleWeight: what.styleWeight, steps: PAINTER_TUNING.stroke.minSteps, framesSeen: 8 });
  painter.dispose();
}

describe('the keyframes painter mode', () => {
  it('paints with the optimiser until a stroke painter is kept, then switches to it at the full working size', async () => {
    const { dir, cleanup } = await tempDir('stylize-stroke-live-');
    const frames = createFrameStylizer({
      stylizer,
      minSide: 32,
      floorShortSide: 48,
      styleImage: async () => style,
      createPainter: async (what) => {
        expect(what.mode).toBe('keyframes');
        return createStrokeLivePainter({ dirs: [dir], what: strokePainterFor(styleBytes, what.style, network.name), lookEveryMs: 0 });
      },
    });
    try {
      const frame = (seq: number) => ({ seq, timestampMs: seq, jpeg, receivedAt: performance.now() });
      const first = await frames.process(frame(0), settings);
      expect(first.painter?.state).toBe(LivePainterState.LEARNING);
      expect(first.steps).toBeGreaterThanOrEqual(1); // the optimiser painted it
      await frames.idle();
      expect((await frames.process(frame(1), settings)).painter?.state).toBe(LivePainterState.LEARNING);
      // The background training keeps the painter: the next look finds it.
      await keptPainter(dir, network.name);
      await frames.idle();
      const painted = await frames.process(frame(2), settings);
      expect(painted.painter?.state).toBe(LivePainterState.READY);
      expect(painted.painter?.steps).toBe(PAINTER_TUNING.stroke.minSteps);
      expect([painted.workWidth, painted.workHeight]).toEqual([112, SIZE]);
      // Another strength than the keyframes' is the optimiser's: there is no stroke painter for it.
      const other = await frames.process(frame(3), { ...settings, styleStrength: 0.9 });
      expect(other.painter).toBeUndefined();
    } finally {
      await frames.dispose();
      await frames.dispose(); // safe twice
      await cleanup();
    }
  }, 120_000);

  it('is the server default: a stream in a style with a kept stroke painter paints with it from its first frame', async () => {
    const { dir, cleanup } = await tempDir('stylize-stroke-server-');
    try {
      const dataDir = path.join(dir, 'data');
      await keptPainter(path.join(dataDir, 'painters'), 'random-multiscale');
      const server = await startTestServer({ liveSize: SIZE, liveSteps: 1, targetFps: 0 }, { dataDir });
      try {
        const stats = await firstFrameStats(server, 'stroke', jpeg, 'starry-night');
        expect(stats.painter).toMatchObject({ state: 'ready', steps: PAINTER_TUNING.stroke.minSteps });
        expect([stats.width, stats.height]).toEqual([112, SIZE]);
        // Another style has no stroke painter: the optimiser paints, the stream says it waits for one.
        const other = await firstFrameStats(server, 'other', jpeg, 'great-wave');
        expect(other.painter).toMatchObject({ state: 'learning' });
      } finally {
        await server.close();
      }
    } finally {
      await cleanup();
    }
  }, 180_000);
});
