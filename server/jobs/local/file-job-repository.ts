/**
 * The in-process job repository: job.json files (job-store.ts) on this machine. Changes of one job
 * are applied one after the other (read → patch → atomic write), so a guarded transition sees the
 * state the previous one left. Quotas count the queued and running jobs this process knows of
 * (`all()` at start-up counts the ones left on disk).
 */
import { EventEmitter } from 'node:events';
import { BusyError, RateLimitedError } from '../../errors.js';
import { applyPatch, isFinal, type JobEvent, type JobPatch, type JobQuotas, type JobRepository, type NewJob } from '../job-repository.js';
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
  /** Queued and running jobs, with who asked: the quotas count these. */
  const active = new Map<string, string | undefined>();
  const locks = new Map<string, Promise<unknown>>();

  /** Runs `work` after every earlier change of this job. */
  function serial<T>(id: string, work: () => Promise<T>): Promise<T> {
    const next = (locks.get(id) ?? Promise.resolve()).catch(() => undefined).then(work);
    locks.set(id, next);
    void next.finally(() => {
      if (locks.get(id) === next) locks.delete(id);
    }).catch(() => undefined);
    return next;
  }

  function track(job: Job): void {
    if (isFinal(job)) active.delete(job.id);
    else active.set(job.id, job.client);
  }

  function checkQuotas(client: string | undefined, quotas: JobQuotas): void {
    if (quotas.maxQueuedJobs !== undefined && active.size >= quotas.maxQueuedJobs) {
      throw new BusyError(`the server has ${active.size} video jobs waiting or running, its limit; try again later`, 60);
    }
    if (quotas.maxJobsPerClient !== undefined && client !== undefined) {
      const mine = [...active.values()].filter((c) => c === client).length;
      if (mine >= quotas.maxJobsPerClient) {
        throw new RateLimitedError(`you already have ${mine} video jobs waiting or running; wait for one to finish (or cancel one)`, 60);
      }
    }
  }

  const emit = (event: JobEvent): void => {
    events.emit('event', event);
  };

  return {
    store,
    async create(fields: NewJob, quotas: JobQuotas = {}) {
      checkQuotas(fields.client, quotas);
      // Counted before the first await: a request that arrives meanwhile sees this place taken.
      const placeholder = `pending-${Math.random()}`;
      active.set(placeholder, fields.client);
      try {
        const job = await store.create({ inputName: fields.inputName, styleName: fields.styleName, options: fields.options, ...(fields.client ? { client: fields.client } : {}) });
        active.set(job.id, job.client);
        emit({ type: 'job', job: { ...job } });
        return job;
      } finally {
        active.delete(placeholder);
      }
    },
    async checkQuotas(client, quotas) {
      checkQuotas(client, quotas);
    },
    untrack(id) {
      active.delete(id);
    },
    get: (id) => store.load(id),
    async all() {
      const jobs = await store.all();
      active.clear();
      for (const job of jobs) track(job);
      return jobs;
    },
    update(id: string, patch: JobPatch) {
      return serial(id, async () => {
        const job = await store.load(id);
        if (!job) return undefined;
        const next = applyPatch(job, patch);
        if (!next) return undefined;
        await store.save(next);
        track(next);
        emit({ type: 'job', job: { ...next } });
        return next;
      });
    },
    async remove(id) {
      await serial(id, () => store.remove(id));
      active.delete(id);
    },
    progress(id, chunk, kept, learning) {
      emit({ type: 'progress', id, chunk, kept, ...(learning ? { learning } : {}) });
    },
    subscribe(listener) {
      events.on('event', listener);
      return () => events.off('event', listener);
    },
    async close() {
      await Promise.all([...locks.values()].map((p) => p.catch(() => undefined)));
    },
  };
}
