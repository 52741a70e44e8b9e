/**
 * Start-up: options → backend → network → styles → HTTP + WebSocket → listen.
 * `close()` (and SIGTERM/SIGINT in `stylize serve`) stops accepting, closes every socket with
 * 1001 and frees the network. Safe to call twice.
 */
import { rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { DEFAULTS, type ServerOptions } from './config.js';
import { describeBackend, selectBackend, type BackendInfo } from './engine/backend.js';
import { loadNetwork } from './engine/networks/load-network.js';
import { createApp } from './http/app.js';
import { CLIENT_OUT, ensureClientBuilt } from './http/client-build.js';
import { createLogger, type Logger } from './logger.js';
import { createMetrics } from './metrics.js';
import { createRoomDirectory } from './realtime/room-directory.js';
import { createSocketServer, type SocketServer } from './realtime/socket-server.js';
import { createStyleLibrary } from './styles/style-library.js';
import { DEFAULT_VIDEO_LIMITS } from './video/ffmpeg.js';
import { createJobRunner, type JobRunner } from './video/jobs/job-runner.js';

export interface RunningServer {
  url: string;
  port: number;
  backend: BackendInfo;
  model: string;
  log: Logger;
  sockets: SocketServer;
  runner: JobRunner;
  close(): Promise<void>;
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const log = createLogger(options.logLevel);
  await ensureClientBuilt();
  const backend = await selectBackend({ prefer: options.backend, wasmThreads: options.wasmThreads });
  log.info({ backend: backend.name, threads: backend.threads, skipped: backend.skipped }, describeBackend(backend));
  const { network, reason } = await loadNetwork({
    model: options.model,
    weights: options.weights,
    modelsDir: options.modelsDir,
    seed: options.seed,
  });
  log.info({ model: network.name }, `model ${network.description} — ${reason}`);

  const styles = createStyleLibrary({ stylesDir: options.stylesDir, uploadsDir: path.join(options.dataDir, 'styles') });
  const metrics = createMetrics();
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
  };
  const directory = createRoomDirectory();
  const sockets = createSocketServer({
    network,
    backend,
    styles,
    metrics,
    log,
    maxFrameBytes: options.maxFrameBytes,
    defaults: liveDefaults,
    directory,
    allowedOrigins: options.allowedOrigins,
    maxConnectionsPerIp: options.maxConnectionsPerIp,
    maxPublishFps: options.maxPublishFps,
    viewerStallMs: options.viewerStallMs,
    passthrough: options.engine === 'passthrough',
  });
  const runner = createJobRunner({
    dataDir: options.dataDir,
    workers: options.workers || os.availableParallelism(),
    limits: { ...DEFAULT_VIDEO_LIMITS, maxDurationS: options.maxVideoSeconds },
    model: options.model,
    weights: options.weights,
    modelsDir: options.modelsDir,
    seed: options.seed,
    backend: options.backend,
    log,
  });
  // Uploads cut off by a crash are never finished: start with an empty upload area.
  await rm(path.join(options.dataDir, 'uploads'), { recursive: true, force: true });
  const app = createApp({
    clientDir: CLIENT_OUT,
    styles,
    metrics,
    log,
    maxUploadBytes: options.maxUploadBytes,
    health: () => ({ backend: backend.name, model: network.name }),
    jobs: { runner, uploadsDir: path.join(options.dataDir, 'uploads'), maxVideoBytes: options.maxVideoBytes },
    liveDefaults,
    directory,
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
    await runner.close();
    network.dispose();
    throw error;
  }
  // Unfinished jobs resume (worker processes start) only once the server is up.
  await runner.resume();
  const port = (server.address() as AddressInfo).port;
  const url = `http://${options.host === '0.0.0.0' ? 'localhost' : options.host}:${port}`;
  log.info({ port }, `stylize-live listening on ${url}`);

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    backend,
    model: network.name,
    log,
    sockets,
    runner,
    close() {
      closing ??= (async () => {
        await sockets.close();
        await runner.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        network.dispose();
        log.info('stopped');
      })();
      return closing;
    },
  };
}
