/**
 * `stylize serve` (what `npm start` runs): the web app and the live WebSocket endpoint. With
 * REDIS_URL it is a gateway of a worker farm (docs/deploy.md).
 */
import { Command, Option } from 'commander';
import { BACKEND_NAMES, LOG_LEVELS, MODEL_NAMES, SERVER_DEFAULTS, parseServerOptions, readEnv } from '../config.js';
import { PortInUseError } from '../errors.js';
import { startServer } from '../main.js';
import { DEFAULT_DATA_DIR, DEFAULT_MODELS_DIR, DEFAULT_STYLES_DIR } from '../paths.js';
import { byteSizeOption, durationOption, listOption, numberOption } from './parse.js';

/** SIGTERM/SIGINT always end the process within this long. */
const SHUTDOWN_TIMEOUT_MS = 10_000;

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
    .option('--target-fps <fps>', `deadline mode: choose steps and size to keep this frame rate (0 = off; default ${SERVER_DEFAULTS.targetFps})`, numberOption)
    .option('--painter <mode>', `live streams' learned painter: learned or off (default ${SERVER_DEFAULTS.livePainter})`)
    .option('--upload-painter-steps <n>', `an uploaded style's live painter learns in the background to this many steps at once (0 = off; default ${SERVER_DEFAULTS.uploadPainterSteps})`, numberOption)
    .option('--min-working-size <px>', `deadline mode paints no smaller than this short side; fewer fps instead (default ${SERVER_DEFAULTS.minWorkingSize})`, numberOption)
    .option('--max-frame-bytes <n>', `largest WebSocket message (default ${SERVER_DEFAULTS.maxFrameBytes})`, numberOption)
    .option('--workers <n>', 'video job worker processes (default: one per core)', numberOption)
    .option('--max-video-bytes <n>', `largest video upload (default ${SERVER_DEFAULTS.maxVideoBytes})`, numberOption)
    .option('--max-video-seconds <s>', `longest video accepted (default ${SERVER_DEFAULTS.maxVideoSeconds})`, numberOption)
    .option('--allowed-origins <list>', 'comma-separated browser origins allowed besides the page\'s own')
    .option('--max-connections-per-ip <n>', `WebSocket connections per address (default ${SERVER_DEFAULTS.maxConnectionsPerIp})`, numberOption)
    .option('--max-publish-fps <n>', `frames a publisher may send per second (default ${SERVER_DEFAULTS.maxPublishFps})`, numberOption)
    .option('--viewer-stall-ms <ms>', `drop a viewer that could take no frame for this long (default ${SERVER_DEFAULTS.viewerStallMs})`, numberOption)
    // Server-side budgets: what any one client may make the server do.
    .option('--max-live-size <px>', `largest live size a publisher may ask for; more is clamped (default ${SERVER_DEFAULTS.maxLiveSize})`, numberOption)
    .option('--max-live-steps <n>', `most steps per live frame a publisher may ask for (default ${SERVER_DEFAULTS.maxLiveSteps})`, numberOption)
    .option('--max-frame-ms <ms>', `hard limit for one live frame; its painter is replaced (default ${SERVER_DEFAULTS.maxFrameMs})`, numberOption)
    .option('--free-frame-ms <ms>', `without a target fps, a live frame is planned to take at most this long (default ${SERVER_DEFAULTS.freeFrameMs})`, numberOption)
    .option('--max-live-streams <n>', `live streams painted at once; more get 503 (default ${SERVER_DEFAULTS.maxLiveStreams})`, numberOption)
    .option('--max-work-pixels <n>', `most pixels a live frame is painted at; larger streams are scaled up (default ${SERVER_DEFAULTS.maxWorkPixels})`, numberOption)
    .option('--max-image-pixels <n>', `largest image decoded: frames, styles (default ${SERVER_DEFAULTS.maxImagePixels})`, numberOption)
    .option('--max-rooms <n>', `rooms at once (default ${SERVER_DEFAULTS.maxRooms})`, numberOption)
    .option('--room-idle <duration>', 'forget a room nobody used for this long (default 10m)', durationOption)
    .option('--rooms-per-minute <n>', `rooms one client may create a minute (default ${SERVER_DEFAULTS.roomsPerMinute})`, numberOption)
    .option('--job-retention <duration>', 'delete ended video jobs and their files after this long (default 24h)', durationOption)
    .option('--max-job-cost <n>', `largest video job in megapixel-steps: frames × working megapixels × steps (default ${SERVER_DEFAULTS.maxJobCost})`, numberOption)
    .option('--max-jobs-per-client <n>', `video jobs one client may have waiting or running (default ${SERVER_DEFAULTS.maxJobsPerClient})`, numberOption)
    .option('--max-queued-jobs <n>', `video jobs waiting or running in all; more get 503 (default ${SERVER_DEFAULTS.maxQueuedJobs})`, numberOption)
    .option('--min-free-disk <size>', 'refuse uploads that would leave less free on the data disk (default 256M)', byteSizeOption)
    .option('--trust-proxy <value>', 'behind a reverse proxy: true, a hop count, or its addresses/subnets (Express "trust proxy"; default false)')
    .option('--allowed-hosts <list>', 'comma-separated Host names the server answers to (a DNS-rebinding guard; default any)')
    .option('--redis-url <url>', 'be a gateway of a worker farm: jobs and rooms in this Redis (env REDIS_URL; see docs/deploy.md)')
    .option('--advertise-url <url>', 'how farm workers reach this gateway (env STYLIZE_ADVERTISE_URL; default http://<host name>:<port>)')
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
          minWorkingSize: flags.minWorkingSize,
          livePainter: flags.painter,
          uploadPainterSteps: flags.uploadPainterSteps,
          maxFrameBytes: flags.maxFrameBytes,
          workers: flags.workers,
          allowedOrigins: typeof flags.allowedOrigins === 'string' ? listOption(flags.allowedOrigins) : undefined,
          allowedHosts: typeof flags.allowedHosts === 'string' ? listOption(flags.allowedHosts) : undefined,
          maxLiveSize: flags.maxLiveSize,
          maxLiveSteps: flags.maxLiveSteps,
          maxFrameMs: flags.maxFrameMs,
          freeFrameMs: flags.freeFrameMs,
          maxLiveStreams: flags.maxLiveStreams,
          maxImagePixels: flags.maxImagePixels,
          maxWorkPixels: flags.maxWorkPixels,
          maxRooms: flags.maxRooms,
          roomIdleMs: typeof flags.roomIdle === 'number' ? Math.round(flags.roomIdle * 1000) : undefined,
          roomsPerMinute: flags.roomsPerMinute,
          jobRetentionS: flags.jobRetention,
          maxJobCost: flags.maxJobCost,
          maxJobsPerClient: flags.maxJobsPerClient,
          maxQueuedJobs: flags.maxQueuedJobs,
          minFreeBytes: flags.minFreeDisk,
          trustProxy: flags.trustProxy,
          maxConnectionsPerIp: flags.maxConnectionsPerIp,
          maxPublishFps: flags.maxPublishFps,
          viewerStallMs: flags.viewerStallMs,
          engine: flags.engine,
          redisUrl: flags.redisUrl,
          advertiseUrl: flags.advertiseUrl,
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
    });
}
