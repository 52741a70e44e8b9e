/**
 * Where job records live, behind one interface: a file per job on this machine (in-process
 * backend) or Redis (the worker farm). Every change is a patch applied atomically, guarded by the
 * statuses it may start from, so each status transition has exactly one writer: when `run` and
 * `cancel` race, one of them wins and the other is told so (undefined) instead of the last write
 * silently winning. The patch logic itself is pure and shared by both stores.
 */
import { BusyError, RateLimitedError } from '../errors.js';
import { framesOfDoneChunks, type ChunkProgress, type ChunkReport } from './job-progress.js';
import type { Job, JobStatus } from './job-store.js';

export const FINAL_STATUSES: ReadonlySet<JobStatus> = new Set<JobStatus>(['done', 'failed', 'canceled']);
export const ACTIVE_STATUSES: readonly JobStatus[] = ['queued', 'running'];

export function isFinal(job: Pick<Job, 'status'>): boolean {
  return FINAL_STATUSES.has(job.status);
}

export interface JobPatch {
  /** The transition's guard: applied only while the job's status is one of these. */
  from?: readonly JobStatus[];
  set?: Partial<Omit<Job, 'id' | 'createdAt' | 'updatedAt'>>;
  unset?: readonly ('stage' | 'error')[];
  /** A chunk whose segment is complete (recorded once, whoever reports it twice). */
  chunkDone?: number;
}

/** Quotas checked atomically with the creation of a job. */
export interface JobQuotas {
  maxQueuedJobs?: number | undefined;
  maxJobsPerClient?: number | undefined;
}

/** What a full quota answers, in both stores: 'busy', every place taken; 'client', this client's. */
export function quotaError(kind: 'busy' | 'client', count: number): Error {
  return kind === 'busy'
    ? new BusyError(`the server has ${count} video jobs waiting or running, its limit; try again later`, 60)
    : new RateLimitedError(`you already have ${count} video jobs waiting or running; wait for one to finish (or cancel one)`, 60);
}

export type JobEvent =
  /** A stored change. */
  | { type: 'job'; job: Job }
  /** A chunk still being painted reports what it is doing (not stored: it changes every frame). */
  | { type: 'progress'; id: string; chunk: number; report: ChunkReport };

export type NewJob = Pick<Job, 'inputName' | 'styleName' | 'options' | 'client' | 'ownerTokenHash'> & Partial<Pick<Job, 'home' | 'gateway'>>;

export interface JobRepository {
  /**
   * A new queued job; throws BusyError / RateLimitedError when the quotas are full (checked and
   * counted in the same step, so two requests can never both take the last place).
   */
  create(fields: NewJob, quotas?: JobQuotas): Promise<Job>;
  /** Throws as create() would, without creating anything (a refusal before the upload is read). */
  checkQuotas(client: string | undefined, quotas: JobQuotas): Promise<void>;
  get(id: string): Promise<Job | undefined>;
  /** Every job, oldest first. */
  all(): Promise<Job[]>;
  /** Applies the patch atomically; undefined when the job is gone or the guard refused it. */
  update(id: string, patch: JobPatch): Promise<Job | undefined>;
  remove(id: string): Promise<void>;
  /**
   * Announces a running chunk's report to every watcher and keeps it as the chunk's latest
   * (chunkProgress), so that reading the job (GET /api/jobs/:id) shows what its event stream does.
   */
  progress(id: string, chunk: number, report: ChunkReport): void;
  /** The latest progress of each chunk of the job, wherever it is painted (empty if none). */
  chunkProgress(id: string): Promise<ChunkProgress>;
  /** Every change and progress report, wherever it was made; returns the unsubscribe. */
  subscribe(listener: (event: JobEvent) => void): () => void;
  close(): Promise<void>;
}

/**
 * The patched job, or undefined when the guard refuses. Pure: the file store and the Redis
 * store both call it (Redis inside a compare-and-set).
 */
export function applyPatch(job: Job, patch: JobPatch, now = new Date()): Job | undefined {
  if (patch.from && !patch.from.includes(job.status)) return undefined;
  const next: Job = { ...job, ...patch.set, chunksDone: [...(patch.set?.chunksDone ?? job.chunksDone)] };
  for (const key of patch.unset ?? []) delete next[key];
  if (patch.chunkDone !== undefined && !next.chunksDone.includes(patch.chunkDone)) {
    next.chunksDone.push(patch.chunkDone);
    next.chunksDone.sort((a, b) => a - b);
  }
  if (patch.chunkDone !== undefined || patch.set?.chunksDone) next.framesDone = framesOfDoneChunks(next);
  if (next.status === 'done') next.framesDone = next.framesTotal;
  next.updatedAt = now.toISOString();
  return next;
}
