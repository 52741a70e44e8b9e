/**
 * Start-up: options → the first stream process (backend + network: start-up fails here if they
 * cannot load) → styles → HTTP + WebSocket → listen. The server process itself paints nothing:
 * live frames are painted in stream processes, video chunks in chunk processes (or on the farm).
 * `close()` (and SIGTERM/SIGINT in `stylize serve`) stops accepting, closes every socket with
 * 1001 and ends every stream, chunk and training process. Safe to call twice.
 */
import { rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { ServerOptions } from './config.js';
import { joinFarm, type GatewayFarm } from './farm/gateway-farm.js';
import { createApp, type AppDeps } from './http/app.js';
import { CLIENT_OUT, ensureClientBuilt } from './http/client-build.js';
import { defaultAdvertiseUrl, isLoopbackHost, localUrl } from './listen-address.js';
import { createLogger, type Logger } from './logger.js';
import { SHIPPED_PAINTERS_DIR } from './paths.js';
import { createMetrics, type Metrics } from './metrics.js';
import { createPassthroughProcessor, type FrameProcessor } from './live/frame-processor.js';
import { liveDefaults, type LiveSettings } from './live/live-settings.js';
import { createPaintTurns } from './live/paint-turns.js';
import { createStreamProcessPool } from './live/stream-process-pool.js';
import { createRoomDirectory, type RoomDirectory } from './live/room-directory.js';
import { createSocketServer, type SocketServer } from './live/socket-server.js';
import { compileTrustProxy, type TrustFunction } from './security/client-address.js';
import { createOriginPolicy, type OriginPolicy } from './security/origin-policy.js';
import { createPainterTraining, stylesWithoutPainter, type PainterTraining } from './painter/painter-training.js';
import { createStyleLibrary, type StyleLibrary } from './styles/style-library.js';
import { DEFAULT_VIDEO_LIMITS, type VideoLimits } from './video/ffmpeg.js';
import { createFileBlobStore } from './jobs/blob-store.js';
import type { JobQueue } from './jobs/job-queue.js';
import { createLocalJobQueue } from './jobs/local/local-job-queue.js';

export interface RunningServer {
  url: string;
  /** The address it listens on ('127.0.0.1' unless --host said otherwise). */
  address: string;
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
  const metrics = createMetrics();
  // The same guards for the WebSocket upgrade and for HTTP.
  const guards = { origins: createOriginPolicy({ allowedOrigins: options.allowedOrigins, allowedHosts: options.allowedHosts }), trustProxy: compileTrustProxy(options.trustProxy) };
  const processor = parts.processor ?? (await startFrameProcessor(options, log, metrics));
  const styles = createStyleLibrary({
    stylesDir: options.stylesDir,
    uploadsDir: uploadsDirOf(options),
    maxImagePixels: options.maxImagePixels,
    uploads: { maxPerClient: options.maxStylesPerClient, maxTotal: options.maxUploadedStyles, retentionMs: options.styleRetentionS * 1000 },
  });
  const training = startPainterTraining(options, log, parts);
  const limits = { ...DEFAULT_VIDEO_LIMITS, maxDurationS: options.maxVideoSeconds };
  /** Where farm workers reach this gateway (its port is known once it listens). */
  let advertised = options.advertiseUrl;
  const farm = options.redisUrl
    ? await joinFarm({ ...options, redisUrl: options.redisUrl }, { log, metrics, limits, home: () => advertised ?? '' }).catch(async (error: unknown) => {
        await processor.close();
        throw error;
      })
    : undefined;
  const directory = farm?.directory ?? createLocalRoomDirectory(options, log);
  const live = { defaults: liveDefaults(options, styles.defaultId), limits: { maxSize: options.maxLiveSize, maxSteps: options.maxLiveSteps } };
  const sockets = createSocketServer({
    processor,
    styles,
    metrics,
    log,
    maxFrameBytes: options.maxFrameBytes,
    defaults: live.defaults,
    limits: live.limits,
    directory,
    ...guards,
    maxConnectionsPerIp: options.maxConnectionsPerIp,
    maxPublishFps: options.maxPublishFps,
    viewerStallMs: options.viewerStallMs,
    ...(farm ? { bus: farm.bus, gateway: farm.gateway } : {}),
  });
  const runner = farm?.jobs ?? createLocalRunner(options, { log, metrics, limits });
  const services: Services = { log, processor, painterTraining: training.training, farm, directory, sockets, runner, styleSweeper: sweepStyles(styles, log) };
  await clearUploadArea(options, log);
  const server = http.createServer(createApp(appDeps(options, services, { metrics, styles, live, ...guards })));
  sockets.attach(server);
  await listen(server, options).catch(async (error: unknown) => {
    // Port taken, say: nothing started here may outlive the failed start.
    await closeServices(services);
    throw error;
  });
  const { port, address } = server.address() as AddressInfo;
  const url = localUrl(options.host, port);
  if (farm && !advertised && isLoopbackHost(options.host)) {
    log.warn({ host: options.host }, 'this gateway listens on loopback only: farm workers on other machines cannot fetch its files; listen with --host 0.0.0.0 or set --advertise-url');
  }
  advertised ??= defaultAdvertiseUrl(options.host, port);
  if (farm) log.info({ advertised }, `farm workers fetch this gateway's files from ${advertised}`);
  // Unfinished jobs resume (worker processes start) only once the server is up (and its URL known).
  await runner.resume();
  if (training.steps > 0) teachStylesWithoutPainter(options, styles, processor, training.training, log);
  log.info({ port, host: options.host }, `stylize-live listening on ${url}${isLoopbackHost(options.host) ? ' (this machine only: --host 0.0.0.0 shares it on your network)' : ''}`);
  return runningServer({ url, address, port, server, services });
}

/** What a started server is made of, in the order `close()` ends them. */
interface Services {
  log: Logger;
  processor: FrameProcessor;
  painterTraining: PainterTraining;
  farm: GatewayFarm | undefined;
  directory: RoomDirectory;
  sockets: SocketServer;
  runner: JobQueue;
  styleSweeper: NodeJS.Timeout;
}

/** How often uploaded styles past their retention are looked for (and once at start). */
const STYLE_SWEEP_MS = 3600_000;

function sweepStyles(styles: StyleLibrary, log: Logger): NodeJS.Timeout {
  const sweep = (): void => {
    styles
      .sweep()
      .then((ids) => ids.length > 0 && log.info({ styles: ids.length }, 'uploaded styles nobody painted with for the retention time were deleted'))
      .catch((error: unknown) => log.warn({ err: error }, 'could not sweep uploaded styles'));
  };
  sweep();
  return setInterval(sweep, STYLE_SWEEP_MS).unref();
}

/** Sockets first (no new frames), then everything that paints or waits for work, then the rooms. */
async function closeServices(s: Services): Promise<void> {
  clearInterval(s.styleSweeper);
  await s.sockets.close();
  await Promise.all([s.farm ? s.farm.close() : s.runner.close(), s.processor.close(), s.painterTraining.close()]);
  if (!s.farm) await s.directory.close();
}

function runningServer(started: { url: string; address: string; port: number; server: http.Server; services: Services }): RunningServer {
  const { server, services } = started;
  let closing: Promise<void> | undefined;
  return {
    url: started.url,
    address: started.address,
    port: started.port,
    backend: services.processor.backend,
    model: services.processor.model,
    log: services.log,
    sockets: services.sockets,
    runner: services.runner,
    processor: services.processor,
    close() {
      closing ??= (async () => {
        await closeServices(services);
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        services.log.info('stopped');
      })();
      return closing;
    },
  };
}

function uploadsDirOf(options: ServerOptions): string {
  return path.join(options.dataDir, 'styles');
}

function listen(server: http.Server, options: ServerOptions): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
}

/**
 * Uploaded styles learn their live painter in the background. Not with custom --weights: a
 * painter trained by the CLI (shipped or --model weights) would not be the streams' (its key
 * names the network), so uploads do not learn one then.
 */
function startPainterTraining(options: ServerOptions, log: Logger, parts: ServerParts): { training: PainterTraining; steps: number } {
  const steps = options.weights || options.engine !== 'stylize' ? 0 : options.uploadPainterSteps;
  const training = createPainterTraining({
    steps,
    dataDir: options.dataDir,
    stylesDir: options.stylesDir,
    modelsDir: options.modelsDir,
    model: options.model,
    ...(options.backend ? { backend: options.backend } : {}),
    liveSize: options.liveSize,
    kind: options.livePainter === 'keyframes' ? 'stroke' : 'gram',
    log,
    ...(parts.trainingNiceness !== undefined ? { niceness: parts.trainingNiceness } : {}),
  });
  return { training, steps };
}

/** Uploads an earlier run did not finish teaching, and styles-directory images, learn theirs now. */
function teachStylesWithoutPainter(options: ServerOptions, styles: StyleLibrary, processor: FrameProcessor, training: PainterTraining, log: Logger): void {
  void stylesWithoutPainter(styles, [path.join(options.dataDir, 'painters'), SHIPPED_PAINTERS_DIR], processor.model, options.livePainter === 'keyframes' ? 'stroke' : 'gram')
    .then((ids) => {
      if (ids.length > 0) log.info({ styles: ids.length }, 'styles without a live painter learn theirs in the background');
      for (const id of ids) training.enqueue(id);
    })
    .catch((error: unknown) => log.warn({ err: error }, 'could not look for styles without a painter'));
}

function createLocalRoomDirectory(options: ServerOptions, log: Logger): RoomDirectory {
  return createRoomDirectory({
    maxRooms: options.maxRooms,
    idleMs: options.roomIdleMs,
    onExpire: (room) => log.info({ room }, 'room expired'),
  });
}

/** Video jobs in this machine's worker processes, files in the data directory. */
function createLocalRunner(options: ServerOptions, deps: { log: Logger; metrics: Metrics; limits: VideoLimits }): JobQueue {
  return createLocalJobQueue({
    dataDir: options.dataDir,
    workers: options.workers || os.availableParallelism(),
    limits: deps.limits,
    model: options.model,
    weights: options.weights,
    modelsDir: options.modelsDir,
    seed: options.seed,
    backend: options.backend,
    log: deps.log,
    metrics: deps.metrics.jobs,
    maxJobCost: options.maxJobCost,
    maxJobsPerClient: options.maxJobsPerClient,
    maxQueuedJobs: options.maxQueuedJobs,
    retentionS: options.jobRetentionS,
  });
}

/**
 * Uploads cut off by a crash are never finished: start with an empty upload area. A disk that
 * will not even let us delete must not stop the live side from starting.
 */
async function clearUploadArea(options: ServerOptions, log: Logger): Promise<void> {
  await rm(path.join(options.dataDir, 'uploads'), { recursive: true, force: true }).catch((error: unknown) =>
    log.warn({ err: error }, 'could not clear the upload area'),
  );
}

interface AppParts {
  metrics: Metrics;
  styles: StyleLibrary;
  live: { defaults: LiveSettings; limits: { maxSize: number; maxSteps: number } };
  origins: OriginPolicy;
  trustProxy: TrustFunction;
}

/** The HTTP side's view of the server: what its routes read and may change. */
function appDeps(options: ServerOptions, services: Services, app: AppParts): AppDeps {
  const { farm, processor } = services;
  return {
    clientDir: CLIENT_OUT,
    styles: app.styles,
    painterTraining: services.painterTraining,
    metrics: app.metrics,
    log: services.log,
    styleUploads: { maxBytes: options.maxUploadBytes, dir: uploadsDirOf(options), minFreeBytes: options.minFreeBytes, perMinute: options.styleUploadsPerMinute },
    health: async () => ({ backend: processor.backend, model: processor.model, ...(farm ? { gateway: farm.gateway, ...(await farm.jobs.health()) } : {}) }),
    ...(farm ? { farm: { blobs: createFileBlobStore(path.join(options.dataDir, 'jobs')), secret: farm.jobs.secret } } : {}),
    jobs: {
      runner: services.runner,
      uploadsDir: path.join(options.dataDir, 'uploads'),
      maxVideoBytes: options.maxVideoBytes,
      minFreeBytes: options.minFreeBytes,
      maxImagePixels: options.maxImagePixels,
      eventStreams: { perClient: options.maxEventStreamsPerClient, total: options.maxEventStreams },
    },
    liveDefaults: app.live.defaults,
    liveLimits: app.live.limits,
    loopbackOnly: isLoopbackHost(options.host),
    directory: services.directory,
    origins: app.origins,
    trustProxy: app.trustProxy,
    roomsPerMinute: options.roomsPerMinute,
  };
}

/**
 * The live painters (a process per stream, the first started now: a bad model or backend fails
 * the start here, with its own message), or frames returned unpainted for fan-out load tests.
 */
async function startFrameProcessor(options: ServerOptions, log: Logger, metrics: Metrics): Promise<FrameProcessor> {
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
      uploadsDir: uploadsDirOf(options),
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
