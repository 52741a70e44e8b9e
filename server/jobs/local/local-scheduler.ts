/**
 * The in-process ChunkScheduler: this machine's chunk-process pool paints the chunks. Up to one
 * job per chunk process runs at once (the pool shares its processes fairly between them); more
 * wait in a queue. A restarted server recounts each unfinished job's chunks from the segments on
 * disk and resumes it at its first missing one.
 */
import type { Logger } from '../../logger.js';
import type { JobMetrics } from '../../metrics.js';
import { BLOB, type BlobStore } from '../blob-store.js';
import type { ChunkProcessPool } from '../chunk-process-pool.js';
import type { ChunkScheduler, JobLifecycle } from '../chunk-scheduler.js';
import { ACTIVE_STATUSES } from '../job-repository.js';
import type { Job } from '../job-store.js';
import type { FileJobRepository } from './file-job-repository.js';
import { runJob, type LocalRunContext } from './local-job-run.js';

export interface LocalSchedulerOptions {
  repo: FileJobRepository;
  blobs: BlobStore;
  pool: ChunkProcessPool;
  /** Chunk processes: also the most jobs running at once. */
  workers: number;
  log: Logger;
  metrics?: JobMetrics | undefined;
}

export function createLocalScheduler(options: LocalSchedulerOptions, lifecycle: JobLifecycle): ChunkScheduler {
  const { repo, blobs, pool, log } = options;
  const waiting: string[] = [];
  const running = new Map<string, Promise<void>>();
  /** Jobs this process canceled: their chunks stop retrying at once. */
  const stopped = new Set<string>();
  const maxRunning = Math.max(1, options.workers);
  let closed = false;
  const context: LocalRunContext = {
    repo,
    blobs,
    pool,
    lifecycle,
    log,
    metrics: options.metrics,
    chunks: { waiting: 0, active: 0 },
    stopped: (id) => stopped.has(id),
    closed: () => closed,
  };
  options.metrics?.setQueueDepthSource(async () => ({ waiting: context.chunks.waiting, active: context.chunks.active, jobs: waiting.length + running.size }));

  function kick(): void {
    while (!closed && running.size < maxRunning && waiting.length > 0) {
      const id = waiting.shift()!;
      const work = runJob(context, id)
        .catch((error: unknown) => log.error({ err: error, job: id }, 'job runner failed'))
        .finally(() => {
          running.delete(id);
          kick();
        });
      running.set(id, work);
    }
  }

  return {
    workers: async () => options.workers,
    recordFields: () => ({}),
    owns: () => true,
    async start(job) {
      waiting.push(job.id);
      kick();
      return job;
    },
    reclaim: (job) => recountChunks(repo, blobs, job),
    async resume(job) {
      waiting.push(job.id);
    },
    resumed: kick,
    abandon: (job) => repo.untrack(job.id),
    async cancel(job) {
      stopped.add(job.id);
      const at = waiting.indexOf(job.id);
      if (at !== -1) waiting.splice(at, 1);
      pool.abortJob(job.id);
    },
    idle: async (id) => running.get(id),
    resumeWords: { unreadable: 'could not read the job store; no jobs resumed', abandoned: 'could not resume this job; it stays as it is until the next start' },
    workerPids: () => pool.pids(),
    async close() {
      closed = true;
      waiting.length = 0;
      await pool.close();
      await Promise.all(running.values());
    },
  };
}

/** A job found at start-up goes back to queued, its finished chunks the segments on disk. */
async function recountChunks(repo: FileJobRepository, blobs: BlobStore, job: Job): Promise<Job> {
  const done: number[] = [];
  for (const chunk of job.chunks ?? []) if (await blobs.has(BLOB.chunk(job.id, chunk.index))) done.push(chunk.index);
  return (await repo.update(job.id, { from: ACTIVE_STATUSES, set: { status: 'queued', chunksDone: done } })) ?? { ...job, chunksDone: done };
}
