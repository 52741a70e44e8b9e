/**
 * The Express app: the browser client, health, styles, metrics, and one error mapping.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { type ErrorRequestHandler } from 'express';
import multer from 'multer';
import { ErrorCode, StylizeError, httpStatusFor } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { StyleLibrary } from '../styles/style-library.js';
import type { LiveSettings } from '../pipeline/frame-stylizer.js';
import { publicConfig } from '../realtime/protocol.js';
import type { JobRunner } from '../video/jobs/job-runner.js';
import { jobsRoutes } from './jobs-routes.js';
import { roomsRoutes } from './rooms-routes.js';
import { stylesRoutes } from './styles-routes.js';
import type { RoomDirectory } from '../realtime/room-directory.js';

export interface AppDeps {
  clientDir: string;
  styles: StyleLibrary;
  metrics: Metrics;
  log: Logger;
  health: () => Record<string, unknown>;
  maxUploadBytes: number;
  jobs: { runner: JobRunner; uploadsDir: string; maxVideoBytes: number };
  /** The live defaults, so the page's controls start where the server does. */
  liveDefaults: LiveSettings;
  directory: RoomDirectory;
}

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true, ...deps.health() });
  });
  app.get('/api/config', (_req, res) => {
    res.json(publicConfig(deps.liveDefaults));
  });
  app.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  app.use(stylesRoutes(deps.styles, deps.maxUploadBytes));
  app.use(roomsRoutes(deps.directory));
  app.use(jobsRoutes(deps.jobs.runner, deps.styles, deps.jobs.uploadsDir, deps.jobs.maxVideoBytes));
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

  const errors: ErrorRequestHandler = (error: unknown, _req, res, _next) => {
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
    }
    if (status >= 500) {
      deps.log.error({ err: error }, 'request failed');
      message = 'internal error';
    }
    res.status(status).json({ error: { code, message } });
  };
  app.use(errors);
  return app;
}
