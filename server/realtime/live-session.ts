/**
 * One published stream: frames in → latest frame wins → stylize → out, as an RxJS pipeline.
 * Owns its stylizer (not the shared network) and frees it when the stream ends.
 */
import { Subject, catchError, EMPTY, finalize, from, type Subscription } from 'rxjs';
import type { FeatureNetwork } from '../engine/networks/network.js';
import { createStylizer } from '../engine/stylizer.js';
import { ErrorCode, StylizeError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { createFrameStylizer, type LiveSettings } from '../pipeline/frame-stylizer.js';
import type { IncomingFrame, StylizedFrame } from '../pipeline/frame.js';
import { latestWins } from '../pipeline/latest-wins.js';
import { createAverage, createRate } from '../pipeline/stream-stats.js';
import { UnknownStyleError, type StyleLibrary } from '../styles/style-library.js';
import { encodeFrame, publicTargetFps, type ConfigMessage, type StatsMessage } from './protocol.js';

export interface LiveSessionDeps {
  network: FeatureNetwork;
  styles: StyleLibrary;
  metrics: Metrics;
  log: Logger;
  defaults: LiveSettings;
  onFrame: (frame: StylizedFrame) => void;
  /** A recoverable problem with one frame or message, for the publisher. */
  onError: (code: string, message: string) => void;
  /** Return frames as they came, unpainted: load tests of the fan-out only. */
  passthrough?: boolean;
}

export interface LiveSession {
  push(frame: IncomingFrame): void;
  /** Count a frame refused on arrival (over the publisher's frame-rate cap). */
  drop(): void;
  /** Applies a config message from the next frame on; rejects an unknown style. */
  configure(message: ConfigMessage): Promise<void>;
  settings(): LiveSettings;
  stats(viewers: number): StatsMessage;
  close(): void;
}

/** The frame as it came, with the stream's header: what the fan-out bench measures. */
async function passthrough(frame: IncomingFrame): Promise<StylizedFrame> {
  return {
    seq: frame.seq,
    timestampMs: frame.timestampMs,
    message: encodeFrame(frame, frame.jpeg),
    width: 0,
    height: 0,
    steps: 0,
    workWidth: 0,
    workHeight: 0,
    warmStarted: false,
    processMs: performance.now() - frame.receivedAt,
    stylizeMs: 0,
    queueAgeMs: 0,
  };
}

export function createLiveSession(deps: LiveSessionDeps): LiveSession {
  const stylizer = createStylizer(deps.network, {}, { ownsNetwork: false });
  const frames = createFrameStylizer({
    stylizer,
    minSide: deps.network.minSide,
    styleImage: (id, longSide) => deps.styles.decoded(id, longSide, deps.network.minSide),
  });
  let settings: LiveSettings = { ...deps.defaults };
  const counters = { framesIn: 0, framesOut: 0, framesDropped: 0 };
  const inRate = createRate();
  const outRate = createRate();
  const stylizeMs = createAverage();
  const queueAge = createAverage();
  let last: StylizedFrame | undefined;
  let closed = false;

  const input = new Subject<IncomingFrame>();
  const subscription: Subscription = input
    .pipe(
      latestWins(
        (frame) =>
          from(deps.passthrough ? passthrough(frame) : frames.process(frame, settings)).pipe(
            catchError((error: unknown) => {
              // A bad frame costs that frame only; the stream goes on.
              deps.metrics.frameErrors.inc();
              const code = error instanceof StylizeError && error.code === ErrorCode.NOT_AN_IMAGE ? ErrorCode.BAD_FRAME : ErrorCode.INTERNAL;
              if (code === ErrorCode.INTERNAL) deps.log.error({ err: error, seq: frame.seq }, 'frame failed');
              deps.onError(code, error instanceof Error ? error.message : String(error));
              return EMPTY;
            }),
          ),
        () => {
          counters.framesDropped++;
          deps.metrics.framesDropped.inc();
        },
      ),
      finalize(() => stylizer.dispose()),
    )
    .subscribe((frame) => {
      counters.framesOut++;
      outRate.tick();
      stylizeMs.add(frame.processMs);
      queueAge.add(frame.queueAgeMs);
      deps.metrics.framesOut.inc();
      deps.metrics.stylizeSeconds.observe(frame.processMs / 1000);
      last = frame;
      deps.onFrame(frame);
    });

  return {
    push(frame) {
      if (closed) return;
      counters.framesIn++;
      inRate.tick();
      deps.metrics.framesIn.inc();
      input.next(frame);
    },
    drop() {
      counters.framesIn++;
      counters.framesDropped++;
      inRate.tick();
      deps.metrics.framesIn.inc();
      deps.metrics.framesDropped.inc();
    },
    async configure(message) {
      const { type: _type, ...changes } = message;
      if (changes.style !== undefined && !(await deps.styles.has(changes.style))) {
        throw new UnknownStyleError(changes.style);
      }
      const next = { ...settings };
      for (const [key, value] of Object.entries(changes)) {
        if (value !== undefined) (next as Record<string, unknown>)[key] = key === 'targetFps' && value === null ? 0 : value;
      }
      settings = next;
    },
    settings: () => ({ ...settings }),
    stats(viewers) {
      return {
        type: 'stats',
        inputFps: inRate.perSecond(),
        outputFps: outRate.perSecond(),
        ...counters,
        stepsPerFrame: last?.steps ?? settings.steps,
        width: last?.workWidth ?? 0,
        height: last?.workHeight ?? 0,
        stylizeMs: Math.round(stylizeMs.value),
        queueAgeMs: Math.round(queueAge.value),
        targetFps: publicTargetFps(settings.targetFps),
        viewers,
        model: deps.network.name,
        style: settings.style,
      };
    },
    close() {
      if (closed) return;
      closed = true;
      input.complete();
      subscription.unsubscribe();
    },
  };
}
