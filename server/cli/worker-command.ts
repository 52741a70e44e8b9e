/**
 * `REDIS_URL=… stylize worker [--concurrency N] [--threads T]`: a worker of the farm. It paints
 * video chunks for every gateway that shares the Redis, on whatever machine it runs; it needs no
 * disk shared with them. SIGTERM/SIGINT stop it (its chunks in progress go to other workers).
 */
import { Command, Option } from 'commander';
import { BACKEND_NAMES, FARM_DEFAULTS, LOG_LEVELS, MODEL_NAMES, parseWorkerOptions, readEnv } from '../config.js';
import { startFarmWorker } from '../jobs/farm/farm-worker.js';
import { createLogger } from '../logger.js';
import { DEFAULT_DATA_DIR, DEFAULT_MODELS_DIR } from '../paths.js';
import { durationOption, numberOption } from './parse.js';

const SHUTDOWN_TIMEOUT_MS = 10_000;

export function workerCommand(): Command {
  return new Command('worker')
    .description('paint video chunks for a worker farm (needs REDIS_URL, the gateways\' Redis)')
    .option('--redis-url <url>', 'the farm\'s Redis (env REDIS_URL)')
    .option('--concurrency <n>', `chunks painted at once, each in its own process (default ${FARM_DEFAULTS.concurrency})`, numberOption)
    .option('--threads <n>', 'wasm threads per chunk process (default: the cores shared among them)', numberOption)
    .option('--data-dir <dir>', 'where fetched inputs are cached while their chunks come (default data/)')
    .addOption(new Option('--model <name>', 'feature network (give every worker the same)').choices([...MODEL_NAMES]))
    .option('--weights <dir|h5>', 'VGG19 weights')
    .addOption(new Option('--backend <name>', 'force a tfjs backend').choices([...BACKEND_NAMES]))
    .option('--lock-duration <duration>', 'BullMQ lock on a chunk: a dead worker\'s chunk moves on after about this (default 30s)', durationOption)
    .option('--stalled-interval <duration>', 'how often to look for chunks of dead workers (default 15s)', durationOption)
    .option('--transfer-patience <duration>', 'keep trying to reach a gateway this long (default 2m)', durationOption)
    .addOption(new Option('--log-level <level>', 'pino log level').choices([...LOG_LEVELS]))
    .action(async (flags: Record<string, unknown>) => {
      const ms = (seconds: unknown): number | undefined => (typeof seconds === 'number' ? Math.round(seconds * 1000) : undefined);
      const options = parseWorkerOptions(
        {
          redisUrl: flags.redisUrl,
          concurrency: flags.concurrency,
          threads: flags.threads,
          dataDir: flags.dataDir,
          model: flags.model,
          weights: flags.weights,
          backend: flags.backend,
          lockDurationMs: ms(flags.lockDuration),
          stalledIntervalMs: ms(flags.stalledInterval),
          transferPatienceMs: ms(flags.transferPatience),
          logLevel: flags.logLevel,
        },
        readEnv(),
        { dataDir: DEFAULT_DATA_DIR, modelsDir: DEFAULT_MODELS_DIR },
      );
      const log = createLogger(options.logLevel);
      const worker = await startFarmWorker({ ...options, log });
      await new Promise<void>((resolve) => {
        const stop = (signal: string): void => {
          log.info({ signal }, 'worker shutting down');
          setTimeout(() => process.exit(1), SHUTDOWN_TIMEOUT_MS).unref();
          void worker.close().then(resolve);
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
    });
}
