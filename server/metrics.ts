/**
 * Prometheus metrics (prom-client), one registry per server so tests can run several.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  framesIn: Counter;
  framesOut: Counter;
  framesDropped: Counter;
  frameErrors: Counter;
  framesAbandoned: Counter;
  stylizeSeconds: Histogram;
  connections: Gauge<'role'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    framesIn: new Counter({ name: 'stylize_frames_in_total', help: 'Frames received from publishers', registers: [registry] }),
    framesOut: new Counter({ name: 'stylize_frames_out_total', help: 'Stylized frames produced', registers: [registry] }),
    framesDropped: new Counter({
      name: 'stylize_frames_dropped_total',
      help: 'Frames replaced by a newer one before they were stylized (latest frame wins)',
      registers: [registry],
    }),
    frameErrors: new Counter({ name: 'stylize_frame_errors_total', help: 'Frames that could not be decoded or stylized', registers: [registry] }),
    framesAbandoned: new Counter({
      name: 'stylize_frames_abandoned_total',
      help: 'Live frames given up after the hard time limit (their painter was replaced)',
      registers: [registry],
    }),
    stylizeSeconds: new Histogram({
      name: 'stylize_frame_seconds',
      help: 'Time to decode, stylize and encode one frame',
      buckets: [0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4],
      registers: [registry],
    }),
    connections: new Gauge({ name: 'stylize_connections', help: 'Open WebSocket connections', labelNames: ['role'], registers: [registry] }),
  };
}
