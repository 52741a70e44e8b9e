/**
 * Prometheus metrics (prom-client), one registry per server so tests can run several.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Chunk counts by state (waiting, active, …), read when /metrics is scraped. */
export type QueueDepthSource = () => Promise<Record<string, number>>;

/** A scrape waits this long for the queue depth at most (its store may be away): /metrics never hangs. */
export const QUEUE_DEPTH_WAIT_MS = 500;

/** How a video chunk went, wherever it was painted. */
export interface ChunkReport {
  /** Which worker: `<host>/<pid>/<slot>` on the farm, `local/<slot>` in-process. */
  worker: string;
  frames: number;
  /** From queued to painted and stored. */
  totalS: number;
  /** Waiting for a worker. */
  waitS: number;
  /** Fetching the input and storing the segment (0 in-process: the files are here). */
  transferS: number;
  paintS: number;
}

export interface JobMetrics {
  chunkSeconds: Histogram<'phase'>;
  workerFrames: Counter<'worker'>;
  workerPaintSeconds: Counter<'worker'>;
  workerFps: Gauge<'worker'>;
  queueDepth: Gauge<'state'>;
  /** Where queue depth comes from (the job backend sets it once). */
  setQueueDepthSource(source: QueueDepthSource): void;
  observeChunk(report: ChunkReport): void;
}

export interface Metrics {
  registry: Registry;
  framesIn: Counter;
  framesOut: Counter;
  framesDropped: Counter;
  frameErrors: Counter;
  framesAbandoned: Counter;
  stylizeSeconds: Histogram;
  connections: Gauge<'role'>;
  jobs: JobMetrics;
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
    jobs: createJobMetrics(registry),
  };
}

function createJobMetrics(registry: Registry): JobMetrics {
  let depth: QueueDepthSource | undefined;
  /** The read in progress: scrapes while it is slow share it instead of piling up more. */
  let reading: Promise<Record<string, number> | undefined> | undefined;
  const readDepth = (source: QueueDepthSource): Promise<Record<string, number> | undefined> => {
    reading ??= source()
      .catch(() => undefined)
      .finally(() => (reading = undefined));
    const timeUp = new Promise<undefined>((resolve) => {
      const timer = setTimeout(resolve, QUEUE_DEPTH_WAIT_MS) as unknown as { unref?: () => void };
      timer.unref?.();
    });
    return Promise.race([reading, timeUp]);
  };
  const chunkSeconds = new Histogram({
    name: 'stylize_chunk_seconds',
    help: 'Video chunk latency by phase: wait (for a worker), transfer (input and segment), paint, total',
    labelNames: ['phase'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers: [registry],
  });
  const workerFrames = new Counter({ name: 'stylize_worker_frames_total', help: 'Video frames painted, per worker', labelNames: ['worker'], registers: [registry] });
  const workerPaintSeconds = new Counter({ name: 'stylize_worker_paint_seconds_total', help: 'Time spent painting chunks, per worker', labelNames: ['worker'], registers: [registry] });
  const workerFps = new Gauge({ name: 'stylize_worker_fps', help: 'Frames per second of the last chunk, per worker (throughput)', labelNames: ['worker'], registers: [registry] });
  const queueDepth = new Gauge({
    name: 'stylize_job_queue_depth',
    help: 'Video chunks by state (waiting for a worker, active) and jobs waiting or running',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      if (!depth) return;
      this.reset();
      // The queue's store is unreachable or slow: /healthz says so; no stale figures here.
      for (const [state, n] of Object.entries((await readDepth(depth)) ?? {})) this.set({ state }, n);
    },
  });
  return {
    chunkSeconds,
    workerFrames,
    workerPaintSeconds,
    workerFps,
    queueDepth,
    setQueueDepthSource(source) {
      depth = source;
    },
    observeChunk(report) {
      chunkSeconds.observe({ phase: 'total' }, report.totalS);
      chunkSeconds.observe({ phase: 'wait' }, report.waitS);
      chunkSeconds.observe({ phase: 'transfer' }, report.transferS);
      chunkSeconds.observe({ phase: 'paint' }, report.paintS);
      workerFrames.inc({ worker: report.worker }, report.frames);
      workerPaintSeconds.inc({ worker: report.worker }, report.paintS);
      if (report.paintS > 0) workerFps.set({ worker: report.worker }, Math.round((report.frames / report.paintS) * 100) / 100);
    },
  };
}
