/**
 * One job's run on this machine: its missing chunks painted in parallel by the chunk-process pool
 * (a chunk whose process crashed is tried again, CHUNK_RETRIES times), each recorded as it
 * finishes, then the lifecycle's assembly. A failure stops the job's other chunks and fails it.
 */
import type { Logger } from '../../logger.js';
import type { JobMetrics } from '../../metrics.js';
import { BLOB, type BlobStore } from '../blob-store.js';
import type { ChunkHandlers, ChunkProcessPool } from '../chunk-process-pool.js';
import type { ChunkTask } from '../chunk-process/chunk-process-protocol.js';
import type { JobLifecycle } from '../chunk-scheduler.js';
import { CHUNK_RETRIES, ChunkProcessCrashedError, evenSize, outputSize, publicReason } from '../job-queue.js';
import { ACTIVE_STATUSES, isFinal, type JobRepository } from '../job-repository.js';
import type { Job } from '../job-store.js';

export interface LocalRunContext {
  repo: JobRepository;
  blobs: BlobStore;
  pool: ChunkProcessPool;
  lifecycle: JobLifecycle;
  log: Logger;
  metrics: JobMetrics | undefined;
  /** Chunks waiting for a chunk process, and being painted (the queue-depth gauge). */
  chunks: { waiting: number; active: number };
  /** The job was canceled by this process: its chunks stop retrying at once. */
  stopped(id: string): boolean;
  /** Shutting down: an interrupted job is left as it is, for the next start. */
  closed(): boolean;
}

/** A chunk's work stopped because its job did (canceled or failed elsewhere). */
class JobStoppedError extends Error {}

export async function runJob(ctx: LocalRunContext, id: string): Promise<void> {
  const stored = await ctx.repo.get(id);
  if (!stored || isFinal(stored)) return;
  if (!stored.info || !stored.chunks) {
    await ctx.lifecycle.fail(id, 'the upload did not complete');
    return;
  }
  const job = await ctx.repo.update(id, { from: ACTIVE_STATUSES, set: { status: 'running' } });
  if (!job) return; // canceled while it waited
  ctx.log.info({ job: id, frames: job.framesTotal, chunks: job.chunks!.length, chunksDone: job.chunksDone.length }, 'job started');
  const started = performance.now();
  const preview = previewKeeper(ctx, job);
  try {
    await Promise.all(job.chunks!.filter((c) => !job.chunksDone.includes(c.index)).map((chunk) => paintChunk(ctx, job, chunk, preview)));
    await ctx.lifecycle.assemble(job, started);
  } catch (error) {
    if (ctx.closed()) return; // shutting down: resumed at the next start
    // The job's other chunks stop too: their files are about to go.
    ctx.pool.abortJob(id);
    await ctx.lifecycle.fail(id, publicReason(error), error);
  }
}

type JobChunk = NonNullable<Job['chunks']>[number];

/**
 * Stores each preview a chunk sends; once the first is stored, the job says so (hasPreview): the
 * page asks for GET /api/jobs/:id/preview only then, never for one that is not there yet.
 */
function previewKeeper(ctx: LocalRunContext, job: Job): (jpeg: Uint8Array) => void {
  const { blobs, repo, log } = ctx;
  let said = job.hasPreview === true;
  return (jpeg) =>
    void blobs
      .put(BLOB.preview(job.id), jpeg)
      .then(async () => {
        if (said) return;
        said = true;
        await repo.update(job.id, { from: ['running'], set: { hasPreview: true } });
      })
      .catch((e: unknown) => log.warn({ job: job.id, err: e }, 'could not store the preview'));
}

async function paintChunk(ctx: LocalRunContext, job: Job, chunk: JobChunk, onPreview: (jpeg: Uint8Array) => void): Promise<void> {
  const { blobs, repo } = ctx;
  const id = job.id;
  const timing = { queuedAt: performance.now(), startedAt: performance.now(), slot: 0, frames: 0 };
  const gauge = countChunk(ctx.chunks);
  try {
    await runChunk(ctx, chunkTask(blobs, job, chunk), {
      onStart: (slot) => {
        timing.slot = slot;
        timing.startedAt = performance.now();
        gauge.started();
      },
      onProgress: (report) => {
        timing.frames = report.kept;
        repo.progress(id, chunk.index, report);
      },
      onPreview,
    });
  } finally {
    gauge.ended();
  }
  const now = performance.now();
  ctx.metrics?.observeChunk({
    worker: `local/${timing.slot}`,
    frames: timing.frames,
    totalS: (now - timing.queuedAt) / 1000,
    waitS: (timing.startedAt - timing.queuedAt) / 1000,
    transferS: 0,
    paintS: (now - timing.startedAt) / 1000,
  });
  if (!(await repo.update(id, { from: ['running'], chunkDone: chunk.index }))) throw new JobStoppedError();
}

function chunkTask(blobs: BlobStore, job: Job, chunk: JobChunk): ChunkTask {
  const id = job.id;
  return {
    type: 'chunk',
    jobId: id,
    input: blobs.path(BLOB.input(id)),
    info: job.info!,
    chunk,
    options: job.options,
    stylePath: blobs.path(BLOB.style(id)),
    workSize: evenSize(job.info!, job.options.size),
    outSize: outputSize(job.info!),
    segmentPath: blobs.path(BLOB.chunk(id, chunk.index)),
    ...(job.client !== undefined ? { client: job.client } : {}),
  };
}

async function runChunk(ctx: LocalRunContext, task: ChunkTask, handlers: ChunkHandlers): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await ctx.pool.run(task, handlers);
      return;
    } catch (error) {
      if (!(error instanceof ChunkProcessCrashedError) || attempt >= CHUNK_RETRIES || ctx.stopped(task.jobId) || ctx.closed()) throw error;
      ctx.log.warn({ job: task.jobId, chunk: task.chunk.index, attempt: attempt + 1, reason: error.message }, 'chunk worker crashed; retrying the chunk');
      handlers.onProgress({ stage: 'decoding', kept: 0, painted: 0 });
    }
  }
}

/** Counts one chunk as waiting until it starts, then as active until it ends. */
function countChunk(chunks: { waiting: number; active: number }): { started(): void; ended(): void } {
  let state: 'waiting' | 'active' | undefined = 'waiting';
  chunks.waiting++;
  const uncount = (): void => {
    if (state === 'waiting') chunks.waiting--;
    if (state === 'active') chunks.active--;
    state = undefined;
  };
  return {
    started() {
      uncount();
      chunks.active++;
      state = 'active';
    },
    ended: uncount,
  };
}
