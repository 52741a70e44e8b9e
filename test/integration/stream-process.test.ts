/**
 * A real stream process: it paints a frame, a frame past the hard limit is abandoned (the
 * process is killed — the only way to stop a tfjs step), a killed painter takes no more frames,
 * and the pool replaces it so the stream goes on. Real processes, random-multiscale.
 */
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drawScene } from '../../fixtures/draw.js';
import { DEFAULTS, SERVER_DEFAULTS } from '../../server/config.js';
import { createLogger } from '../../server/logger.js';
import { createPaintTurns } from '../../server/live/paint-turns.js';
import { createStreamProcessPool } from '../../server/live/stream-process-pool.js';
import { FrameAbandonedError, StreamProcessState, startStreamProcess, type StreamProcess } from '../../server/live/stream-process.js';
import type { StreamProcessInit } from '../../server/live/stream-process/stream-process-protocol.js';
import { DEFAULT_MODELS_DIR } from '../../server/paths.js';
import { tempDir } from '../helpers/paths.js';

let dir: string;
let cleanup: () => Promise<void>;
let init: Omit<StreamProcessInit, 'type'>;
let jpeg: Buffer;
const settings = { style: 'swirls', size: 72, steps: 2, styleStrength: DEFAULTS.styleStrength, optimizer: DEFAULTS.optimizer, preserveColors: false, targetFps: 0, motion: 'flow' as const, temporalWeight: 5e4, painter: 'off' as const };

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('stylize-painter-'));
  init = {
    model: 'random-multiscale',
    weights: undefined,
    modelsDir: DEFAULT_MODELS_DIR,
    seed: 42,
    backend: 'wasm',
    threads: undefined,
    stylesDir: path.join(dir, 'styles'),
    uploadsDir: path.join(dir, 'uploads'),
    maxImagePixels: SERVER_DEFAULTS.maxImagePixels,
    maxWorkPixels: SERVER_DEFAULTS.maxWorkPixels,
    minWorkingSize: SERVER_DEFAULTS.minWorkingSize,
  };
  const scene = drawScene(128, 72);
  jpeg = await sharp(scene.data, { raw: { width: 128, height: 72, channels: 3 } }).jpeg().toBuffer();
});
afterAll(() => cleanup());

const request = (seq: number) => ({ seq, timestampMs: seq, jpeg, settings, budgetMs: 5000, costHint: undefined });

describe('a stream process', () => {
  let painter: StreamProcess | undefined;
  afterAll(() => painter?.kill());

  it('paints, then a frame past the hard limit is abandoned and the process killed', async () => {
    painter = startStreamProcess(init);
    expect(await painter.ready).toMatchObject({ backend: 'wasm', model: 'random-multiscale' });
    const painted = await painter.paint(request(1), 60_000);
    expect(painted).toMatchObject({ seq: 1, width: 128, height: 72 });
    expect(painted.message.length).toBeGreaterThan(8 + 100);
    await expect(painter.paint(request(2), 1)).rejects.toThrow(FrameAbandonedError);
    expect(painter.state).toBe(StreamProcessState.DEAD);
    await painter.exited;
    await expect(painter.paint(request(3), 60_000)).rejects.toThrow(/stopped/);
    painter.kill(); // safe twice
  });
});

describe('the painter pool', () => {
  it('gives the stream a new painter after an abandoned frame', async () => {
    const abandoned: number[] = [];
    // A hard limit no frame can meet (× 3 for a painter's first frame: still far too short).
    const pool = createStreamProcessPool({
      init,
      turns: createPaintTurns(1),
      maxStreams: 2,
      maxFrameMs: 1,
      freeFrameMs: 1,
      log: createLogger('silent'),
      onAbandoned: () => abandoned.push(1),
    });
    try {
      await pool.ready();
      const stream = pool.open('room');
      const frame = { seq: 1, timestampMs: 1, jpeg, receivedAt: performance.now() };
      await expect(stream.process(frame, settings, await stream.turn())).rejects.toThrow(FrameAbandonedError);
      expect(abandoned).toHaveLength(1);
      const before = pool.pids();
      // The next frame gets a new painter (and, after abandons in a row, a longer hard limit).
      await expect(stream.process({ ...frame, seq: 2 }, settings, await stream.turn())).rejects.toThrow(FrameAbandonedError);
      expect(pool.pids().some((pid) => !before.includes(pid))).toBe(true);
      stream.close();
      expect(pool.streams).toBe(0);
    } finally {
      await pool.close();
    }
    expect(pool.processes).toBe(0);
  });
});
