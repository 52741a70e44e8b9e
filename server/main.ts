/**
 * Start-up: options → the first stream process (backend + network: start-up fails here if they
 * cannot load) → styles → HTTP + WebSocket → listen. The server process itself paints nothing:
 * live frames are painted in stream processes, video chunks in worker processes.
 * `close()` (and SIGTERM/SIGINT in `stylize serve`) stops accepting, closes every socket with
 * 1001 and kills every painter and worker. Safe to call twice.
 */
import { rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { DEFAULTS, type ServerOptions } from './config.js';
import { joinFarm } from './farm/gateway-farm.js';
import { createApp } from './http/app.js';
import { CLIENT_OUT, ensureClientBuilt } from './http/client-build.js';
import { createLogger, type Logger } from './logger.js';
import { SHIPPED_PAINTERS_DIR } from './paths.js';
import { createMetrics, type Metrics } from './metrics.js';
import { createPassthroughProcessor, type FrameProcessor } from './live/frame-processor.js';
import { createPaintTurns } from './live/paint-turns.js';
import { createStreamProcessPool } from './live/stream-process-pool.js';
import { createRoomDirectory } from './live/room-directory.js';
import { createSocketServer, type SocketServer } from './live/socket-server.js';
import { compileTrustProxy } from './security/client-address.js';
import { createOriginPolicy } from './security/origin-policy.js';
import { createPainterTraining, stylesWithoutPainter } from './painter/painter-training.js';
import { createStyleLibrary } from './styles/style-library.js';
import { DEFAULT_VIDEO_LIMITS } from './video/ffmpeg.js';
import { createFileBlobStore } from './jobs/blob-store.js';
import type { JobQueue } from './jobs/job-queue.js';
import { createLocalJobQueue } from './jobs/local/local-job-queue.js';

export interface RunningServer {
  url: string;
  port: number;
  backend: string;
  model: string;
  log: Logger;
  sockets: SocketServer;
  runner: JobQueue;
  processor: FrameProcessor;
  close(): Promise<void>;
}

/** Parts a caller may supply instead of the ones `options` would make (tests: a fake painter). */
export interface ServerParts {
  /** What paints live frames; the server closes it when it closes. */
  processor?: FrameProcessor;
  /**
   * CPU niceness of uploaded styles' background painter training (default 19): tests on a busy
   * 2-core machine use 0, or a lowest-priority child could wait minutes for the CPU.
   */
  trainingNiceness?: number;
}

export async function startServer(options: ServerOptions, parts: ServerParts = {}): Promise<RunningServer> {
  const log = createLogger(options.logLevel);
  await ensureClientBuilt();
  const trustProxy = compileTrustProxy(options.trustProxy);
  const origins = createOriginPolicy({ allowedOrigins: options.allowedOrigins, allowedHosts: options.allowedHosts });
  const uploadsDir = path.join(options.dataDir, 'styles');
  const metrics = createMetrics();
  const processor = parts.processor ?? (await startFrameProcessor(options, uploadsDir, log, metrics));

  const styles = createStyleLibrary({ stylesDir: options.stylesDir, uploadsDir, maxImagePixels: options.maxImagePixels });
  // Custom --weights: a painter trained by the CLI (shipped or --model weights) would not be the
  // streams' (its key names the network), so uploads do not learn one in the background then.
  const trainingSteps = options.weights || options.engine !== 'stylize' ? 0 : options.uploadPainterSteps;
  const painterTraining = createPainterTraining({
    steps: trainingSteps,
    dataDir: options.dataDir,
    stylesDir: options.stylesDir,
    modelsDir: options.modelsDir,
    model: options.model,
    ...(options.backend ? { backend: options.backend } : {}),
    liveSize: options.liveSize,
    log,
    ...(parts.trainingNiceness !== undefined ? { niceness: parts.trainingNiceness } : {}),
  });
  const liveDefaults = {
    style: styles.defaultId,
    size: options.liveSize,
    steps: options.liveSteps,
    contentWeight: DEFAULTS.contentWeight,
    styleWeight: DEFAULTS.styleWeight,
    preserveColors: DEFAULTS.preserveColors,
    targetFps: options.targetFps,
    motion: DEFAULTS.motion,
    temporalWeight: DEFAULTS.temporalWeight,
    painter: options.livePainter,
  };
  const limits = { ...DEFAULT_VIDEO_LIMITS, maxDurationS: options.maxVideoSeconds };
  /** Where farm workers reach this gateway (its port is known once it listens). */
  let advertised = options.advertiseUrl;
  const farm = options.redisUrl
    ? await joinFarm({ ...options, redisUrl: options.redisUrl }, { log, metrics, limits, home: () => advertised ?? '' }).catch(async (error: unknown) => {
        await processor.close();
        throw error;
      })
    : undefined;
  const directory =
    farm?.directory ??
    createRoomDirectory({
      maxRooms: options.maxRooms,
      idleMs: options.roomIdleMs,
      onExpire: (room) => log.info({ room }, 'room expired'),
    });
  const sockets = createSocketServer({
    processor,
    styles,
    metrics,
    log,
    maxFrameBytes: options.maxFrameBytes,
    defaults: liveDefaults,
    limits: { maxSize: options.maxLiveSize, maxSteps: options.maxLiveSteps },
    directory,
    origins,
    trustProxy,
    maxConnectionsPerIp: options.maxConnectionsPerIp,
    maxPublishFps: options.maxPublishFps,
    viewerStallMs: options.viewerStallMs,
    ...(farm ? { bus: farm.bus, gateway: farm.gateway } : {}),
  });
  const runner: JobQueue =
    farm?.jobs ??
    createLocalJobQueue({
      dataDir: options.dataDir,
      workers: options.workers || os.availableParallelism(),
      limits,
      model: options.model,
      weights: options.weights,
      modelsDir: options.modelsDir,
      seed: options.seed,
      backend: options.backend,
      log,
      metrics: metrics.jobs,
      maxJobCost: options.maxJobCost,
      maxJobsPerClient: options.maxJobsPerClient,
      maxQueuedJobs: options.maxQueuedJobs,
      retentionS: options.jobRetentionS,
    });
  // Uploads cut off by a crash are never finished: start with an empty upload area. A disk that
  // will not even let us delete must not stop the live side from starting.
  await rm(path.join(options.dataDir, 'uploads'), { recursive: true, force: true }).catch((error: unknown) =>
    log.warn({ err: error }, 'could not clear the upload area'),
  );
  const app = createApp({
    clientDir: CLIENT_OUT,
    styles,
    painterTraining,
    metrics,
    log,
    maxUploadBytes: options.maxUploadBytes,
    health: async () => ({ backend: processor.backend, model: processor.model, ...(farm ? { gateway: farm.gateway, ...(await farm.jobs.health()) } : {}) }),
    ...(farm ? { farm: { blobs: createFileBlobStore(path.join(options.dataDir, 'jobs')), secret: farm.jobs.secret } } : {}),
    jobs: {
      runner,
      uploadsDir: path.join(options.dataDir, 'uploads'),
      maxVideoBytes: options.maxVideoBytes,
      minFreeBytes: options.minFreeBytes,
      maxImagePixels: options.maxImagePixels,
    },
    liveDefaults,
    directory,
    origins,
    trustProxy,
    roomsPerMinute: options.roomsPerMinute,
  });
  const server = http.createServer(app);
  sockets.attach(server);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => resolve());
    });
  } catch (error) {
    // Port taken, say: nothing started here may outlive the failed start.
    await sockets.close();
    await processor.close();
    if (farm) await farm.close();
    else {
      await runner.close();
      await directory.close();
    }
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  const url = `http://${options.host === '0.0.0.0' ? 'localhost' : options.host}:${port}`;
  advertised ??= `http://${options.host === '0.0.0.0' || options.host === '::' ? os.hostname() : options.host}:${port}`;
  // Unfinished jobs resume (worker processes start) only once the server is up (and its URL known).
  await runner.resume();
  // Uploads an earlier run did not finish teaching, and styles-directory images, learn theirs now.
  if (trainingSteps > 0) {
    void stylesWithoutPainter(styles, [path.join(options.dataDir, 'painters'), SHIPPED_PAINTERS_DIR], processor.model)
      .then((ids) => {
        if (ids.length > 0) log.info({ styles: ids.length }, 'styles without a live painter learn theirs in the background');
        for (const id of ids) painterTraining.enqueue(id);
      })
      .catch((error: unknown) => log.warn({ err: error }, 'could not look for styles without a painter'));
  }
  log.info({ port }, `stylize-live listening on ${url}`);

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    backend: processor.backend,
    model: processor.model,
    log,
    sockets,
    runner,
    processor,
    close() {
      closing ??= (async () => {
        await sockets.close();
        await Promise.all([farm ? farm.close() : runner.close(), processor.close(), painterTraining.close()]);
        if (!farm) await directory.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        log.info('stopped');
      })();
      return closing;
    },
  };
}

/**
 * The live painters (a process per stream, the first started now: a bad model or backend fails
 * the start here, with its own message), or frames returned unpainted for fan-out load tests.
 */
async function startFrameProcessor(options: ServerOptions, uploadsDir: string, log: Logger, metrics: Metrics): Promise<FrameProcessor> {
  if (options.engine === 'passthrough') return createPassthroughProcessor();
  const pool = createStreamProcessPool({
    init: {
      model: options.model,
      weights: options.weights,
      modelsDir: options.modelsDir,
      seed: options.seed,
      backend: options.backend,
      threads: options.wasmThreads,
      stylesDir: options.stylesDir,
      uploadsDir,
      maxImagePixels: options.maxImagePixels,
      maxWorkPixels: options.maxWorkPixels,
      minWorkingSize: options.minWorkingSize,
      paintersDir: path.join(options.dataDir, 'painters'),
    },
    turns: createPaintTurns(1),
    maxStreams: options.maxLiveStreams,
    maxFrameMs: options.maxFrameMs,
    freeFrameMs: options.freeFrameMs,
    log,
    onAbandoned: () => metrics.framesAbandoned.inc(),
  });
  const info = await pool.ready().catch(async (error: unknown) => {
    await pool.close();
    throw error;
  });
  log.info({ backend: info.backend, threads: info.threads, model: info.model }, `painting with ${info.description} on ${info.backend}`);
  return pool;
}
