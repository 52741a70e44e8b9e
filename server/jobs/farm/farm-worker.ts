/**
 * `stylize worker`: a BullMQ worker of the farm's chunk queue, on any machine that reaches Redis
 * and the gateways. It shares no disk with anyone: a job's input and style image are fetched once
 * from the gateway that holds them (kept in a small cache while its chunks come), each chunk is
 * painted in one of this process's chunk worker processes (the same worker pool and stylizeChunk
 * as the in-process backend) and the segment is stored back on that gateway. Progress and
 * previews go through Redis. A cancel notice stops this job's chunks here at once. The event loop
 * of this process paints nothing, so BullMQ's lock on each chunk keeps being renewed; if the
 * process dies, the lock runs out and the stalled check gives the chunk to another worker.
 */
import os from 'node:os';
import path from 'node:path';
import { mkdir, rm } from 'node:fs/promises';
import { UnrecoverableError, Worker, type Job as BullJob } from 'bullmq';
import type { WorkerOptions } from '../../config.js';
import type { Logger } from '../../logger.js';
import { BLOB } from '../blob-store.js';
import { CHUNK_RETRIES, ChunkFailedError, publicReason } from '../job-queue.js';
import { isFinal } from '../job-repository.js';
import type { Job } from '../job-store.js';
import { createChunkProcessPool } from '../chunk-process-pool.js';
import type { ChunkJobData, ChunkJobResult } from './chunk-job.js';
import { BlobTransferError, createBlobClient } from './http-blob-client.js';
import { createRedisJobRepository } from './redis-job-repository.js';
import { KEYS, closeRedis, connectRedis, farmSecret, type Redis } from '../../farm/redis.js';
import { registerWorker } from './worker-registry.js';

/** Jobs whose input stays cached here (the least recently used goes first). */
const CACHED_JOBS = 4;
const PROGRESS_EVERY_MS = 250;
/** A preview in Redis outlives a gateway that is down for a while, not forever. */
const PREVIEW_TTL_S = 24 * 3600;

export interface FarmWorker {
  readonly id: string;
  /** Chunk worker process ids (tests). */
  pids(): number[];
  close(): Promise<void>;
}

interface CachedInputs {
  input: string;
  style: string;
}

export async function startFarmWorker(options: WorkerOptions & { log: Logger }): Promise<FarmWorker> {
  const { log } = options;
  const id = `${os.hostname()}/${process.pid}`;
  const connections: Redis[] = [];
  const connect = (name: string): Redis => {
    const redis = connectRedis(options.redisUrl, { name, log });
    connections.push(redis);
    return redis;
  };
  const redis = connect('worker');
  const repo = createRedisJobRepository({ redis, subscriber: () => connect('worker-events') });
  const blobs = createBlobClient({ secret: await farmSecret(redis), patienceMs: options.transferPatienceMs });
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
  const cacheRoot = path.join(options.dataDir, 'farm-cache');
  await rm(cacheRoot, { recursive: true, force: true });
  await mkdir(cacheRoot, { recursive: true });
  const cache = new Map<string, Promise<CachedInputs>>();
  /** BullMQ ids of the chunks being painted here, by job. */
  const painting = new Map<string, Set<string>>();

  /** The job's input and style here, fetched once for all its chunks. */
  function inputsOf(job: Job): Promise<CachedInputs> {
    const known = cache.get(job.id);
    if (known) {
      cache.delete(job.id);
      cache.set(job.id, known); // most recently used
      return known;
    }
    const dir = path.join(cacheRoot, job.id);
    const fetching = (async () => {
      const files = { input: path.join(dir, 'input'), style: path.join(dir, 'style-image') };
      await Promise.all([blobs.download(job.home!, BLOB.input(job.id), files.input), blobs.download(job.home!, BLOB.style(job.id), files.style)]);
      return files;
    })();
    fetching.catch(() => cache.delete(job.id)); // the next chunk tries again
    cache.set(job.id, fetching);
    for (const old of cache.keys()) {
      if (cache.size <= CACHED_JOBS) break;
      if (painting.has(old)) continue;
      forget(old);
    }
    return fetching;
  }

  function forget(jobId: string): void {
    cache.delete(jobId);
    void rm(path.join(cacheRoot, jobId), { recursive: true, force: true });
  }

  async function paint(bull: BullJob<ChunkJobData, ChunkJobResult>, signal?: AbortSignal): Promise<ChunkJobResult> {
    const data = bull.data;
    const skipped: ChunkJobResult = { worker: id, frames: 0, waitS: 0, transferS: 0, paintS: 0, totalS: 0, skipped: true };
    const waitS = (Date.now() - bull.timestamp) / 1000;
    let job = await repo.get(data.jobId);
    if (!job || isFinal(job)) return skipped;
    if (job.status === 'queued') job = (await repo.update(job.id, { from: ['queued'], set: { status: 'running' } })) ?? (await repo.get(job.id));
    if (!job || isFinal(job)) return skipped;
    if (!job.home) throw new Error('the job does not say which gateway holds its files'); // retried: not the chunk's fault
    const segment = path.join(cacheRoot, job.id, 'chunks', `${bull.id ?? data.chunk.index}.mp4`);
    let transferMs = 0;
    let paintMs = 0;
    let frames = 0;
    const t0 = performance.now();
    const files = await inputsOf(job);
    transferMs += performance.now() - t0;
    await mkdir(path.dirname(segment), { recursive: true });
    let lastProgress = 0;
    const t1 = performance.now();
    try {
      await pool.run(
        { type: 'chunk', jobId: job.id, input: files.input, stylePath: files.style, info: data.info, chunk: data.chunk, options: data.options, workSize: data.workSize, outSize: data.outSize, segmentPath: segment },
        {
          onProgress: (kept) => {
            frames = kept;
            if (performance.now() - lastProgress < PROGRESS_EVERY_MS && kept < data.chunk.end - data.chunk.start) return;
            lastProgress = performance.now();
            repo.progress(data.jobId, data.chunk.index, kept);
          },
          onLearning: (step, steps) => {
            if (performance.now() - lastProgress < PROGRESS_EVERY_MS && step < steps) return;
            lastProgress = performance.now();
            repo.progress(data.jobId, data.chunk.index, 0, { step, steps });
          },
          onPreview: (jpeg) => void redis.set(KEYS.jobPreview(data.jobId), Buffer.from(jpeg), 'EX', PREVIEW_TTL_S).catch(() => undefined),
        },
        signal,
      );
      paintMs = performance.now() - t1;
      const t2 = performance.now();
      await blobs.upload(job.home, BLOB.chunk(job.id, data.chunk.index), segment, signal);
      transferMs += performance.now() - t2;
    } finally {
      await rm(segment, { force: true });
    }
    if (!(await repo.update(job.id, { from: ['running'], chunkDone: data.chunk.index }))) return skipped;
    return { worker: id, frames, waitS, transferS: transferMs / 1000, paintS: paintMs / 1000, totalS: (Date.now() - bull.timestamp) / 1000 };
  }

  async function processChunk(bull: BullJob<ChunkJobData, ChunkJobResult>, _token?: string, signal?: AbortSignal): Promise<ChunkJobResult> {
    const { jobId, chunk } = bull.data;
    const mine = painting.get(jobId) ?? new Set<string>();
    painting.set(jobId, mine);
    mine.add(bull.id!);
    try {
      return await paint(bull, signal);
    } catch (error) {
      const now = await repo.get(jobId).catch(() => undefined);
      if (!now || isFinal(now)) {
        // Canceled (or failed elsewhere) while it was painted here: nothing to retry.
        log.info({ job: jobId, chunk: chunk.index }, 'chunk stopped: its job has ended');
        return { worker: id, frames: 0, waitS: 0, transferS: 0, paintS: 0, totalS: 0, skipped: true };
      }
      log.warn({ job: jobId, chunk: chunk.index, attempt: bull.attemptsMade + 1, err: error, detail: (error as { detail?: string }).detail }, 'chunk failed');
      // The chunk's own failure (a frame that cannot be decoded) will not go away: no retry.
      if (error instanceof ChunkFailedError) throw new UnrecoverableError(publicReason(error));
      if (error instanceof BlobTransferError) throw new Error(error.message);
      throw new Error(publicReason(error)); // a crashed chunk process: retried with back-off
    } finally {
      mine.delete(bull.id!);
      if (mine.size === 0) painting.delete(jobId);
    }
  }

  const worker = new Worker<ChunkJobData, ChunkJobResult>(KEYS.chunkQueue, processChunk, {
    connection: connect('worker-bullmq'),
    concurrency: options.concurrency,
    lockDuration: options.lockDurationMs,
    stalledInterval: options.stalledIntervalMs,
    // A chunk whose worker died this often more fails its job (as in-process: CHUNK_RETRIES).
    maxStalledCount: CHUNK_RETRIES,
  });
  worker.on('error', (error) => log.warn({ err: error }, 'worker connection error'));

  const cancels = connect('worker-cancel');
  cancels.on('message', (_channel: string, jobId: string) => {
    for (const bullId of painting.get(jobId) ?? []) worker.cancelJob(bullId, 'job canceled');
    if (!painting.has(jobId)) forget(jobId);
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
        await Promise.all(connections.map(closeRedis));
        await rm(cacheRoot, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}
