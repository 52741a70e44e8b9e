/**
 * One live stream on the stream-process pool (stream-process-pool.ts): its own stream process,
 * its turns at the CPU, and its frames' limits. A frame is planned to fit its turn's budget (and
 * the target frame rate); one that overruns the hard limit is abandoned and its process replaced
 * (each abandoned frame in a row doubles the limit, up to 8×, so a slow machine degrades instead
 * of looping). A process that grew past the pool's memory limit is replaced after its frame.
 *
 * The hard limit is the stream's own: its turn is taken back once the frame's budget is spent
 * (paint-turns.ts), and the process goes on with the frame at background priority, so other
 * streams paint meanwhile; its answer, if it comes within the hard limit, is still shown. The
 * stream asks for its next turn only once its process has answered (or was replaced).
 */
import type { Logger } from '../logger.js';
import type { StreamProcessor } from './frame-processor.js';
import type { IncomingFrame, StylizedFrame } from './frame.js';
import type { PaintTurns, Turn } from './paint-turns.js';
import type { CostHint, LiveSettings } from './stream-process/frame-stylizer.js';
import type { PaintedReport } from './stream-process/stream-process-protocol.js';
import { StreamProcessState, type StreamProcess } from './stream-process.js';

/** A process's first frame may take this many times the hard limit (first runs at a new size allocate and compile). */
const FIRST_FRAME_ALLOWANCE = 3;

/** What a stream needs of its pool. */
export interface StreamProcessSource {
  /** A started process for the stream: the one started ahead (warm), if any. */
  take(): StreamProcess;
  /** Keeps one process started ahead while no stream is live. */
  refillSpare(): void;
  /** The latest cost any process measured: a new stream's first frame is planned with it. */
  costHint: CostHint | undefined;
  /** The stream closed: it no longer counts against the cap. */
  streamClosed(): void;
}

export interface PooledStreamOptions {
  name: string;
  turns: PaintTurns;
  /** Hard limit for one frame, ms. */
  maxFrameMs: number;
  /** Without a deadline, a frame is planned to take at most this long, ms. */
  softLimitMs: number;
  /** A process above this resident size is replaced after its frame, bytes. */
  maxRss: number;
  log: Logger;
  onAbandoned?: (() => void) | undefined;
}

export function openPooledStream(source: StreamProcessSource, options: PooledStreamOptions): StreamProcessor {
  let painter = source.take();
  let framesOnPainter = 0;
  /** Frames abandoned in a row: each doubles the hard limit (up to 8×). */
  let abandoned = 0;
  source.refillSpare();
  /** The process painting a frame right now, and whether it went to the background. */
  let inFlight: { process: StreamProcess; background: boolean } | undefined;
  const log = options.log.child({ room: options.name });
  const turns = options.turns.join(options.name, () => {
    if (!inFlight) return;
    inFlight.background = true;
    inFlight.process.background(true);
    log.debug({ pid: inFlight.process.pid }, 'frame overran its turn; the painter goes on in the background');
  });
  // Until its first frame says what it wishes, a stream's turns are bounded by its soft limit.
  turns.wish(undefined, options.softLimitMs);
  let streamClosed = false;

  /** The stream's process; a dead one is replaced by the one started ahead (warm), if any. */
  function current(): StreamProcess {
    if (painter.state === StreamProcessState.DEAD) {
      painter = source.take();
      framesOnPainter = 0;
      source.refillSpare();
    }
    return painter;
  }

  /** The hard limit for the next frame: more for a process's first frame (new sizes allocate). */
  function hardLimitMs(): number {
    return options.maxFrameMs * (framesOnPainter === 0 ? FIRST_FRAME_ALLOWANCE : 1) * 2 ** Math.min(abandoned, 3);
  }

  /** The frame painted by the stream's process within `limitMs` (planned) and the hard limit. */
  async function paint(frame: IncomingFrame, settings: LiveSettings, turn: Turn, limitMs: number): Promise<{ report: PaintedReport; granted: number }> {
    const active = current();
    await active.ready;
    if (streamClosed) throw new Error('stream closed');
    const budgetMs = Math.min(turn.budgetMs, limitMs);
    const granted = performance.now();
    const request = { seq: frame.seq, timestampMs: frame.timestampMs, jpeg: frame.jpeg, settings, budgetMs, costHint: source.costHint };
    const flight = (inFlight = { process: active, background: false });
    let report: PaintedReport;
    try {
      report = await active.paint(request, hardLimitMs());
    } finally {
      inFlight = undefined;
      if (flight.background && active.state !== StreamProcessState.DEAD) active.background(false);
    }
    framesOnPainter++;
    abandoned = 0;
    if (report.cost) source.costHint = report.cost;
    turns.wish(settings.targetFps > 0 ? 1000 / settings.targetFps : report.fullPlanMs, limitMs);
    if (report.rss > options.maxRss) {
      log.warn({ rss: report.rss, pid: active.pid }, 'painter grew too large; replacing it');
      active.kill();
    }
    return { report, granted };
  }

  return {
    // A process still starting does not hold the CPU turn while it loads.
    turn: async () => {
      await current().ready.catch(() => undefined);
      return turns.acquire();
    },
    async process(frame, settings, turn) {
      const limitMs = settings.targetFps > 0 ? Math.min(options.softLimitMs, 1000 / settings.targetFps) : options.softLimitMs;
      const started = performance.now();
      try {
        const { report, granted } = await paint(frame, settings, turn, limitMs);
        return toStylized(report, performance.now() - granted, started - frame.receivedAt);
      } catch (error) {
        if ((error as { code?: string }).code === 'FRAME_ABANDONED') {
          abandoned++;
          log.warn({ seq: frame.seq, abandonedInARow: abandoned }, 'frame abandoned; painter replaced');
          options.onAbandoned?.();
        }
        throw error;
      } finally {
        turn.release();
      }
    },
    close() {
      if (streamClosed) return;
      streamClosed = true;
      turns.leave();
      painter.kill();
      source.streamClosed();
    },
  };
}

/** The process's report as the frame the room sends (its own bookkeeping left out). */
function toStylized(report: PaintedReport, processMs: number, queueAgeMs: number): StylizedFrame {
  const { message, fullPlanMs: _plan, rss: _rss, cost: _cost, ...rest } = report;
  return { ...rest, message: Buffer.from(message.buffer, message.byteOffset, message.byteLength), processMs, queueAgeMs };
}
