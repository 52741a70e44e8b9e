/**
 * The stats row tells the truth about rates: a real server with a fake painter injected (one
 * that takes a fixed time per frame), real `ws` publishers. fps in/out must be non-zero while
 * frames flow and within 20 % of the rates the client itself measures, on a stream painted much
 * slower than 1 fps and on a fast one.
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FrameProcessor } from '../../server/live/frame-processor.js';
import { encodeFrame } from '../../server/live/protocol.js';
import { CAT } from '../helpers/paths.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { connect, type RecordingClient } from '../helpers/ws-client.js';

/** Paints nothing; answers each frame after `paintMs` (per room), like a painter of that speed. */
function fakeProcessor(paintMs: (room: string) => number): FrameProcessor {
  return {
    backend: 'fake',
    model: 'fake',
    canOpen: () => true,
    open(room) {
      return {
        turn: async () => ({ budgetMs: Number.POSITIVE_INFINITY, release: () => undefined }),
        async process(frame) {
          const started = performance.now();
          await new Promise((resolve) => setTimeout(resolve, paintMs(room)));
          return {
            seq: frame.seq,
            timestampMs: frame.timestampMs,
            message: encodeFrame(frame, frame.jpeg),
            width: 64,
            height: 36,
            steps: 1,
            workWidth: 64,
            workHeight: 36,
            warmStarted: true,
            processMs: performance.now() - started,
            stylizeMs: paintMs(room),
            queueAgeMs: started - frame.receivedAt,
          };
        },
        close: () => undefined,
      };
    },
    close: async () => undefined,
  };
}

const PAINT_MS: Record<string, number> = { slow: 1600, fast: 25 };

let server: TestServer;
let jpeg: Buffer;

beforeAll(async () => {
  server = await startTestServer({}, { processor: fakeProcessor((room) => PAINT_MS[room] ?? 10) });
  jpeg = await sharp(await readFile(CAT)).resize(64, 36).jpeg().toBuffer();
});
afterAll(() => server?.close());

interface Run {
  publisher: RecordingClient;
  sentAt: number[];
  receivedAt: number[];
  stats: { at: number; inputFps: number; outputFps: number; latencyMs: number }[];
}

/** Publishes at `fps` for `seconds`, recording send and receive times and every stats message. */
async function publish(room: string, fps: number, seconds: number): Promise<Run> {
  const publisher = await connect(await server.publishUrl(room), { keepFrames: false });
  const run: Run = { publisher, sentAt: [], receivedAt: [], stats: [] };
  publisher.socket.on('message', (data: Buffer, isBinary: boolean) => {
    if (isBinary) run.receivedAt.push(performance.now());
    else {
      const m = JSON.parse(data.toString()) as { type: string; inputFps: number; outputFps: number; latencyMs: number };
      if (m.type === 'stats') run.stats.push({ at: performance.now(), inputFps: m.inputFps, outputFps: m.outputFps, latencyMs: m.latencyMs });
    }
  });
  await new Promise<void>((resolve) => {
    let seq = 0;
    const timer = setInterval(() => {
      if (seq >= fps * seconds) {
        clearInterval(timer);
        resolve();
        return;
      }
      run.sentAt.push(performance.now());
      publisher.socket.send(encodeFrame({ seq, timestampMs: seq }, jpeg));
      seq++;
    }, 1000 / fps);
  });
  return run;
}

/** Events per second as the client saw them, over the times from `from` on. */
function trueRate(times: number[], from: number): number {
  const recent = times.filter((t) => t >= from);
  return ((recent.length - 1) * 1000) / (recent.at(-1)! - recent[0]!);
}

describe('stats rates', () => {
  it('reads non-zero and within 20 % of the truth on a slow (< 1 fps) and a fast stream', async () => {
    const [slow, fast] = await Promise.all([publish('slow', 10, 9), publish('fast', 20, 5)]);

    // Slow: painted every ~1.6 s (0.6 fps), fed at 10 fps.
    const slowOut = trueRate(slow.receivedAt, 0);
    expect(slow.receivedAt.length).toBeGreaterThanOrEqual(4);
    expect(slowOut).toBeLessThan(1);
    // Every stats message after the second painted frame, while frames still arrive, is non-zero.
    const flowing = slow.stats.filter((s) => s.at > slow.receivedAt[1]! && s.at < slow.sentAt.at(-1)!);
    expect(flowing.length).toBeGreaterThanOrEqual(4);
    for (const s of flowing) {
      expect(s.outputFps).toBeGreaterThan(0);
      expect(s.inputFps).toBeGreaterThan(0);
    }
    // The last stats message sent while frames were still flowing: within 20 %.
    const slowLast = flowing.at(-1)!;
    expect(Math.abs(slowLast.outputFps - slowOut) / slowOut).toBeLessThan(0.2);
    const slowIn = trueRate(slow.sentAt, slowLast.at - 5000);
    expect(Math.abs(slowLast.inputFps - slowIn) / slowIn).toBeLessThan(0.2);
    // Latency: at least the paint time, and not the whole run.
    expect(slowLast.latencyMs).toBeGreaterThanOrEqual(PAINT_MS.slow! * 0.9);
    expect(slowLast.latencyMs).toBeLessThan(PAINT_MS.slow! * 3);

    // Fast: every frame painted (25 ms < 50 ms between frames), ~20 fps in and out.
    const fastFlowing = fast.stats.filter((s) => s.at > fast.receivedAt[1]! + 1000 && s.at < fast.sentAt.at(-1)!);
    expect(fastFlowing.length).toBeGreaterThanOrEqual(2);
    const fastLast = fastFlowing.at(-1)!;
    const fastOut = trueRate(fast.receivedAt, fastLast.at - 5000);
    const fastIn = trueRate(fast.sentAt, fastLast.at - 5000);
    expect(fastOut).toBeGreaterThan(5);
    expect(Math.abs(fastLast.outputFps - fastOut) / fastOut).toBeLessThan(0.2);
    expect(Math.abs(fastLast.inputFps - fastIn) / fastIn).toBeLessThan(0.2);

    for (const run of [slow, fast]) run.publisher.socket.close();
  }, 60_000);
});
