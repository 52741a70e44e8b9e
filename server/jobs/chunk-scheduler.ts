/**
 * The seam between the one job lifecycle (job-service.ts: admission, assembly, cleanup, sweep,
 * resume) and what paints a job's chunks: this machine's chunk processes
 * (local/local-scheduler.ts) or a BullMQ flow on the worker farm (farm/farm-scheduler.ts). A new
 * backend is one adapter implementing ChunkScheduler; it calls back into the lifecycle
 * (JobLifecycle) once the chunks are painted, or when a job cannot go on.
 */
import type { Readable } from 'node:stream';
import type { NewJob } from './job-repository.js';
import type { Job } from './job-store.js';

/** What the lifecycle does for a scheduler. */
export interface JobLifecycle {
  /**
   * Puts the painted chunks together with the input's audio and marks the job done. 'skipped':
   * the job had already ended; 'canceled': it was canceled meanwhile (the output is deleted).
   * Throws what the assembly threw (the job is left as it was: the caller decides).
   * `runStartedAt` (performance.now() when its painting began) puts the job's seconds in the log.
   */
  assemble(job: Job, runStartedAt?: number): Promise<'done' | 'canceled' | 'skipped'>;
  /**
   * Marks an unfinished job failed with `reason` (shown to its user; `cause` goes to the log)
   * and cleans up after it; undefined when it had already ended (or the failure could not be
   * recorded, which is logged).
   */
  fail(id: string, reason: string, cause?: unknown): Promise<Job | undefined>;
  /** An ended job's work files go, once: chunks, a half-made output, a canceled job's input. */
  cleanup(job: Job): Promise<void>;
}

/** A job's files held by another process (the farm: the blob endpoints of its gateway). */
export interface ForeignJobFiles {
  open(job: Job, key: string): Promise<{ stream: Readable; size: number | undefined } | undefined>;
  /** Deletes all of the job's files there (a failure is logged, not thrown). */
  remove(job: Job): Promise<void>;
}

export interface ChunkScheduler {
  /** Chunk workers a new job's chunk count is balanced for (at least 1). */
  workers(): Promise<number>;
  /** What a new job's record carries for this backend (the farm: the gateway holding its files). */
  recordFields(): Pick<NewJob, 'home' | 'gateway'>;
  /** Whether this process holds the job's files and runs its lifecycle (in-process: every job). */
  owns(job: Job): boolean;
  /** A new job, its files in place, gets painted; resolves with the job as its client sees it. */
  start(job: Job): Promise<Job>;
  /** An unfinished job found at start-up, brought to the state it resumes from. */
  reclaim(job: Job): Promise<Job>;
  /** Then handed over to be painted (again). */
  resume(job: Job): Promise<void>;
  /** Every job found at start-up has been resumed. */
  resumed?(): void;
  /** A job reclaim() or resume() failed on: it stays as it is (and stops counting for quotas here). */
  abandon?(job: Job): void;
  /** Stops painting a job that has just been marked canceled (its files are the lifecycle's). */
  cancel(job: Job): Promise<void>;
  /** Resolves once nothing of the job runs in this process any more. */
  idle?(id: string): Promise<void>;
  /** Of an ended job, what the backend keeps elsewhere comes home (the farm: the last preview). */
  collect?(job: Job): Promise<void>;
  /** The latest frame of a job being painted, where it is not a blob here (the farm: Redis). */
  livePreview?(id: string): Promise<Buffer | undefined>;
  foreign?: ForeignJobFiles;
  /** The log's words when resume() cannot read the jobs, or cannot take one back. */
  readonly resumeWords: { unreadable: string; abandoned: string };
  /** Chunk process ids on this machine (tests and benches). */
  workerPids(): number[];
  close(): Promise<void>;
}
