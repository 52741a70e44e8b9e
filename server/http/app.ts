/**
 * The Express app: the browser client, health, styles, rooms, jobs, metrics, and one error
 * mapping. In front of everything: the Host check (with --allowed-hosts) and, for requests that
 * change something, the Origin check — the same policy the WebSocket upgrade applies.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { type ErrorRequestHandler } from 'express';
import multer from 'multer';
import { BusyError, ErrorCode, ForbiddenError, NoSpaceError, RateLimitedError, RedisUnavailableError, StylizeError, httpStatusFor, isNoSpace } from '../errors.js';
import { redisFailure } from '../farm/redis.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { StyleLibrary } from '../styles/style-library.js';
import type { LiveSettings } from '../live/live-settings.js';
import type { JobQueue } from '../jobs/job-queue.js';
import type { BlobStore } from '../jobs/blob-store.js';
import { blobRoutes } from './blob-routes.js';
import { jobsRoutes } from './jobs-routes.js';
import { pageConfig } from './page-config.js';
import { roomsRoutes } from './rooms-routes.js';
import type { PainterTraining } from '../painter/painter-training.js';
import { stylesRoutes } from './styles-routes.js';
import type { RoomDirectory } from '../live/room-directory.js';
import type { TrustFunction } from '../security/client-address.js';
import type { OriginPolicy } from '../security/origin-policy.js';
import { UploadError } from './upload.js';

/** Error texts stay short: some quote what a client sent. */
const MAX_ERROR_TEXT = 300;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface AppDeps {
  clientDir: string;
  styles: StyleLibrary;
  /** Uploaded styles' painters, learnt in the background (absent: none are). */
  painterTraining?: PainterTraining;
  metrics: Metrics;
  log: Logger;
  /** `ok: false` in it (Redis away, on the farm) answers 503: a load balancer then looks elsewhere. */
  health: () => Promise<Record<string, unknown>>;
  /** Style uploads: the largest, where they are kept (its disk's reserve), how many a client may send a minute. */
  styleUploads: { maxBytes: number; dir: string; minFreeBytes: number; perMinute: number };
  jobs: { runner: JobQueue; uploadsDir: string; maxVideoBytes: number; minFreeBytes: number; maxImagePixels: number; eventStreams: { perClient: number; total: number } };
  /** The live defaults and the publisher's limits, so the page's controls start where the server does. */
  liveDefaults: LiveSettings;
  liveLimits: { maxSize: number; maxSteps: number };
  /** Listening on loopback only: the page says its share link opens on this machine alone. */
  loopbackOnly?: boolean;
  directory: RoomDirectory;
  origins: OriginPolicy;
  trustProxy: TrustFunction;
  roomsPerMinute: number;
  /** Worker farm: the blob endpoints workers and other gateways use, and their secret. */
  farm?: { blobs: BlobStore; secret: () => string };
}

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // req.ip: the client behind trusted proxies, for per-client limits.
  app.set('trust proxy', deps.trustProxy);

  app.use((req, _res, next) => {
    // Health checks come from load balancers by address: they are not a rebinding risk.
    if (req.path !== '/healthz' && !deps.origins.hostAllowed(req.headers.host)) return next(new ForbiddenError('host not allowed'));
    if (!SAFE_METHODS.has(req.method) && !deps.origins.originAllowed(req.headers.origin, req.headers.host)) {
      return next(new ForbiddenError('requests from this origin are not allowed'));
    }
    next();
  });

  app.get('/healthz', async (_req, res) => {
    const health = { ok: true, ...(await deps.health()) };
    res.status(health.ok === false ? 503 : 200).json(health);
  });
  app.get('/api/config', (_req, res) => {
    res.json(pageConfig(deps.liveDefaults, deps.liveLimits, { loopbackOnly: deps.loopbackOnly ?? false }));
  });
  app.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  app.use(stylesRoutes(deps.styles, deps.styleUploads, deps.painterTraining));
  app.use(roomsRoutes(deps.directory, { roomsPerMinute: deps.roomsPerMinute, log: deps.log }));
  app.use(jobsRoutes({ ...deps.jobs, styles: deps.styles, log: deps.log }));
  if (deps.farm) app.use(blobRoutes(deps.farm.blobs, deps.farm.secret));
  if (existsSync(deps.clientDir)) {
    app.use(express.static(deps.clientDir, { index: 'index.html' }));
    // The viewer page: one HTML for every room; the script reads the room from the path.
    app.get('/watch/:room', (_req, res) => {
      res.sendFile(path.join(deps.clientDir, 'watch.html'));
    });
  }

  app.use('/api', (_req, res) => {
    res.status(404).json({ error: { code: ErrorCode.NOT_FOUND, message: 'no such API route' } });
  });

  const errors: ErrorRequestHandler = (thrown: unknown, _req, res, _next) => {
    // A full disk anywhere (an upload, a style, a job's files) is one clear answer; so is the
    // farm's Redis away or full wherever a route met it (503 with Retry-After, never a 500).
    const error = isNoSpace(thrown) ? new NoSpaceError(undefined, { cause: thrown }) : (redisFailure(thrown) ?? thrown);
    let status = httpStatusFor(error);
    let code: string = error instanceof StylizeError ? error.code : ErrorCode.INTERNAL;
    let message = error instanceof Error ? error.message : String(error);
    const clientStatus = (error as { status?: unknown }).status;
    if (!(error instanceof StylizeError) && typeof clientStatus === 'number' && clientStatus >= 400 && clientStatus < 500) {
      // body-parser's own errors (bad JSON, too large): the client's mistake, say so.
      status = clientStatus;
      code = clientStatus === 413 ? ErrorCode.TOO_LARGE : ErrorCode.BAD_INPUT;
    }
    if (error instanceof multer.MulterError) {
      status = error.code === 'LIMIT_FILE_SIZE' ? 413 : 400;
      code = error.code === 'LIMIT_FILE_SIZE' ? ErrorCode.TOO_LARGE : ErrorCode.BAD_INPUT;
      message = error.code === 'LIMIT_FILE_SIZE' ? `the file in "${error.field ?? 'upload'}" is over the size limit` : error.message;
    } else if (error instanceof UploadError) {
      status = 400;
      code = ErrorCode.BAD_INPUT;
    }
    if (error instanceof BusyError || error instanceof RateLimitedError || error instanceof RedisUnavailableError) res.set('Retry-After', String(error.retryAfterS));
    if (status >= 500 && status !== 503 && status !== 507) {
      deps.log.error({ err: error }, 'request failed');
      message = 'internal error';
    }
    if (message.length > MAX_ERROR_TEXT) message = `${message.slice(0, MAX_ERROR_TEXT - 1)}…`;
    res.status(status).json({ error: { code, message } });
  };
  app.use(errors);
  return app;
}
