/**
 * `REDIS_URL=… stylize worker [--concurrency N] [--threads T]`: a worker of the farm. It paints
 * video chunks for every gateway that shares the Redis, on whatever machine it runs; it needs no
 * disk shared with them. SIGTERM/SIGINT stop it (its chunks in progress go to other workers).
 */
import { Command } from 'commander';
import { BACKEND_NAMES, LOG_LEVELS, MODEL_NAMES, parseWorkerOptions, readEnv, schemaDefaults, workerOptionsSchema, type WorkerOptions } from '../config.js';
import { startFarmWorker } from '../jobs/farm/farm-worker.js';
import { createLogger } from '../logger.js';
import { DEFAULT_DATA_DIR, DEFAULT_MODELS_DIR } from '../paths.js';
import { addFlags, readFlags, type FlagSpec } from './flag-table.js';

const SHUTDOWN_TIMEOUT_MS = 10_000;

/** `stylize worker`'s flags, one row each; defaults come from config.ts's worker schema. */
export const WORKER_FLAGS: readonly FlagSpec<keyof WorkerOptions>[] = [
  { key: 'redisUrl', flag: '--redis-url <url>', help: "the farm's Redis", notes: ['env REDIS_URL'] },
  { key: 'concurrency', flag: '--concurrency <n>', help: 'chunks painted at once, each in its own process', kind: 'number' },
  { key: 'threads', flag: '--threads <n>', help: 'wasm threads per chunk process', kind: 'number', shownDefault: 'the cores shared among them' },
  { key: 'dataDir', flag: '--data-dir <dir>', help: 'where fetched inputs are cached while their chunks come' },
  { key: 'model', flag: '--model <name>', help: 'feature network (give every worker the same)', choices: MODEL_NAMES },
  { key: 'weights', flag: '--weights <dir|h5>', help: 'VGG19 weights' },
  { key: 'backend', flag: '--backend <name>', help: 'force a tfjs backend', choices: BACKEND_NAMES },
  { key: 'lockDurationMs', flag: '--lock-duration <duration>', help: "BullMQ lock on a chunk: a dead worker's chunk moves on after about this", kind: 'milliseconds' },
  { key: 'stalledIntervalMs', flag: '--stalled-interval <duration>', help: 'how often to look for chunks of dead workers', kind: 'milliseconds' },
  { key: 'transferPatienceMs', flag: '--transfer-patience <duration>', help: 'keep trying to reach a gateway this long', kind: 'milliseconds' },
  { key: 'logLevel', flag: '--log-level <level>', help: 'pino log level', choices: LOG_LEVELS },
];

export function workerCommand(): Command {
  const command = new Command('worker').description("paint video chunks for a worker farm (needs REDIS_URL, the gateways' Redis)");
  const defaults = { ...schemaDefaults(workerOptionsSchema), dataDir: DEFAULT_DATA_DIR };
  return addFlags(command, WORKER_FLAGS, defaults).action(async (flags: Record<string, unknown>) => {
    const options = parseWorkerOptions(readFlags(flags, WORKER_FLAGS), readEnv(), { dataDir: DEFAULT_DATA_DIR, modelsDir: DEFAULT_MODELS_DIR });
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
