/**
 * `stylize worker`: a BullMQ worker of the farm's chunk queue, on any machine that reaches Redis
 * and the gateways. It shares no disk with anyone: a job's input and style image are fetched once
 * from the gateway that holds them (kept in a small cache while its chunks come), each chunk is
 * painted in one of this process's chunk processes (the same pool and stylizeChunk as the
 * in-process backend: paint-chunk-job.ts) and the segment is stored back on that gateway. Progress and
 * previews go through Redis. A cancel notice stops this job's chunks here at once. The event loop
 * of this process paints nothing, so BullMQ's lock on each chunk keeps being renewed; if the
 * process dies, the lock runs out and the stalled check gives the chunk to another worker.
 */
import os from 'node:os';
import path from 'node:path';
import { Worker, type Job as BullJob } from 'bullmq';
import type { WorkerOptions } from '../../config.js';
import type { Logger } from '../../logger.js';
import { createChunkProcessPool } from '../chunk-process-pool.js';
import { CHUNK_RETRIES } from '../job-queue.js';
import { KEYS, farmSecret, redisConnections, untilReady } from '../../farm/redis.js';
import type { ChunkJobData, ChunkJobResult } from './chunk-job.js';
import { createBlobClient } from './http-blob-client.js';
import { createInputCache } from './input-cache.js';
import { processChunkJob, type ChunkPainter } from './paint-chunk-job.js';
import { createRedisJobRepository } from './redis-job-repository.js';
import { registerWorker } from './worker-registry.js';

export interface FarmWorker {
  readonly id: string;
  /** Chunk worker process ids (tests). */
  pids(): number[];
  close(): Promise<void>;
}

export async function startFarmWorker(options: WorkerOptions & { log: Logger }): Promise<FarmWorker> {
  const { log } = options;
  const id = `${os.hostname()}/${process.pid}`;
  const connections = redisConnections(options.redisUrl, log);
  const redis = connections.open('worker');
  // Redis not there at start: a clear error and an exit (like the gateway), not a wait forever.
  const secret = await untilReady(redis)
    .then(() => farmSecret(redis, options.farmSecret))
    .catch(async (error: unknown) => {
      await connections.closeAll();
      throw error;
    });
  const repo = createRedisJobRepository({ redis, subscriber: () => connections.open('worker-events') });
  const blobs = createBlobClient({ secret, patienceMs: options.transferPatienceMs });
  const threads = options.threads ?? Math.max(1, Math.floor(os.availableParallelism() / options.concurrency));
  const pool = createChunkProcessPool(options.concurrency, {
    model: options.model,
    weights: options.weights,
    modelsDir: options.modelsDir,
    seed: options.seed,
    backend: options.backend,
    threads,
    paintersDir: path.join(options.dataDir, 'painters'),
  });
  /** BullMQ ids of the chunks being painted here, by job. */
  const painting = new Map<string, Set<string>>();
  const cache = await createInputCache(path.join(options.dataDir, 'farm-cache'), blobs, (jobId) => painting.has(jobId));
  const painter: ChunkPainter = { id, redis, repo, blobs, pool, cache, log };

  async function processChunk(bull: BullJob<ChunkJobData, ChunkJobResult>, _token?: string, signal?: AbortSignal): Promise<ChunkJobResult> {
    const { jobId } = bull.data;
    const mine = painting.get(jobId) ?? new Set<string>();
    painting.set(jobId, mine);
    mine.add(bull.id!);
    try {
      return await processChunkJob(painter, bull, signal);
    } finally {
      mine.delete(bull.id!);
      if (mine.size === 0) painting.delete(jobId);
    }
  }

  const worker = new Worker<ChunkJobData, ChunkJobResult>(KEYS.chunkQueue, processChunk, {
    connection: connections.open('worker-bullmq'),
    concurrency: options.concurrency,
    lockDuration: options.lockDurationMs,
    stalledInterval: options.stalledIntervalMs,
    // A chunk whose worker died this often more fails its job (as in-process: CHUNK_RETRIES).
    maxStalledCount: CHUNK_RETRIES,
  });
  worker.on('error', (error) => log.warn({ err: error }, 'worker connection error'));

  const cancels = connections.open('worker-cancel');
  cancels.on('message', (_channel: string, jobId: string) => {
    for (const bullId of painting.get(jobId) ?? []) worker.cancelJob(bullId, 'job canceled');
    if (!painting.has(jobId)) cache.forget(jobId);
    log.info({ job: jobId }, 'job canceled: its chunks here stop');
  });
  await cancels.subscribe(KEYS.jobCancel);
  const unregister = registerWorker(redis, { id, host: os.hostname(), pid: process.pid, concurrency: options.concurrency, threads });
  log.info({ worker: id, concurrency: options.concurrency, threads }, 'farm worker ready');

  let closing: Promise<void> | undefined;
  return {
    id,
    pids: () => pool.pids(),
    close() {
      closing ??= (async () => {
        await unregister();
        // Chunks cut off here are handed to another worker by BullMQ's stalled check.
        await Promise.allSettled([worker.close(true), pool.close()]);
        await repo.close();
        await connections.closeAll();
        await cache.clear();
      })();
      return closing;
    },
  };
}
