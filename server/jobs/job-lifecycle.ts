/**
 * How a job ends, whichever backend painted it: the assembly of its chunks with the input's audio
 * (done), a failure (failed), and the cleanup after either or a cancel — one place for both
 * backends, so what stays behind an ended job is the same everywhere: the output of a done job,
 * the input of a failed one (for a look at what went wrong), nothing half-made.
 */
import { rm } from 'node:fs/promises';
import type { Logger } from '../logger.js';
import { assembleMp4 } from '../video/ffmpeg.js';
import { BLOB, type BlobStore } from './blob-store.js';
import type { ChunkScheduler, JobLifecycle } from './chunk-scheduler.js';
import { ACTIVE_STATUSES, type JobRepository } from './job-repository.js';
import type { Job } from './job-store.js';

export interface JobLifecycleDeps {
  repo: JobRepository;
  blobs: BlobStore;
  log: Logger;
  /** Known once the scheduler exists (it is made with this lifecycle). */
  scheduler: () => ChunkScheduler;
}

export interface OwnedJobLifecycle extends JobLifecycle {
  /** Forgets the cleanup of a deleted job (so a long-running server does not keep every id). */
  forget(id: string): void;
}

export function createJobLifecycle(deps: JobLifecycleDeps): OwnedJobLifecycle {
  /** Cleanups started, by job: each runs once, and a second caller waits for the first. */
  const cleanups = new Map<string, Promise<void>>();
  const cleanup = (job: Job): Promise<void> => {
    const running = cleanups.get(job.id) ?? removeWorkFiles(deps, job);
    cleanups.set(job.id, running);
    return running;
  };
  return {
    assemble: (job, runStartedAt) => assemble(deps, cleanup, job, runStartedAt),
    fail: (id, reason, cause) => fail(deps, cleanup, id, reason, cause),
    cleanup,
    forget: (id) => void cleanups.delete(id),
  };
}

async function removeWorkFiles(deps: JobLifecycleDeps, job: Job): Promise<void> {
  const { blobs } = deps;
  await deps.scheduler().collect?.(job);
  await blobs.remove(`${job.id}/chunks`);
  const output = blobs.path(BLOB.output(job.id));
  await rm(`${output}.tmp`, { force: true });
  await rm(`${output}.tmp.segments.txt`, { force: true });
  if (job.status === 'canceled') await blobs.remove(BLOB.input(job.id));
}

async function assemble(deps: JobLifecycleDeps, cleanup: (job: Job) => Promise<void>, job: Job, runStartedAt?: number): Promise<'done' | 'canceled' | 'skipped'> {
  const { repo, blobs } = deps;
  const id = job.id;
  const assembling = await repo.update(id, { from: ACTIVE_STATUSES, set: { status: 'running', stage: 'assembling' } });
  if (!assembling) return 'skipped';
  const started = performance.now();
  const output = blobs.path(BLOB.output(id));
  await assembleMp4(job.chunks!.map((c) => blobs.path(BLOB.chunk(id, c.index))), blobs.path(BLOB.input(id)), job.info!, `${output}.tmp`);
  await blobs.putFile(BLOB.output(id), `${output}.tmp`);
  const done = await repo.update(id, { from: ['running'], set: { status: 'done' }, unset: ['stage'] });
  if (!done) {
    await blobs.remove(BLOB.output(id)); // canceled while it was put together
    return 'canceled';
  }
  await cleanup(done).catch((error: unknown) => deps.log.warn({ err: error, job: id }, 'could not clean up after a job'));
  deps.log.info({ job: id, frames: job.framesTotal, ...(runStartedAt !== undefined ? { seconds: seconds(runStartedAt) } : {}), assemblyS: seconds(started) }, 'job done');
  return 'done';
}

async function fail(deps: JobLifecycleDeps, cleanup: (job: Job) => Promise<void>, id: string, reason: string, cause?: unknown): Promise<Job | undefined> {
  const { log } = deps;
  const failed = await deps.repo
    .update(id, { from: ACTIVE_STATUSES, set: { status: 'failed', error: reason }, unset: ['stage'] })
    .catch((error: unknown) => void log.error({ job: id, err: error }, 'could not record the failure'));
  if (!failed) return undefined; // ended already (a cancel has cleaned up)
  const detail = (cause as { detail?: string } | undefined)?.detail;
  log.warn({ job: id, reason, ...(cause !== undefined ? { err: cause } : {}), ...(detail !== undefined ? { detail } : {}) }, 'job failed');
  // Nothing half-made stays behind; the input stays for a look at what went wrong.
  if (deps.scheduler().owns(failed)) await cleanup(failed);
  return failed;
}

const seconds = (since: number): number => Math.round((performance.now() - since) / 100) / 10;
