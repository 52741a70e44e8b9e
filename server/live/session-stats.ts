/**
 * One live stream's counts, rates and averages (stream-stats.ts), kept with the server's metrics,
 * and the `stats` message its room gets about once a second.
 */
import type { Metrics } from '../metrics.js';
import type { StylizedFrame } from './frame.js';
import type { LiveSettings } from './live-settings.js';
import { publicTargetFps, type StatsMessage } from './protocol.js';
import { createAverage, createRate } from './stream-stats.js';

export interface SessionStats {
  /** A frame taken in. */
  frameIn(): void;
  /** A frame dropped: replaced by a newer one before its turn, or refused on arrival. */
  frameDropped(): void;
  /** A frame painted; `latencyMs` from its arrival at the server. */
  painted(frame: StylizedFrame): void;
  latency(ms: number): void;
  message(viewers: number, settings: LiveSettings, model: string): StatsMessage;
}

export function createSessionStats(metrics: Metrics): SessionStats {
  const counters = { framesIn: 0, framesOut: 0, framesDropped: 0 };
  const inRate = createRate();
  const outRate = createRate();
  const stylizeMs = createAverage();
  const queueAge = createAverage();
  /** Arrival at the server → painted frame ready to send. */
  const latency = createAverage();
  let last: StylizedFrame | undefined;
  return {
    frameIn() {
      counters.framesIn++;
      inRate.tick();
      metrics.framesIn.inc();
    },
    frameDropped() {
      counters.framesDropped++;
      metrics.framesDropped.inc();
    },
    painted(frame) {
      counters.framesOut++;
      outRate.tick();
      stylizeMs.add(frame.processMs);
      queueAge.add(frame.queueAgeMs);
      metrics.framesOut.inc();
      metrics.stylizeSeconds.observe(frame.processMs / 1000);
      last = frame;
    },
    latency: (ms) => latency.add(ms),
    message(viewers, settings, model) {
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
        latencyMs: Math.round(latency.value),
        targetFps: publicTargetFps(settings.targetFps),
        viewers,
        model,
        style: settings.style,
        painter: painterStats(last),
      };
    },
  };
}

function painterStats(last: StylizedFrame | undefined): StatsMessage['painter'] {
  if (!last?.painter) return null;
  const { state, steps, framesSeen, loss, shownLoss, blend } = last.painter;
  return { state, steps, framesSeen, loss: loss ?? null, shownLoss: shownLoss ?? null, ...(blend ? { blend } : {}) };
}
