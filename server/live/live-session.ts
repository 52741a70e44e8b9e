/**
 * One published stream: frames in → (its turn at the painter) → latest frame wins → paint → out,
 * as an RxJS pipeline. The painting itself happens in the stream's own stream process (or
 * whatever FrameProcessor the server was given); this side only moves bytes and counts.
 * Settings a publisher asks for are clamped to the server's limits, and it is told so.
 */
import { Subject, catchError, EMPTY, finalize, from, type Subscription } from 'rxjs';
import { ErrorCode, StylizeError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { StreamProcessor } from './frame-processor.js';
import type { LiveSettings } from './stream-process/frame-stylizer.js';
import type { IncomingFrame, StylizedFrame } from './frame.js';
import { latestWins } from './latest-wins.js';
import type { Turn } from './paint-turns.js';
import { createSessionStats, type SessionStats } from './session-stats.js';
import { UnknownStyleError, type StyleLibrary } from '../styles/style-library.js';
import type { ConfigMessage, StatsMessage } from './protocol.js';

/** The server's limits on what one stream may ask for. */
export interface LiveLimits {
  maxSize: number;
  maxSteps: number;
}

/** Fields a publisher asked for beyond the server's limits, and what it got. */
export type Limited = Partial<Record<'size' | 'steps', { asked: number; used: number }>>;

export interface LiveSessionDeps {
  stream: StreamProcessor;
  model: string;
  styles: StyleLibrary;
  metrics: Metrics;
  log: Logger;
  defaults: LiveSettings;
  limits: LiveLimits;
  onFrame: (frame: StylizedFrame) => void;
  /** A recoverable problem with one frame or message, for the publisher. */
  onError: (code: string, message: string) => void;
}

export interface LiveSession {
  push(frame: IncomingFrame): void;
  /** Count a frame refused on arrival (over the publisher's frame-rate cap). */
  drop(): void;
  /** Applies a config message from the next frame on; rejects an unknown style. */
  configure(message: ConfigMessage): Promise<{ settings: LiveSettings; limited: Limited }>;
  settings(): LiveSettings;
  stats(viewers: number): StatsMessage;
  close(): void;
}

/** Clamps the fields a client may set beyond the server's limits. */
export function clampSettings(settings: LiveSettings, limits: LiveLimits): { settings: LiveSettings; limited: Limited } {
  const limited: Limited = {};
  const next = { ...settings };
  if (next.size > limits.maxSize) {
    limited.size = { asked: next.size, used: limits.maxSize };
    next.size = limits.maxSize;
  }
  if (next.steps > limits.maxSteps) {
    limited.steps = { asked: next.steps, used: limits.maxSteps };
    next.steps = limits.maxSteps;
  }
  return { settings: next, limited };
}

export function createLiveSession(deps: LiveSessionDeps): LiveSession {
  let settings: LiveSettings = clampSettings(deps.defaults, deps.limits).settings;
  const stats = createSessionStats(deps.metrics);
  let closed = false;
  const input = new Subject<IncomingFrame>();
  const subscription = paintPipeline(input, deps, stats, {
    settings: () => settings,
    closed: () => closed,
  });

  return {
    push(frame) {
      if (closed) return;
      stats.frameIn();
      input.next(frame);
    },
    drop() {
      stats.frameIn();
      stats.frameDropped();
    },
    async configure(message) {
      const clamped = clampSettings(await nextSettings(() => settings, message, deps), deps.limits);
      settings = clamped.settings;
      return { settings: { ...settings }, limited: clamped.limited };
    },
    settings: () => ({ ...settings }),
    stats: (viewers) => stats.message(viewers, settings, deps.model),
    close() {
      if (closed) return;
      closed = true;
      input.complete();
      subscription.unsubscribe();
    },
  };
}

/**
 * Frames in → (the stream's turn) → latest frame wins → painted with the settings of the moment
 * → onFrame. A frame that fails costs that frame only: the publisher is told, the stream goes on.
 */
function paintPipeline(
  input: Subject<IncomingFrame>,
  deps: LiveSessionDeps,
  stats: SessionStats,
  session: { settings: () => LiveSettings; closed: () => boolean },
): Subscription {
  const paint = (frame: IncomingFrame, turn: Turn) =>
    from(
      deps.stream.process(frame, session.settings(), turn).then((out) => {
        stats.latency(performance.now() - frame.receivedAt);
        return out;
      }),
    ).pipe(
      catchError((error: unknown) => {
        if (session.closed()) return EMPTY;
        deps.metrics.frameErrors.inc();
        const code = frameErrorCode(error);
        if (code === ErrorCode.FRAME_FAILED) deps.log.error({ err: error, seq: frame.seq }, 'frame failed');
        deps.onError(code, code === ErrorCode.FRAME_FAILED ? 'the frame could not be painted; the next one will be' : (error as Error).message);
        return EMPTY;
      }),
    );
  return input
    .pipe(
      latestWins(paint, () => stats.frameDropped(), { acquire: () => deps.stream.turn(), release: (turn) => turn.release() }),
      finalize(() => deps.stream.close()),
    )
    .subscribe((frame: StylizedFrame) => {
      stats.painted(frame);
      deps.onFrame(frame);
    });
}

/** The settings with a config message's changes (not yet clamped); rejects an unknown style. */
async function nextSettings(current: () => LiveSettings, message: ConfigMessage, deps: Pick<LiveSessionDeps, 'styles'>): Promise<LiveSettings> {
  const { type: _type, ...changes } = message;
  if (changes.style !== undefined && !(await deps.styles.has(changes.style))) {
    throw new UnknownStyleError(changes.style);
  }
  // The settings as they are once the style is known (another message may have changed them meanwhile).
  const next = { ...current() };
  for (const [key, value] of Object.entries(changes)) {
    if (value !== undefined) (next as Record<string, unknown>)[key] = key === 'targetFps' && value === null ? 0 : value;
  }
  return next;
}

/** The code a publisher sees for a frame that failed: never one that closes the stream. */
function frameErrorCode(error: unknown): string {
  if (!(error instanceof StylizeError)) return ErrorCode.FRAME_FAILED;
  switch (error.code) {
    case ErrorCode.NOT_AN_IMAGE:
    case ErrorCode.TOO_LARGE:
    case ErrorCode.BAD_FRAME:
      return ErrorCode.BAD_FRAME;
    case ErrorCode.UNKNOWN_STYLE:
    case ErrorCode.FRAME_ABANDONED:
      return error.code;
    default:
      return ErrorCode.FRAME_FAILED;
  }
}
