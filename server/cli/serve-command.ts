/**
 * `stylize serve` (what `npm start` runs): the web app and the live WebSocket endpoint.
 */
import { Command, Option } from 'commander';
import { BACKEND_NAMES, LOG_LEVELS, MODEL_NAMES, SERVER_DEFAULTS, parseServerOptions, readEnv } from '../config.js';
import { PortInUseError } from '../errors.js';
import { startServer } from '../main.js';
import { DEFAULT_DATA_DIR, DEFAULT_MODELS_DIR, DEFAULT_STYLES_DIR } from '../paths.js';
import { numberOption } from './parse.js';

export function serveCommand(): Command {
  return new Command('serve')
    .description('serve the web app: live webcam stylization over WebSocket')
    .option('--port <n>', `port (env PORT; default ${SERVER_DEFAULTS.port})`, numberOption)
    .option('--host <addr>', `address to listen on (default ${SERVER_DEFAULTS.host})`)
    .option('--styles-dir <dir>', `extra style images (default ${DEFAULT_STYLES_DIR})`)
    .option('--data-dir <dir>', `uploaded styles and jobs (default ${DEFAULT_DATA_DIR})`)
    .addOption(new Option('--model <name>', 'feature network').choices([...MODEL_NAMES]))
    .option('--weights <dir|h5>', 'VGG19 weights (see `stylize models`)')
    .addOption(new Option('--backend <name>', 'force a tfjs backend').choices([...BACKEND_NAMES]))
    .option('--size <px>', `short side of live frames (default ${SERVER_DEFAULTS.liveSize})`, numberOption)
    .option('--steps <n>', `optimisation steps per frame (default ${SERVER_DEFAULTS.liveSteps})`, numberOption)
    .option('--target-fps <fps>', 'deadline mode: choose steps and size to keep this frame rate (0 = off)', numberOption)
    .option('--max-frame-bytes <n>', `largest WebSocket message (default ${SERVER_DEFAULTS.maxFrameBytes})`, numberOption)
    .option('--workers <n>', 'video job worker processes (default: one per core)', numberOption)
    .option('--max-video-bytes <n>', `largest video upload (default ${SERVER_DEFAULTS.maxVideoBytes})`, numberOption)
    .option('--max-video-seconds <s>', `longest video accepted (default ${SERVER_DEFAULTS.maxVideoSeconds})`, numberOption)
    .option('--allowed-origins <list>', 'comma-separated browser origins allowed besides the page\'s own')
    .option('--max-connections-per-ip <n>', `WebSocket connections per address (default ${SERVER_DEFAULTS.maxConnectionsPerIp})`, numberOption)
    .option('--max-publish-fps <n>', `frames a publisher may send per second (default ${SERVER_DEFAULTS.maxPublishFps})`, numberOption)
    .option('--viewer-stall-ms <ms>', `drop a viewer that could take no frame for this long (default ${SERVER_DEFAULTS.viewerStallMs})`, numberOption)
    .addOption(new Option('--engine <engine>', 'passthrough returns frames unpainted (fan-out load tests)').choices(['stylize', 'passthrough']).hideHelp())
    .addOption(new Option('--log-level <level>', 'pino log level').choices([...LOG_LEVELS]))
    .action(async (flags: Record<string, unknown>) => {
      const env = readEnv();
      const options = parseServerOptions(
        {
          port: flags.port,
          host: flags.host,
          stylesDir: flags.stylesDir,
          dataDir: flags.dataDir,
          model: flags.model,
          weights: flags.weights,
          backend: flags.backend,
          liveSize: flags.size,
          liveSteps: flags.steps,
          targetFps: flags.targetFps,
          maxFrameBytes: flags.maxFrameBytes,
          workers: flags.workers,
          allowedOrigins: typeof flags.allowedOrigins === 'string' ? flags.allowedOrigins.split(',').map((o) => o.trim()).filter(Boolean) : undefined,
          maxConnectionsPerIp: flags.maxConnectionsPerIp,
          maxPublishFps: flags.maxPublishFps,
          viewerStallMs: flags.viewerStallMs,
          engine: flags.engine,
          maxVideoBytes: flags.maxVideoBytes,
          maxVideoSeconds: flags.maxVideoSeconds,
          logLevel: flags.logLevel,
        },
        env,
        { stylesDir: DEFAULT_STYLES_DIR, dataDir: DEFAULT_DATA_DIR, modelsDir: DEFAULT_MODELS_DIR },
      );
      const server = await startServer(options).catch((error: unknown) => {
        // Node's raw "listen EADDRINUSE …" says neither which flag to change nor how.
        if ((error as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE') throw new PortInUseError(options.port, { cause: error });
        throw error;
      });
      await new Promise<void>((resolve) => {
        const stop = (signal: string): void => {
          server.log.info({ signal }, 'shutting down');
          void server.close().then(resolve);
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
    });
}
