/**
 * One stream's frames never hold the others beyond its budget (issue 20, item 2): a stream whose
 * painter never answers is abandoned at its own hard limit, which doubles for frames abandoned in
 * a row, but its turn is taken back at its budget each time, its painter sent to the background,
 * and the other stream's wait stays the same. Fake stream processes, real paint turns and timers.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../server/logger.js';
import type { IncomingFrame } from '../../server/live/frame.js';
import type { LiveSettings } from '../../server/live/live-settings.js';
import { createPaintTurns, turnEndsAfterMs } from '../../server/live/paint-turns.js';
import { openPooledStream, type StreamProcessSource } from '../../server/live/pooled-stream.js';
import { FrameAbandonedError, StreamProcessState, type StreamProcess } from '../../server/live/stream-process.js';
import type { PaintedReport } from '../../server/live/stream-process/stream-process-protocol.js';
import { DEFAULTS } from '../../server/config.js';

const settings: LiveSettings = { style: 'swirls', size: 64, steps: 2, styleStrength: DEFAULTS.styleStrength, optimizer: DEFAULTS.optimizer, preserveColors: false, targetFps: 0, motion: 'flow', temporalWeight: 0, painter: 'off' };
const frame = (seq: number): IncomingFrame => ({ seq, timestampMs: seq, jpeg: new Uint8Array([0xff, 0xd8, 0xff]), receivedAt: performance.now() });

/** A fake painter answering after `answerMs`, or never (abandoned at the hard limit, as the real one). */
function fakeProcess(answerMs: number | undefined, log: { background: boolean[]; hardLimits: number[] }): StreamProcess {
  let state: StreamProcessState = StreamProcessState.READY;
  let exit = (): void => undefined;
  const exited = new Promise<void>((resolve) => (exit = resolve));
  const process: StreamProcess = {
    pid: undefined,
    get state() {
      return state;
    },
    ready: Promise.resolve({ backend: 'fake', threads: 1, model: 'fake', description: 'fake' }),
    exited,
    paint(request, hardLimitMs) {
      log.hardLimits.push(hardLimitMs);
      return new Promise<PaintedReport>((resolve, reject) => {
        const abandon = setTimeout(() => {
          reject(new FrameAbandonedError(hardLimitMs));
          process.kill();
        }, hardLimitMs);
        if (answerMs === undefined) return;
        setTimeout(() => {
          clearTimeout(abandon);
          resolve({
            seq: request.seq, timestampMs: request.timestampMs, message: new Uint8Array(8), width: 64, height: 36, steps: 1, workWidth: 64, workHeight: 36,
            warmStarted: false, processMs: answerMs, stylizeMs: answerMs, fullPlanMs: 20, cost: undefined, rss: 0,
          });
        }, answerMs);
      });
    },
    background(on) {
      log.background.push(on);
    },
    kill() {
      state = StreamProcessState.DEAD;
      exit();
    },
  };
  return process;
}

function fakeSource(answerMs: number | undefined, log: { background: boolean[]; hardLimits: number[] }): StreamProcessSource {
  return { costHint: undefined, take: () => fakeProcess(answerMs, log), refillSpare: () => undefined, streamClosed: () => undefined };
}

describe('a stream whose painter never answers, next to a healthy one', () => {
  it('holds the turn for its budget only, however many of its frames are abandoned in a row', async () => {
    const turns = createPaintTurns(1);
    const options = { turns, maxFrameMs: 100, softLimitMs: 50, maxRss: Number.POSITIVE_INFINITY, log: createLogger('silent') };
    const healthyLog = { background: [] as boolean[], hardLimits: [] as number[] };
    const greedyLog = { background: [] as boolean[], hardLimits: [] as number[] };
    const healthy = openPooledStream(fakeSource(5, healthyLog), { ...options, name: 'healthy' });
    const greedy = openPooledStream(fakeSource(undefined, greedyLog), { ...options, name: 'greedy' });
    try {
      // The healthy stream paints once: it is active, and it wishes 20 ms frames.
      await healthy.process(frame(1), settings, await healthy.turn());
      const waits: number[] = [];
      for (let round = 0; round < 3; round++) {
        const stuck = greedy.process(frame(10 + round), settings, await greedy.turn()).then(
          () => 'painted',
          (error: { code?: string }) => error.code,
        );
        const asked = performance.now();
        const turn = await healthy.turn();
        waits.push(performance.now() - asked);
        await healthy.process(frame(2 + round), settings, turn);
        expect(await stuck).toBe('FRAME_ABANDONED');
      }
      // The greedy stream's own hard limit grew (first frame of each new painter ×3, then ×2 a row)…
      expect(greedyLog.hardLimits).toEqual([300, 600, 1200]);
      // …but the healthy stream waited no longer than the greedy turn's budget each time
      // (greedy's budget is healthy's wish, 20 ms, so its turn ends after 130 ms).
      const end = turnEndsAfterMs(20);
      for (const wait of waits) {
        expect(wait).toBeGreaterThanOrEqual(end - 5);
        expect(wait).toBeLessThan(end + 120);
      }
      expect(turns.takenBack).toBe(3);
      // Each overrunning painter went to the background (and was killed, so never back).
      expect(greedyLog.background).toEqual([true, true, true]);
      expect(healthyLog.background).toEqual([]);
    } finally {
      healthy.close();
      greedy.close();
    }
  });

  it('a painter that answers after its turn was taken back is brought back to normal priority, and its frame is shown', async () => {
    const turns = createPaintTurns(1);
    const log = { background: [] as boolean[], hardLimits: [] as number[] };
    const slow = openPooledStream(fakeSource(250, log), { turns, maxFrameMs: 1000, softLimitMs: 50, maxRss: Number.POSITIVE_INFINITY, name: 'slow', log: createLogger('silent') });
    try {
      const painted = await slow.process(frame(1), settings, await slow.turn());
      expect(painted.seq).toBe(1);
      expect(turns.takenBack).toBe(1); // 250 ms > 50 × 1.5 + 100
      expect(log.background).toEqual([true, false]);
    } finally {
      slow.close();
    }
  });
});
