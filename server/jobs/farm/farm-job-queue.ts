/**
 * The worker-farm job backend (REDIS_URL): the one job lifecycle (job-service.ts) with job records
 * in Redis, shared by every gateway and worker, and BullMQ flows painting the chunks
 * (farm-scheduler.ts). This gateway takes uploads and keeps each job's files on its own disk,
 * served to workers by its blob endpoints; the assembly runs here once every chunk is in. Retries,
 * back-off and handing the chunk of a killed worker to another (the stalled check) are BullMQ's.
 */
import path from 'node:path';
import type { Logger } from '../../logger.js';
import type { JobMetrics } from '../../metrics.js';
import type { VideoLimits } from '../../video/ffmpeg.js';
import { createFileBlobStore } from '../blob-store.js';
import type { JobQueue } from '../job-queue.js';
import { createJobService } from '../job-service.js';
import { farmSecret, pingRedis, redisConnections, untilReady } from '../../farm/redis.js';
import { createFarmScheduler, slotsOf } from './farm-scheduler.js';
import { createBlobClient } from './http-blob-client.js';
import { createRedisJobRepository } from './redis-job-repository.js';
import { onlineWorkers } from './worker-registry.js';

/** Change notices travel over pub/sub, which forgets what it sends while a gateway reconnects: watchers poll too. */
const WATCH_POLL_MS = 2000;

export interface FarmJobQueueOptions {
  redisUrl: string;
  dataDir: string;
  /** This gateway's id (its assembly queue, the jobs it holds). */
  gateway: string;
  /** This gateway's URL as workers reach it (known once it listens). */
  home: () => string;
  limits: VideoLimits;
  log: Logger;
  metrics?: JobMetrics;
  chunkFrames?: number;
  maxJobCost?: number;
  maxJobsPerClient?: number;
  maxQueuedJobs?: number;
  retentionS?: number;
  /** BullMQ lock on the assembly (default 30 s). */
  lockDurationMs?: number;
  /** The operator's farm secret (STYLIZE_FARM_SECRET); else the one kept in Redis. */
  farmSecret?: string | undefined;
}

export interface FarmJobQueue extends JobQueue {
  /** Redis round trip and the workers seen lately, for /healthz. */
  health(): Promise<Record<string, unknown>>;
  /** The secret workers show the blob endpoints. */
  secret(): string;
}

export async function createFarmJobQueue(options: FarmJobQueueOptions): Promise<FarmJobQueue> {
  const { log, gateway } = options;
  const connections = redisConnections(options.redisUrl, log);
  const redis = connections.open('gateway', { failFast: true });
  const repo = createRedisJobRepository({ redis, subscriber: () => connections.open('gateway-events') });
  const blobs = createFileBlobStore(path.join(options.dataDir, 'jobs'));
  const secret = await untilReady(redis).then(() => farmSecret(redis, options.farmSecret)).catch(async (error: unknown) => {
    await connections.closeAll();
    throw error;
  });
  const remote = createBlobClient({ secret, patienceMs: 10_000 });
  const service = createJobService({ ...options, kind: 'farm', repo, blobs, watchPollMs: WATCH_POLL_MS }, (lifecycle) =>
    createFarmScheduler({ redis, connections, repo, blobs, remote, gateway, home: options.home, log, metrics: options.metrics, lockDurationMs: options.lockDurationMs }, lifecycle),
  );
  return {
    ...service,
    async health() {
      // A full Redis answers pings but takes no write: not ok either (a balancer looks elsewhere).
      const ping = await pingRedis(redis);
      const workers = ping.latencyMs !== undefined ? await onlineWorkers(redis).catch(() => []) : [];
      return { ok: ping.ok, redis: ping, workers: workers.length, workerSlots: slotsOf(workers) };
    },
    secret: () => secret,
    async close() {
      await service.close();
      await connections.closeAll();
    },
  };
}
