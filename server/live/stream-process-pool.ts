/**
 * Stream processes for live streams: one per stream (its memory goes when the stream ends),
 * at most `maxStreams` at once (more are refused with BusyError). While no stream is live, one
 * painter is kept started, so the first stream paints at once; later ones start their own
 * (about a second) rather than every stream costing a second idle process. Streams paint in turns (paint-turns.ts) within a budget; a frame that
 * overruns `maxFrameMs` is abandoned and its painter replaced, and the stream goes on cold, with
 * the cautious first-frame plan. A painter that grew past `maxPainterRss` is replaced between
 * frames (each stream: pooled-stream.ts). `close()` kills every painter and is safe twice.
 */
import { BusyError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { FrameProcessor, StreamProcessor } from './frame-processor.js';
import type { PaintTurns } from './paint-turns.js';
import { openPooledStream, type StreamProcessSource } from './pooled-stream.js';
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

/** What the pool knows; the pool's functions below share it. */
interface PoolState {
  readonly alive: Set<StreamProcess>;
  /** The painter started ahead while no stream is live. */
  spare: StreamProcess | undefined;
  /** The first painter's backend and network. */
  info: StreamProcessInfo | undefined;
  streams: number;
  closed: boolean;
}

export function createStreamProcessPool(options: StreamProcessPoolOptions): StreamProcessPool {
  const state: PoolState = { alive: new Set(), spare: undefined, info: undefined, streams: 0, closed: false };
  const source = streamSource(state, options);
  const streamOptions = {
    turns: options.turns,
    maxFrameMs: options.maxFrameMs,
    /** Without a deadline, a frame is planned to take at most this long (well inside the hard limit). */
    softLimitMs: Math.min(options.freeFrameMs, options.maxFrameMs / 2),
    maxRss: options.maxPainterRss ?? DEFAULT_MAX_PAINTER_RSS,
    log: options.log,
    onAbandoned: options.onAbandoned,
  };

  return {
    get backend() {
      return state.info?.backend ?? 'starting';
    },
    get model() {
      return state.info?.model ?? 'starting';
    },
    get processes() {
      return state.alive.size;
    },
    pids: () => [...state.alive].flatMap((p) => (p.pid !== undefined ? [p.pid] : [])),
    get streams() {
      return state.streams;
    },
    async ready() {
      source.refillSpare();
      const first = state.spare ?? spawn(state, options);
      state.info = await first.ready;
      return state.info;
    },
    canOpen: () => !state.closed && state.streams < options.maxStreams,
    open(name: string): StreamProcessor {
      if (state.closed || state.streams >= options.maxStreams) {
        throw new BusyError(`this server paints at most ${options.maxStreams} live streams at once; try again later`, 30);
      }
      state.streams++;
      return openPooledStream(source, { ...streamOptions, name });
    },
    async close() {
      if (state.closed) return;
      state.closed = true;
      const all = [...state.alive];
      for (const painter of all) painter.kill();
      await Promise.all(all.map((p) => p.exited));
    },
  };
}

/** A new painter, counted alive until it exits. */
function spawn(state: PoolState, options: StreamProcessPoolOptions): StreamProcess {
  const painter = startStreamProcess(options.init);
  state.alive.add(painter);
  void painter.exited.then(() => {
    state.alive.delete(painter);
    if (state.spare === painter) state.spare = undefined;
  });
  painter.ready.then(
    (i) => {
      state.info ??= i;
    },
    (error: unknown) => {
      // A painter killed before it was ready (a closing stream or server) did not fail.
      if (!state.closed && !(error instanceof StreamProcessGoneError)) options.log.error({ err: error, pid: painter.pid }, 'painter failed to start');
    },
  );
  return painter;
}

/** What each stream takes from the pool; costHint is shared by all the pool's streams. */
function streamSource(state: PoolState, options: StreamProcessPoolOptions): StreamProcessSource {
  const source: StreamProcessSource = {
    costHint: undefined,
    take() {
      const taken = state.spare && state.spare.state !== StreamProcessState.DEAD ? state.spare : spawn(state, options);
      state.spare = undefined;
      return taken;
    },
    /** Keeps one painter started ahead while no stream is live. */
    refillSpare() {
      if (state.closed || state.spare || state.streams > 0) return;
      state.spare = spawn(state, options);
    },
    streamClosed() {
      state.streams--;
      source.refillSpare();
    },
  };
  return source;
}
