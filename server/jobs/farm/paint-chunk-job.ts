/**
 * One chunk job of the farm's chunk queue, as a farm worker does it: the job's inputs from the
 * cache, the chunk painted in one of this worker's chunk processes (progress, throttled, and
 * previews through Redis), the segment stored on the job's gateway, the chunk recorded. A job that
 * ended meanwhile is skipped; a failure is turned into what BullMQ should do about it.
 */
import path from 'node:path';
import { mkdir, rm } from 'node:fs/promises';
import { UnrecoverableError, type Job as BullJob } from 'bullmq';
import type { Logger } from '../../logger.js';
import { BLOB } from '../blob-store.js';
import type { ChunkHandlers, ChunkProcessPool } from '../chunk-process-pool.js';
import { ChunkFailedError, publicReason } from '../job-queue.js';
import { isFinal, type JobRepository } from '../job-repository.js';
import type { Job } from '../job-store.js';
import { KEYS, type Redis } from '../../farm/redis.js';
import type { ChunkJobData, ChunkJobResult } from './chunk-job.js';
import { BlobTransferError, type BlobClient } from './http-blob-client.js';
import type { InputCache } from './input-cache.js';

const PROGRESS_EVERY_MS = 250;
/** A preview in Redis outlives a gateway that is down for a while, not forever. */
const PREVIEW_TTL_S = 24 * 3600;

export interface ChunkPainter {
  /** This worker's id (`<host>/<pid>`). */
  id: string;
  redis: Redis;
  repo: JobRepository;
  blobs: BlobClient;
  pool: ChunkProcessPool;
  cache: InputCache;
  log: Logger;
}

type ChunkBullJob = BullJob<ChunkJobData, ChunkJobResult>;

const skippedBy = (worker: string): ChunkJobResult => ({ worker, frames: 0, waitS: 0, transferS: 0, paintS: 0, totalS: 0, skipped: true });

/** The chunk queue's processor: paints the chunk, or says why not in BullMQ's terms. */
export async function processChunkJob(painter: ChunkPainter, bull: ChunkBullJob, signal?: AbortSignal): Promise<ChunkJobResult> {
  const { jobId, chunk } = bull.data;
  const where = { job: jobId, chunk: chunk.index, frames: `${chunk.start}-${chunk.end}`, attempt: bull.attemptsMade + 1 };
  // Each chunk's life is in the worker's log at info: taken, finished (frames, ms), handed on.
  painter.log.info(where, 'chunk taken');
  try {
    const result = await paintChunkJob(painter, bull, signal);
    if (!result.skipped) painter.log.info({ ...where, framesPainted: result.frames, paintMs: Math.round(result.paintS * 1000), transferMs: Math.round(result.transferS * 1000) }, 'chunk finished');
    else painter.log.info(where, 'chunk skipped: its job has ended');
    return result;
  } catch (error) {
    const now = await painter.repo.get(jobId).catch(() => undefined);
    if (!now || isFinal(now)) {
      // Canceled (or failed elsewhere) while it was painted here: nothing to retry.
      painter.log.info({ job: jobId, chunk: chunk.index }, 'chunk stopped: its job has ended');
      return skippedBy(painter.id);
    }
    painter.log.warn({ ...where, err: error, detail: (error as { detail?: string }).detail }, 'chunk failed');
    // The chunk's own failure (a frame that cannot be decoded) will not go away: no retry.
    if (error instanceof ChunkFailedError) throw new UnrecoverableError(publicReason(error));
    painter.log.info(where, 'chunk handed on: BullMQ retries it here or on another worker');
    if (error instanceof BlobTransferError) throw new Error(error.message);
    throw new Error(publicReason(error)); // a crashed chunk process: retried with back-off
  }
}

/** The job as it is painted: running (the first chunk to come up says so), or undefined once it has ended. */
async function runningJob(repo: JobRepository, id: string): Promise<Job | undefined> {
  let job = await repo.get(id);
  if (!job || isFinal(job)) return undefined;
  if (job.status === 'queued') job = (await repo.update(job.id, { from: ['queued'], set: { status: 'running' } })) ?? (await repo.get(job.id));
  return job && !isFinal(job) ? job : undefined;
}

async function paintChunkJob(painter: ChunkPainter, bull: ChunkBullJob, signal?: AbortSignal): Promise<ChunkJobResult> {
  const data = bull.data;
  const waitS = (Date.now() - bull.timestamp) / 1000;
  const job = await runningJob(painter.repo, data.jobId);
  if (!job) return skippedBy(painter.id);
  if (!job.home) throw new Error('the job does not say which gateway holds its files'); // retried: not the chunk's fault
  const segment = path.join(painter.cache.root, job.id, 'chunks', `${bull.id ?? data.chunk.index}.mp4`);
  const t0 = performance.now();
  const files = await painter.cache.inputsOf(job);
  let transferMs = performance.now() - t0;
  await mkdir(path.dirname(segment), { recursive: true });
  const progress = { frames: 0 };
  const t1 = performance.now();
  let paintMs = 0;
  try {
    const task = {
      type: 'chunk' as const,
      jobId: job.id,
      input: files.input,
      stylePath: files.style,
      info: data.info,
      chunk: data.chunk,
      options: data.options,
      workSize: data.workSize,
      outSize: data.outSize,
      segmentPath: segment,
      // A worker's own processes go in turns between clients too (chunk-process-pool.ts).
      ...(data.client !== undefined ? { client: data.client } : {}),
    };
    await painter.pool.run(task, progressHandlers(painter, data, progress, job.hasPreview === true), signal);
    paintMs = performance.now() - t1;
    const t2 = performance.now();
    await painter.blobs.upload(job.home, BLOB.chunk(job.id, data.chunk.index), segment, signal);
    transferMs += performance.now() - t2;
  } finally {
    await rm(segment, { force: true });
  }
  if (!(await painter.repo.update(job.id, { from: ['running'], chunkDone: data.chunk.index }))) return skippedBy(painter.id);
  return { worker: painter.id, frames: progress.frames, waitS, transferS: transferMs / 1000, paintS: paintMs / 1000, totalS: (Date.now() - bull.timestamp) / 1000 };
}

/**
 * Progress to every watcher through Redis, at most every PROGRESS_EVERY_MS (a new stage, the last
 * frame and the last training step always); previews into Redis, and once the first is there the
 * job says so (hasPreview: the page asks for a preview only then).
 */
function progressHandlers(painter: ChunkPainter, data: ChunkJobData, progress: { frames: number }, hasPreview: boolean): ChunkHandlers {
  let lastProgress = 0;
  let lastStage: string | undefined;
  let said = hasPreview;
  const due = (final: boolean): boolean => {
    if (performance.now() - lastProgress < PROGRESS_EVERY_MS && !final) return false;
    lastProgress = performance.now();
    return true;
  };
  return {
    onProgress: (report) => {
      progress.frames = report.kept;
      const learnt = report.learning !== undefined && report.learning.step >= report.learning.steps;
      const changed = report.stage !== lastStage;
      lastStage = report.stage;
      if (due(changed || learnt || report.kept >= data.chunk.end - data.chunk.start)) painter.repo.progress(data.jobId, data.chunk.index, report);
    },
    onPreview: (jpeg) =>
      void painter.redis
        .set(KEYS.jobPreview(data.jobId), Buffer.from(jpeg), 'EX', PREVIEW_TTL_S)
        .then(async () => {
          if (said) return;
          said = true;
          await painter.repo.update(data.jobId, { from: ['running'], set: { hasPreview: true } });
        })
        .catch(() => undefined),
  };
}
