/**
 * The one job lifecycle behind both backends: over a JobRepository (where records live) and a
 * BlobStore (where this process keeps job files), with a ChunkScheduler (chunk-scheduler.ts) that
 * paints the chunks. Here: admission and submit (quotas, probe, plan, cost cap, the files in
 * place), cancel and delete, the output and preview, the retention sweep (on a timer too), the
 * resume of unfinished jobs at start, and watching; job-lifecycle.ts: assembly, failure, cleanup.
 * createLocalJobQueue and createFarmJobQueue only compose this with their scheduler.
 */
import { rm } from 'node:fs/promises';
import { encodeImage } from '../codec/image-codec.js';
import type { Logger } from '../logger.js';
import type { VideoLimits } from '../video/ffmpeg.js';
import { BLOB, type BlobStore } from './blob-store.js';
import type { ChunkScheduler, JobLifecycle } from './chunk-scheduler.js';
import { createJobLifecycle, type OwnedJobLifecycle } from './job-lifecycle.js';
import { planJob, watchJob, type JobQueue, type OutputSource, type SubmitRequest } from './job-queue.js';
import { ACTIVE_STATUSES, isFinal, type JobRepository } from './job-repository.js';
import { withChunkProgress } from './job-progress.js';
import type { Job } from './job-store.js';

export interface JobServiceOptions {
  kind: JobQueue['kind'];
  repo: JobRepository;
  blobs: BlobStore;
  log: Logger;
  limits: VideoLimits;
  /** Override chunk length (frames); default about two seconds. */
  chunkFrames?: number | undefined;
  /** Largest job: frames × working megapixels × steps (default: no limit). */
  maxJobCost?: number | undefined;
  /** Queued or running jobs one client may have (default: no limit). */
  maxJobsPerClient?: number | undefined;
  /** Queued or running jobs in all (default: no limit). */
  maxQueuedJobs?: number | undefined;
  /** Ended jobs are deleted this long after they end, seconds (default: kept). */
  retentionS?: number | undefined;
  /** Watchers also re-read the job this often (change notices that can be lost: pub/sub). */
  watchPollMs?: number;
}

interface Service {
  options: JobServiceOptions;
  scheduler: ChunkScheduler;
  lifecycle: OwnedJobLifecycle;
}

/** The queue; `makeScheduler` gets the lifecycle its scheduler calls back into. */
export function createJobService(options: JobServiceOptions, makeScheduler: (lifecycle: JobLifecycle) => ChunkScheduler): JobQueue {
  let scheduler: ChunkScheduler | undefined;
  const lifecycle = createJobLifecycle({ repo: options.repo, blobs: options.blobs, log: options.log, scheduler: () => scheduler! });
  scheduler = makeScheduler(lifecycle);
  const service: Service = { options, scheduler, lifecycle };
  const { repo } = options;
  const retentionS = options.retentionS;
  const sweeper = retentionS !== undefined ? setInterval(() => void sweep(service).catch(() => 0), Math.min(600_000, Math.max(1000, (retentionS * 1000) / 4))) : undefined;
  sweeper?.unref();
  return {
    kind: options.kind,
    submit: (request) => submit(service, request),
    // What the event stream shows: chunks still being painted count in (on the farm too).
    async get(id) {
      const [job, reported] = await Promise.all([repo.get(id), repo.chunkProgress(id)]);
      return job && withChunkProgress(job, reported);
    },
    watch: (id, watchOptions) => watchJob(repo, id, { ...(options.watchPollMs ? { pollMs: options.watchPollMs } : {}), ...watchOptions }),
    cancel: (id) => cancel(service, id),
    remove: (id) => remove(service, id),
    output: (id) => output(service, id),
    preview: (id) => preview(service, id),
    resume: () => resume(service),
    sweep: () => sweep(service),
    workerPids: () => service.scheduler.workerPids(),
    async close() {
      if (sweeper) clearInterval(sweeper);
      await service.scheduler.close();
      await repo.close();
    },
  };
}

async function submit({ options, scheduler }: Service, request: SubmitRequest): Promise<Job> {
  const { repo, blobs } = options;
  const quotas = { maxQueuedJobs: options.maxQueuedJobs, maxJobsPerClient: options.maxJobsPerClient };
  let job: Job | undefined;
  try {
    // Refused before anything is read when the quotas are already full…
    await repo.checkQuotas(request.client, quotas);
    const { info, chunks } = await planJob(request.inputPath, request.options, {
      limits: options.limits,
      workers: await scheduler.workers(),
      chunkFrames: options.chunkFrames,
      maxJobCost: options.maxJobCost,
    });
    const style = await request.style();
    // …and counted for real only now: another request may have taken the last place meanwhile.
    const fields = { inputName: request.inputName, styleName: request.styleName, options: request.options, ...scheduler.recordFields() };
    const owner = { ...(request.client ? { client: request.client } : {}), ...(request.ownerTokenHash ? { ownerTokenHash: request.ownerTokenHash } : {}) };
    job = await repo.create({ ...fields, ...owner }, quotas);
    await blobs.putFile(BLOB.input(job.id), request.inputPath);
    await blobs.put(BLOB.style(job.id), request.styleBytes ? await request.styleBytes() : await encodeImage(style, 'png'));
    job = (await repo.update(job.id, { set: { info, chunks, framesTotal: info.frames } }))!;
  } catch (error) {
    // Refused or failed half-way (a full disk, say): nothing of it stays behind.
    if (job) {
      await repo.remove(job.id).catch(() => undefined);
      await blobs.remove(job.id).catch(() => undefined);
    }
    throw error;
  } finally {
    await rm(request.inputPath, { force: true }).catch(() => undefined);
  }
  options.log.info({ job: job.id, client: request.client, frames: job.framesTotal, input: job.inputName }, 'job queued');
  return scheduler.start(job);
}

async function cancel({ options, scheduler, lifecycle }: Service, id: string): Promise<Job | undefined> {
  const job = await options.repo.update(id, { from: ACTIVE_STATUSES, set: { status: 'canceled' }, unset: ['stage'] });
  if (!job) return options.repo.get(id);
  await scheduler.cancel(job);
  options.log.info({ job: id }, 'job canceled');
  if (scheduler.owns(job)) await lifecycle.cleanup(job);
  return job;
}

async function remove(service: Service, id: string): Promise<Job | undefined> {
  const { options, scheduler } = service;
  const job = await cancel(service, id);
  if (!job) return undefined;
  await scheduler.idle?.(id); // a canceled run ends quickly; its files are ours to delete after
  await options.repo.remove(id);
  if (scheduler.owns(job)) await options.blobs.remove(id);
  else await scheduler.foreign?.remove(job);
  service.lifecycle.forget(id);
  options.log.info({ job: id }, 'job deleted');
  return job;
}

async function output({ options, scheduler }: Service, id: string): Promise<OutputSource | undefined> {
  const job = await options.repo.get(id);
  if (!job) return undefined;
  const key = BLOB.output(id);
  if (scheduler.owns(job)) return (await options.blobs.has(key)) ? { path: options.blobs.path(key) } : undefined;
  return scheduler.foreign?.open(job, key);
}

async function preview({ options, scheduler }: Service, id: string): Promise<Buffer | undefined> {
  const live = await scheduler.livePreview?.(id);
  if (live) return live;
  const job = await options.repo.get(id);
  if (!job) return undefined;
  if (scheduler.owns(job)) return options.blobs.get(BLOB.preview(id));
  const held = await scheduler.foreign?.open(job, BLOB.preview(id)).catch(() => undefined);
  if (!held) return undefined;
  const parts: Buffer[] = [];
  for await (const part of held.stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

/** Picks up this process's unfinished jobs (and cleans up after ended ones); never throws for one job. */
async function resume(service: Service): Promise<void> {
  const { options, scheduler } = service;
  let jobs: Job[] = [];
  try {
    jobs = await options.repo.all();
  } catch (error) {
    options.log.error({ err: error }, scheduler.resumeWords.unreadable);
  }
  for (const job of jobs.filter((j) => scheduler.owns(j))) {
    try {
      await resumeOne(service, job);
    } catch (error) {
      // One job that cannot even be written back (a full disk) must not stop the server.
      options.log.error({ job: job.id, err: error }, scheduler.resumeWords.abandoned);
      scheduler.abandon?.(job);
    }
  }
  await sweep(service).catch(() => 0);
  scheduler.resumed?.();
}

async function resumeOne({ options, scheduler, lifecycle }: Service, job: Job): Promise<void> {
  if (isFinal(job)) return lifecycle.cleanup(job);
  // Chunks cut off mid-way left temp segments behind; finished ones are kept.
  await options.blobs.removeTemporary(`${job.id}/chunks`);
  if (!job.info || !job.chunks) {
    // Created, but the server stopped before the upload was in place.
    await lifecycle.fail(job.id, 'the upload did not complete');
    return;
  }
  const reclaimed = await scheduler.reclaim(job);
  options.log.info({ job: job.id, chunksDone: reclaimed.chunksDone.length }, 'resuming job');
  await scheduler.resume(reclaimed);
}

/** Deletes this process's ended jobs older than the retention time. */
async function sweep({ options, scheduler, lifecycle }: Service): Promise<number> {
  if (options.retentionS === undefined) return 0;
  const cutoff = Date.now() - options.retentionS * 1000;
  let removed = 0;
  for (const job of await options.repo.all()) {
    if (!scheduler.owns(job) || !isFinal(job) || Date.parse(job.updatedAt) > cutoff) continue;
    await options.repo.remove(job.id);
    await options.blobs.remove(job.id);
    lifecycle.forget(job.id);
    removed++;
    options.log.info({ job: job.id, status: job.status }, 'job expired (retention); files deleted');
  }
  return removed;
}
