/**
 * The in-process job repository: job.json files (job-store.ts) on this machine. Changes of one job
 * are applied one after the other (read → patch → atomic write), so a guarded transition sees the
 * state the previous one left. Quotas count the queued and running jobs this process knows of
 * (`all()` at start-up counts the ones left on disk).
 */
import { EventEmitter } from 'node:events';
import { applyPatch, isFinal, quotaError, type JobEvent, type JobPatch, type JobQuotas, type JobRepository, type NewJob } from '../job-repository.js';
import type { ChunkProgress, ChunkReport } from '../job-progress.js';
import { createJobStore, type Job, type JobStore } from '../job-store.js';

export interface FileJobRepository extends JobRepository {
  readonly store: JobStore;
  /** Stops counting a job for the quotas (one that could not be resumed). */
  untrack(id: string): void;
}

export function createFileJobRepository(dataDir: string): FileJobRepository {
  const store = createJobStore(dataDir);
  const events = new EventEmitter<{ event: [JobEvent] }>();
  // One listener per watcher (an SSE client, the CLI), each removed when it stops.
  events.setMaxListeners(0);
  const emit = (event: JobEvent): void => void events.emit('event', event);
  const active = createActiveJobs();
  const serial = createSerialQueue();
  // Chunks are painted by this process's own pool: their latest reports live in memory, like the events.
  const reports = new Map<string, Map<number, ChunkReport>>();
  return {
    store,
    async create(fields: NewJob, quotas: JobQuotas = {}) {
      active.check(fields.client, quotas);
      // Counted before the first await: a request that arrives meanwhile sees this place taken.
      const release = active.reserve(fields.client);
      try {
        const job = await store.create({
          inputName: fields.inputName,
          styleName: fields.styleName,
          options: fields.options,
          ...(fields.client ? { client: fields.client } : {}),
          ...(fields.ownerTokenHash ? { ownerTokenHash: fields.ownerTokenHash } : {}),
        });
        active.track(job);
        emit({ type: 'job', job: { ...job } });
        return job;
      } finally {
        release();
      }
    },
    checkQuotas: async (client, quotas) => active.check(client, quotas),
    untrack: (id) => active.untrack(id),
    get: (id) => store.load(id),
    async all() {
      const jobs = await store.all();
      active.recount(jobs);
      return jobs;
    },
    update: (id: string, patch: JobPatch) =>
      serial.run(id, async () => {
        const job = await store.load(id);
        const next = job && applyPatch(job, patch);
        if (!next) return undefined;
        await store.save(next);
        active.track(next);
        emit({ type: 'job', job: { ...next } });
        return next;
      }),
    async remove(id) {
      await serial.run(id, () => store.remove(id));
      active.untrack(id);
      reports.delete(id);
    },
    progress(id, chunk, report) {
      let chunks = reports.get(id);
      if (!chunks) reports.set(id, (chunks = new Map()));
      chunks.set(chunk, { ...report });
      emit({ type: 'progress', id, chunk, report: { ...report } });
    },
    chunkProgress: async (id): Promise<ChunkProgress> => new Map(reports.get(id)),
    subscribe(listener) {
      events.on('event', listener);
      return () => events.off('event', listener);
    },
    close: () => serial.drain(),
  };
}

/** Queued and running jobs with who asked for them: what the quotas count. */
function createActiveJobs() {
  const active = new Map<string, string | undefined>();
  const track = (job: Job): void => {
    if (isFinal(job)) active.delete(job.id);
    else active.set(job.id, job.client);
  };
  return {
    track,
    untrack: (id: string): void => void active.delete(id),
    recount(jobs: Job[]): void {
      active.clear();
      for (const job of jobs) track(job);
    },
    /** Holds a place for a job being created; returns its release. */
    reserve(client: string | undefined): () => void {
      const placeholder = `pending-${Math.random()}`;
      active.set(placeholder, client);
      return () => active.delete(placeholder);
    },
    check(client: string | undefined, quotas: JobQuotas): void {
      if (quotas.maxQueuedJobs !== undefined && active.size >= quotas.maxQueuedJobs) throw quotaError('busy', active.size);
      if (quotas.maxJobsPerClient !== undefined && client !== undefined) {
        const mine = [...active.values()].filter((c) => c === client).length;
        if (mine >= quotas.maxJobsPerClient) throw quotaError('client', mine);
      }
    },
  };
}

/** Work on one job runs after every earlier work on it. */
function createSerialQueue() {
  const locks = new Map<string, Promise<unknown>>();
  return {
    run<T>(id: string, work: () => Promise<T>): Promise<T> {
      const next = (locks.get(id) ?? Promise.resolve()).catch(() => undefined).then(work);
      locks.set(id, next);
      void next
        .finally(() => {
          if (locks.get(id) === next) locks.delete(id);
        })
        .catch(() => undefined);
      return next;
    },
    async drain(): Promise<void> {
      await Promise.all([...locks.values()].map((p) => p.catch(() => undefined)));
    },
  };
}
