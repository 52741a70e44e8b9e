/**
 * `stylize serve` (what `npm start` runs): the web app and the live WebSocket endpoint. With
 * REDIS_URL it is a gateway of a worker farm (docs/deploy.md). Its flags are a table
 * (serve-flags.ts): each written once, defaults read from config.ts.
 */
import { Command } from 'commander';
import { parseServerOptions, readEnv, type ServerOptions } from '../config.js';
import { PortInUseError } from '../errors.js';
import { startServer, type RunningServer } from '../main.js';
import { DEFAULT_DATA_DIR, DEFAULT_MODELS_DIR, DEFAULT_STYLES_DIR } from '../paths.js';
import { addFlags } from './flag-table.js';
import { SERVE_FLAGS, readServeFlags, serveDefaults } from './serve-flags.js';

/** SIGTERM/SIGINT always end the process within this long. */
const SHUTDOWN_TIMEOUT_MS = 10_000;

export function serveCommand(): Command {
  const command = new Command('serve').description('serve the web app: live webcam stylization over WebSocket');
  return addFlags(command, SERVE_FLAGS, serveDefaults()).action(async (flags: Record<string, unknown>) => {
    const options = parseServerOptions(readServeFlags(flags), readEnv(), { stylesDir: DEFAULT_STYLES_DIR, dataDir: DEFAULT_DATA_DIR, modelsDir: DEFAULT_MODELS_DIR });
    await untilStopped(await start(options));
  });
}

async function start(options: ServerOptions): Promise<RunningServer> {
  return startServer(options).catch((error: unknown) => {
    // Node's raw "listen EADDRINUSE …" says neither which flag to change nor how.
    if ((error as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE') throw new PortInUseError(options.port, { cause: error });
    throw error;
  });
}

/** Serves until SIGTERM or SIGINT, then closes; a second signal, or a close that hangs, ends the process. */
function untilStopped(server: RunningServer): Promise<void> {
  return new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) {
        // A second signal: the operator means it.
        server.log.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      stopping = true;
      server.log.info({ signal }, 'shutting down');
      // Whatever is still running (a stuck decode, a child that ignores us), the process ends.
      setTimeout(() => {
        server.log.error({ afterMs: SHUTDOWN_TIMEOUT_MS }, 'shutdown took too long; exiting anyway');
        process.exit(1);
      }, SHUTDOWN_TIMEOUT_MS);
      void server.close().then(resolve);
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
}
