/**
 * The in-process job backend (no REDIS_URL): probe → plan chunks → chunks painted in parallel by
 * this machine's worker processes → the MP4 assembled with the original audio. Up to one job per
 * worker runs at once, and the pool shares workers fairly between them; more wait in a bounded
 * queue. Jobs are job.json files and their files blobs under `<data-dir>/jobs/`; every finished
 * chunk is recorded, so a restarted server resumes each unfinished job at its first missing
 * chunk; a chunk whose worker crashed is retried. Ended jobs are deleted after the retention time.
 */
import os from 'node:os';
import path from 'node:path';
import { rm } from 'node:fs/promises';
import type { BackendName, ModelChoice } from '../../config.js';
import { encodeImage } from '../../codec/image-codec.js';
import type { Logger } from '../../logger.js';
import type { JobMetrics } from '../../metrics.js';
import { assembleMp4, type VideoLimits } from '../../video/ffmpeg.js';
import { BLOB, createFileBlobStore } from '../blob-store.js';
import { createFileJobRepository } from './file-job-repository.js';
import {
  CHUNK_RETRIES,
  ChunkProcessCrashedError,
  evenSize,
  outputSize,
  planJob,
  publicReason,
  watchJob,
  type JobQueue,
  type SubmitRequest,
} from '../job-queue.js';
import { ACTIVE_STATUSES, FINAL_STATUSES, isFinal } from '../job-repository.js';
import type { Job } from '../job-store.js';
import { createChunkProcessPool, type ChunkHandlers, type ChunkProcessPool } from '../chunk-process-pool.js';
import type { ChunkTask } from '../chunk-process/chunk-process-protocol.js';

export interface LocalJobQueueOptions {
  dataDir: string;
  workers: number;
  limits: VideoLimits;
  model: ModelChoice;
  weights: string | undefined;
  modelsDir: string;
  seed: number;
  backend: BackendName | undefined;
  log: Logger;
  /** Override chunk length (frames); default about two seconds. */
  chunkFrames?: number;
  /** Largest job: frames × working megapixels × steps (default: no limit). */
  maxJobCost?: number;
  /** Queued or running jobs one client may have (default: no limit). */
  maxJobsPerClient?: number;
  /** Queued or running jobs in all (default: no limit). */
  maxQueuedJobs?: number;
  /** Ended jobs are deleted this long after they end, seconds (default: kept). */
  retentionS?: number;
  metrics?: JobMetrics;
  /** Where learned painters are kept (default <dataDir>/painters). */
  paintersDir?: string;
}

/** A chunk's work stopped because its job did (canceled or failed elsewhere). */
class JobStoppedError extends Error {}

export function createLocalJobQueue(options: LocalJobQueueOptions): JobQueue {
  const repo = createFileJobRepository(options.dataDir);
  const blobs = createFileBlobStore(repo.store.root);
  const cores = os.availableParallelism();
  const pool: ChunkProcessPool = createChunkProcessPool(options.workers, {
    model: options.model,
    weights: options.weights,
    modelsDir: options.modelsDir,
    seed: options.seed,
    backend: options.backend,
    threads: Math.max(1, Math.floor(cores / options.workers)),
    paintersDir: options.paintersDir ?? path.join(options.dataDir, 'painters'),
  });
  const log = options.log;
  const waiting: string[] = [];
  const running = new Map<string, Promise<void>>();
  /** Jobs this process canceled: their chunks stop retrying at once. */
  const stopped = new Set<string>();
  const maxRunning = Math.max(1, options.workers);
  let chunksWaiting = 0;
  let chunksActive = 0;
  let closed = false;
  const sweeper = options.retentionS !== undefined ? setInterval(() => void queue.sweep(), Math.min(600_000, Math.max(1000, (options.retentionS * 1000) / 4))) : undefined;
  sweeper?.unref();
  options.metrics?.setQueueDepthSource(async () => ({ waiting: chunksWaiting, active: chunksActive, jobs: waiting.length + running.size }));

  function kick(): void {
    while (!closed && running.size < maxRunning && waiting.length > 0) {
      const id = waiting.shift()!;
      const work = run(id)
        .catch((error: unknown) => log.error({ err: error, job: id }, 'job runner failed'))
        .finally(() => {
          running.delete(id);
          kick();
        });
      running.set(id, work);
    }
  }

  async function runChunk(id: string, task: ChunkTask, handlers: ChunkHandlers): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await pool.run(task, handlers);
        return;
      } catch (error) {
        if (!(error instanceof ChunkProcessCrashedError) || attempt >= CHUNK_RETRIES || stopped.has(id) || closed) throw error;
        log.warn({ job: id, chunk: task.chunk.index, attempt: attempt + 1, reason: error.message }, 'chunk worker crashed; retrying the chunk');
        handlers.onProgress(0);
      }
    }
  }

  async function paintChunk(job: Job, chunk: NonNullable<Job['chunks']>[number]): Promise<void> {
    const id = job.id;
    const queuedAt = performance.now();
    let startedAt = queuedAt;
    let slot = 0;
    chunksWaiting++;
    let counted: 'waiting' | 'active' | undefined = 'waiting';
    const settle = (): void => {
      if (counted === 'waiting') chunksWaiting--;
      if (counted === 'active') chunksActive--;
      counted = undefined;
    };
    let frames = 0;
    try {
      await runChunk(
        id,
        {
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
        },
        {
          onStart: (s) => {
            slot = s;
            startedAt = performance.now();
            settle();
            chunksActive++;
            counted = 'active';
          },
          onProgress: (kept) => {
            frames = kept;
            repo.progress(id, chunk.index, kept);
          },
          onLearning: (step, steps) => repo.progress(id, chunk.index, 0, { step, steps }),
          onPreview: (jpeg) => void blobs.put(BLOB.preview(id), jpeg).catch((e: unknown) => log.warn({ job: id, err: e }, 'could not store the preview')),
        },
      );
    } finally {
      settle();
    }
    const now = performance.now();
    options.metrics?.observeChunk({
      worker: `local/${slot}`,
      frames,
      totalS: (now - queuedAt) / 1000,
      waitS: (startedAt - queuedAt) / 1000,
      transferS: 0,
      paintS: (now - startedAt) / 1000,
    });
    if (!(await repo.update(id, { from: ['running'], chunkDone: chunk.index }))) throw new JobStoppedError();
  }

  async function removeWorkFiles(id: string, also: { input?: boolean } = {}): Promise<void> {
    await blobs.remove(`${id}/chunks`);
    await rm(`${blobs.path(BLOB.output(id))}.tmp`, { force: true });
    await rm(`${blobs.path(BLOB.output(id))}.tmp.segments.txt`, { force: true });
    if (also.input) await blobs.remove(BLOB.input(id));
  }

  async function run(id: string): Promise<void> {
    const stored = await repo.get(id);
    if (!stored || isFinal(stored)) return;
    if (!stored.info || !stored.chunks) {
      // Created, but the server stopped before the upload was in place.
      await repo.update(id, { from: ACTIVE_STATUSES, set: { status: 'failed', error: 'the upload did not complete' } });
      return;
    }
    const job = await repo.update(id, { from: ACTIVE_STATUSES, set: { status: 'running' } });
    if (!job) return; // canceled while it waited
    log.info({ job: id, frames: job.framesTotal, chunks: job.chunks!.length, chunksDone: job.chunksDone.length }, 'job started');
    const started = performance.now();
    try {
      await Promise.all(job.chunks!.filter((c) => !job.chunksDone.includes(c.index)).map((chunk) => paintChunk(job, chunk)));
      if (!(await repo.update(id, { from: ['running'], set: { stage: 'assembling' } }))) return;
      const output = blobs.path(BLOB.output(id));
      const tmp = `${output}.tmp`;
      await assembleMp4(job.chunks!.map((c) => blobs.path(BLOB.chunk(id, c.index))), blobs.path(BLOB.input(id)), job.info!, tmp);
      await blobs.putFile(BLOB.output(id), tmp);
      if (!(await repo.update(id, { from: ['running'], set: { status: 'done' }, unset: ['stage'] }))) {
        await blobs.remove(BLOB.output(id)); // canceled while it was put together
        return;
      }
      await removeWorkFiles(id);
      log.info({ job: id, frames: job.framesTotal, seconds: Math.round((performance.now() - started) / 100) / 10 }, 'job done');
    } catch (error) {
      if (closed) return; // shutting down: resumed at the next start
      // The job's other chunks stop too: their files are about to go.
      pool.abortJob(id);
      const failed = await repo
        .update(id, { from: ACTIVE_STATUSES, set: { status: 'failed', error: publicReason(error) }, unset: ['stage'] })
        .catch((e: unknown) => log.error({ job: id, err: e }, 'could not record the failure'));
      if (!failed) return; // canceled: cancel() has cleaned up
      log.warn({ job: id, err: error, detail: (error as { detail?: string }).detail }, 'job failed');
      // Nothing half-made stays behind; the input stays for a look at what went wrong.
      await removeWorkFiles(id);
    }
  }

  async function submit(request: SubmitRequest): Promise<Job> {
    let job: Job | undefined;
    const quotas = { maxQueuedJobs: options.maxQueuedJobs, maxJobsPerClient: options.maxJobsPerClient };
    try {
      // Refused before anything is read when the quotas are already full…
      await repo.checkQuotas(request.client, quotas);
      const { info, chunks } = await planJob(request.inputPath, request.options, {
        limits: options.limits,
        workers: options.workers,
        chunkFrames: options.chunkFrames,
        maxJobCost: options.maxJobCost,
      });
      const style = await request.style();
      // …and counted for real only now: another request may have taken the last place meanwhile.
      job = await repo.create({ inputName: request.inputName, styleName: request.styleName, options: request.options, ...(request.client ? { client: request.client } : {}) }, quotas);
      await blobs.putFile(BLOB.input(job.id), request.inputPath);
      await blobs.put(BLOB.style(job.id), request.styleBytes ? await request.styleBytes() : await encodeImage(style, 'png'));
      job = (await repo.update(job.id, { set: { info, chunks, framesTotal: info.frames } }))!;
    } catch (error) {
      // Refused or failed half-way (a full disk, say): nothing of it stays behind.
      if (job) await repo.remove(job.id).catch(() => undefined);
      throw error;
    } finally {
      await rm(request.inputPath, { force: true }).catch(() => undefined);
    }
    log.info({ job: job.id, client: request.client, frames: job.framesTotal, input: job.inputName }, 'job queued');
    waiting.push(job.id);
    kick();
    return job;
  }

  async function cancel(id: string): Promise<Job | undefined> {
    const job = await repo.update(id, { from: ACTIVE_STATUSES, set: { status: 'canceled' }, unset: ['stage'] });
    if (!job) return repo.get(id);
    stopped.add(id);
    const at = waiting.indexOf(id);
    if (at !== -1) waiting.splice(at, 1);
    pool.abortJob(id);
    log.info({ job: id }, 'job canceled');
    await removeWorkFiles(id, { input: true });
    return job;
  }

  const queue: JobQueue = {
    kind: 'local',
    submit,
    get: (id) => repo.get(id),
    watch: (id, watchOptions) => watchJob(repo, id, watchOptions),
    cancel,
    async remove(id) {
      const job = await cancel(id);
      if (!job) return undefined;
      await running.get(id); // a canceled run ends quickly; its files are ours to delete after
      await repo.remove(id);
      await blobs.remove(id);
      log.info({ job: id }, 'job deleted');
      return job;
    },
    async output(id) {
      const key = BLOB.output(id);
      return (await blobs.has(key)) ? { path: blobs.path(key) } : undefined;
    },
    preview: (id) => blobs.get(BLOB.preview(id)),
    async resume() {
      let jobs: Job[] = [];
      try {
        jobs = await repo.all();
      } catch (error) {
        log.error({ err: error }, 'could not read the job store; no jobs resumed');
      }
      for (const job of jobs) {
        if (isFinal(job)) continue;
        try {
          // Chunks cut off mid-way left temp segments behind; finished ones are kept.
          await blobs.removeTemporary(`${job.id}/chunks`);
          const done: number[] = [];
          for (const chunk of job.chunks ?? []) if (await blobs.has(BLOB.chunk(job.id, chunk.index))) done.push(chunk.index);
          await repo.update(job.id, { from: ACTIVE_STATUSES, set: { status: 'queued', chunksDone: done } });
          log.info({ job: job.id, chunksDone: done.length }, 'resuming job');
          waiting.push(job.id);
        } catch (error) {
          // One job that cannot even be written back (a full disk) must not stop the server.
          log.error({ job: job.id, err: error }, 'could not resume this job; it stays as it is until the next start');
          repo.untrack(job.id);
        }
      }
      await queue.sweep().catch(() => 0);
      kick();
    },
    async sweep() {
      if (options.retentionS === undefined) return 0;
      const cutoff = Date.now() - options.retentionS * 1000;
      let removed = 0;
      for (const job of await repo.all()) {
        if (!FINAL_STATUSES.has(job.status) || Date.parse(job.updatedAt) > cutoff) continue;
        await repo.remove(job.id);
        await blobs.remove(job.id);
        removed++;
        log.info({ job: job.id, status: job.status }, 'job expired (retention); files deleted');
      }
      return removed;
    },
    workerPids: () => pool.pids(),
    async close() {
      closed = true;
      if (sweeper) clearInterval(sweeper);
      waiting.length = 0;
      await pool.close();
      await Promise.all(running.values());
      await repo.close();
    },
  };
  return queue;
}
