/**
 * Stream processes for live streams: one per stream (its memory goes when the stream ends),
 * at most `maxStreams` at once (more are refused with BusyError). While no stream is live, one
 * painter is kept started, so the first stream paints at once; later ones start their own
 * (about a second) rather than every stream costing a second idle process. Streams paint in turns (paint-turns.ts) within a budget; a frame that
 * overruns `maxFrameMs` is abandoned and its painter replaced, and the stream goes on cold, with
 * the cautious first-frame plan. A painter that grew past `maxPainterRss` is replaced between
 * frames. `close()` kills every painter and is safe twice.
 */
import { BusyError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { FrameProcessor, StreamProcessor } from './frame-processor.js';
import type { CostHint, LiveSettings } from './stream-process/frame-stylizer.js';
import type { IncomingFrame, StylizedFrame } from './frame.js';
import type { PaintTurns, Turn } from './paint-turns.js';
import type { StreamProcessInfo, StreamProcessInit } from './stream-process/stream-process-protocol.js';
import { StreamProcessGoneError, StreamProcessState, startStreamProcess, type StreamProcess } from './stream-process.js';

export interface StreamProcessPoolOptions {
  init: Omit<StreamProcessInit, 'type'>;
  turns: PaintTurns;
  maxStreams: number;
  /** Hard limit for one frame, ms. */
  maxFrameMs: number;
  /** Without a target frame rate, a frame is planned to take at most this long, ms. */
  freeFrameMs: number;
  /** A painter above this resident size is replaced after its frame, bytes. */
  maxPainterRss?: number;
  log: Logger;
  /** Called when a frame is abandoned (metrics). */
  onAbandoned?: () => void;
}

export interface StreamProcessPool extends FrameProcessor {
  /** The first painter's backend and network (start-up fails if it cannot start). */
  ready(): Promise<StreamProcessInfo>;
  /** Painters alive now (open streams + the one started ahead). */
  readonly processes: number;
  /** Their process ids (tests and benches measure their memory). */
  pids(): number[];
  readonly streams: number;
}

const DEFAULT_MAX_PAINTER_RSS = 2 * 1024 ** 3;
/** A painter's first frame may take this many times the hard limit (first runs at a new size allocate and compile). */
const FIRST_FRAME_ALLOWANCE = 3;

export function createStreamProcessPool(options: StreamProcessPoolOptions): StreamProcessPool {
  const alive = new Set<StreamProcess>();
  let spare: StreamProcess | undefined;
  let info: StreamProcessInfo | undefined;
  let streams = 0;
  let closed = false;
  /** The latest cost any painter measured: a new stream's first frame is planned with it. */
  let costHint: CostHint | undefined;
  const maxRss = options.maxPainterRss ?? DEFAULT_MAX_PAINTER_RSS;
  /** Without a deadline, a frame is planned to take at most this long (well inside the hard limit). */
  const softLimitMs = Math.min(options.freeFrameMs, options.maxFrameMs / 2);

  function spawn(): StreamProcess {
    const painter = startStreamProcess(options.init);
    alive.add(painter);
    void painter.exited.then(() => {
      alive.delete(painter);
      if (spare === painter) spare = undefined;
    });
    painter.ready.then(
      (i) => {
        info ??= i;
      },
      (error: unknown) => {
        // A painter killed before it was ready (a closing stream or server) did not fail.
        if (!closed && !(error instanceof StreamProcessGoneError)) options.log.error({ err: error, pid: painter.pid }, 'painter failed to start');
      },
    );
    return painter;
  }

  /** Keeps one painter started ahead while no stream is live. */
  function refillSpare(): void {
    if (closed || spare || streams > 0) return;
    spare = spawn();
  }

  function take(): StreamProcess {
    const taken = spare && spare.state !== StreamProcessState.DEAD ? spare : spawn();
    spare = undefined;
    return taken;
  }

  function openStream(name: string): StreamProcessor {
    if (closed || streams >= options.maxStreams) {
      throw new BusyError(`this server paints at most ${options.maxStreams} live streams at once; try again later`, 30);
    }
    streams++;
    let painter = take();
    let framesOnPainter = 0;
    /** Frames abandoned in a row: each doubles the hard limit (up to 8×), so a slow machine degrades instead of looping. */
    let abandoned = 0;
    refillSpare();
    const turns = options.turns.join(name);
    let streamClosed = false;
    const log = options.log.child({ room: name });

    /** The stream's painter; a dead one is replaced by the one started ahead (warm), if any. */
    function current(): StreamProcess {
      if (painter.state === StreamProcessState.DEAD) {
        painter = take();
        framesOnPainter = 0;
        refillSpare();
      }
      return painter;
    }

    /** The hard limit for the next frame: more for a painter's first frame (new sizes allocate). */
    function hardLimitMs(): number {
      return options.maxFrameMs * (framesOnPainter === 0 ? FIRST_FRAME_ALLOWANCE : 1) * 2 ** Math.min(abandoned, 3);
    }

    return {
      // A painter still starting does not hold the CPU turn while it loads.
      turn: async () => {
        await current().ready.catch(() => undefined);
        return turns.acquire();
      },
      async process(frame: IncomingFrame, settings: LiveSettings, turn: Turn): Promise<StylizedFrame> {
        const limitMs = settings.targetFps > 0 ? Math.min(softLimitMs, 1000 / settings.targetFps) : softLimitMs;
        const started = performance.now();
        try {
          const active = current();
          await active.ready;
          if (streamClosed) throw new Error('stream closed');
          const budgetMs = Math.min(turn.budgetMs, limitMs);
          const granted = performance.now();
          const report = await active.paint(
            { seq: frame.seq, timestampMs: frame.timestampMs, jpeg: frame.jpeg, settings, budgetMs, costHint },
            hardLimitMs(),
          );
          framesOnPainter++;
          abandoned = 0;
          if (report.cost) costHint = report.cost;
          turns.wish(settings.targetFps > 0 ? 1000 / settings.targetFps : report.fullPlanMs, limitMs);
          if (report.rss > maxRss) {
            log.warn({ rss: report.rss, pid: active.pid }, 'painter grew too large; replacing it');
            active.kill();
          }
          const { message, fullPlanMs: _plan, rss: _rss, cost: _cost, ...rest } = report;
          return {
            ...rest,
            message: Buffer.from(message.buffer, message.byteOffset, message.byteLength),
            processMs: performance.now() - granted,
            queueAgeMs: started - frame.receivedAt,
          };
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
        streams--;
        refillSpare();
      },
    };
  }

  return {
    get backend() {
      return info?.backend ?? 'starting';
    },
    get model() {
      return info?.model ?? 'starting';
    },
    get processes() {
      return alive.size;
    },
    pids: () => [...alive].flatMap((p) => (p.pid !== undefined ? [p.pid] : [])),
    get streams() {
      return streams;
    },
    async ready() {
      refillSpare();
      const first = spare ?? spawn();
      info = await first.ready;
      return info;
    },
    canOpen: () => !closed && streams < options.maxStreams,
    open: openStream,
    async close() {
      if (closed) return;
      closed = true;
      const all = [...alive];
      for (const painter of all) painter.kill();
      await Promise.all(all.map((p) => p.exited));
    },
  };
}
