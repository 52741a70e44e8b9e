/**
 * The in-process ChunkScheduler: this machine's chunk-process pool paints the chunks. Up to one
 * job per chunk process runs at once (the pool shares its processes fairly between clients, then
 * jobs); more wait in a queue, taken fairly: the waiting job whose client has the fewest jobs
 * running goes first, and a client with none running is let in even when every place is taken
 * (its chunks then get the next free process), so one client's long jobs never make another's
 * short one wait for them to end. A restarted server recounts each unfinished job's chunks from the segments on
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
  const waiting: Waiting[] = [];
  const running = new Map<string, Promise<void>>();
  /** Who asked for each running job. */
  const clients = new Map<string, string | undefined>();
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
    for (let next = nextJob(waiting, clients, maxRunning); !closed && next !== undefined; next = nextJob(waiting, clients, maxRunning)) {
      const { id, client } = waiting.splice(next, 1)[0]!;
      clients.set(id, client);
      const work = runJob(context, id)
        .catch((error: unknown) => log.error({ err: error, job: id }, 'job runner failed'))
        .finally(() => {
          running.delete(id);
          clients.delete(id);
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
      waiting.push({ id: job.id, client: job.client });
      kick();
      return job;
    },
    reclaim: (job) => recountChunks(repo, blobs, job),
    async resume(job) {
      waiting.push({ id: job.id, client: job.client });
    },
    resumed: kick,
    abandon: (job) => repo.untrack(job.id),
    async cancel(job) {
      stopped.add(job.id);
      const at = waiting.findIndex((w) => w.id === job.id);
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

interface Waiting {
  id: string;
  client: string | undefined;
}

/**
 * Which waiting job starts now (its index), if any: the earliest of those whose client has the
 * fewest jobs running; it starts while fewer than `maxRunning` jobs run, or whatever runs when
 * its client has none running (jobs without a client, the CLI's, count as one client).
 */
export function nextJob(waiting: readonly Waiting[], running: ReadonlyMap<string, string | undefined>, maxRunning: number): number | undefined {
  const count = (client: string | undefined): number => [...running.values()].filter((c) => c === client).length;
  let best: number | undefined;
  let bestCount = Infinity;
  waiting.forEach((w, i) => {
    const n = count(w.client);
    if (n < bestCount) [best, bestCount] = [i, n];
  });
  if (best === undefined) return undefined;
  return running.size < maxRunning || bestCount === 0 ? best : undefined;
}

/** A job found at start-up goes back to queued, its finished chunks the segments on disk. */
async function recountChunks(repo: FileJobRepository, blobs: BlobStore, job: Job): Promise<Job> {
  const done: number[] = [];
  for (const chunk of job.chunks ?? []) if (await blobs.has(BLOB.chunk(job.id, chunk.index))) done.push(chunk.index);
  return (await repo.update(job.id, { from: ACTIVE_STATUSES, set: { status: 'queued', chunksDone: done } })) ?? { ...job, chunksDone: done };
}
