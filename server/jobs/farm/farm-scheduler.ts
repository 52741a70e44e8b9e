/**
 * The worker-farm ChunkScheduler: a job's chunks go to BullMQ as a flow (job-flows.ts), painted by
 * `stylize worker` processes anywhere; the flow's parent, the assembly, runs on this gateway, which
 * holds the job's files (farm-assembler.ts). Cancel reaches the workers on a Redis channel. Jobs of
 * this gateway may be ended by another gateway (a cancel there): their cleanup follows the change
 * notices. Files of other gateways' jobs are reached through their blob endpoints. A Redis at its
 * memory limit refuses a new job cleanly (503, nothing of it left queued), and the watchdog waits
 * (and says so, at warn) while Redis is away or full, so no flow is made again for nothing.
 */
import { FlowProducer, Queue, QueueEvents } from 'bullmq';
import { RedisUnavailableError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { JobMetrics } from '../../metrics.js';
import { BLOB, type BlobStore } from '../blob-store.js';
import type { ChunkScheduler, ForeignJobFiles, JobLifecycle } from '../chunk-scheduler.js';
import { isFinal, type JobRepository } from '../job-repository.js';
import type { Job } from '../job-store.js';
import { KEYS, isRedisFull, pingRedis, type Redis, type RedisConnections } from '../../farm/redis.js';
import type { ChunkJobResult } from './chunk-job.js';
import { startFarmAssembler } from './farm-assembler.js';
import type { BlobClient } from './http-blob-client.js';
import { createJobFlows, type JobFlows } from './job-flows.js';
import { onlineWorkers } from './worker-registry.js';

export interface FarmSchedulerOptions {
  /** Commands (the gateway's own connection). */
  redis: Redis;
  /** Where BullMQ's connections come from (their owner closes them). */
  connections: RedisConnections;
  repo: JobRepository;
  blobs: BlobStore;
  /** Other gateways' blob endpoints. */
  remote: BlobClient;
  gateway: string;
  home: () => string;
  log: Logger;
  metrics?: JobMetrics | undefined;
  lockDurationMs?: number | undefined;
}

export function createFarmScheduler(options: FarmSchedulerOptions, lifecycle: JobLifecycle): ChunkScheduler {
  const { redis, repo, log, gateway, connections } = options;
  const mine = (job: Job): boolean => job.gateway === gateway;
  const queueName = KEYS.assembleQueue(gateway);
  const bull = {
    flows: new FlowProducer({ connection: connections.open('gateway-flows') }),
    chunkQueue: new Queue(KEYS.chunkQueue, { connection: connections.open('gateway-chunks') }),
    assembleQueue: new Queue(queueName, { connection: connections.open('gateway-assembly') }),
    chunkEvents: new QueueEvents(KEYS.chunkQueue, { connection: connections.open('gateway-chunk-events') }),
  };
  let closed = false;
  const flows = createJobFlows({ ...bull, repo, lifecycle, log, gateway, home: options.home, mine, closed: () => closed });
  const assembler = startFarmAssembler({
    repo,
    blobs: options.blobs,
    lifecycle,
    flows,
    log,
    queueName,
    connections: { worker: connections.open('gateway-assembler'), events: connections.open('gateway-assembly-events') },
    lockDurationMs: options.lockDurationMs,
  });
  bull.chunkEvents.on('completed', ({ returnvalue }) => {
    const result = (typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue) as ChunkJobResult | undefined;
    if (result && !result.skipped) options.metrics?.observeChunk(result);
  });
  const unsubscribe = repo.subscribe((event) => {
    if (event.type === 'job' && isFinal(event.job) && mine(event.job)) {
      void lifecycle.cleanup(event.job).catch((error: unknown) => log.warn({ err: error, job: event.job.id }, 'could not clean up after a job'));
    }
  });
  options.metrics?.setQueueDepthSource(() => queueDepth(redis, bull.chunkQueue));
  const stopWatchdog = watchJobs({ redis, repo, flows, mine, log });

  return {
    workers: async () => Math.max(1, slotsOf(await onlineWorkers(redis))),
    recordFields: () => ({ home: options.home(), gateway }),
    owns: mine,
    async start(job) {
      try {
        await flows.start(job);
      } catch (error) {
        // A full Redis refuses the job cleanly: nothing of it stays queued without a flow.
        if (isRedisFull(error) || (error instanceof RedisUnavailableError && error.code === 'REDIS_FULL')) await refuseFull(options, job, error);
        // Otherwise (Redis away a moment), the watchdog hands the job over later.
        log.warn({ err: error, job: job.id }, 'could not hand the job to the farm yet');
      }
      return (await repo.get(job.id)) ?? job;
    },
    async reclaim(job) {
      // This gateway may listen elsewhere now (a new port): workers fetch from the new place.
      if (job.home !== options.home()) return (await repo.update(job.id, { set: { home: options.home() } })) ?? job;
      return job;
    },
    resume: (job) => flows.check(job),
    cancel: (job) => cancelFlow(redis, bull.assembleQueue, mine(job), job),
    collect: (job) => collectPreview(redis, options.blobs, job.id),
    livePreview: async (id) => (await redis.getBuffer(KEYS.jobPreview(id))) ?? undefined,
    foreign: foreignFiles(options.remote, log),
    resumeWords: { unreadable: 'could not read the jobs from Redis; the watchdog will try again', abandoned: 'could not resume this job now; the watchdog will try again' },
    workerPids: () => [],
    async close() {
      closed = true;
      unsubscribe();
      await stopWatchdog();
      await Promise.allSettled([assembler.close(), bull.chunkEvents.close(), bull.flows.close(), bull.chunkQueue.close(), bull.assembleQueue.close()]);
    },
  };
}

/** How often the watchdog looks at this gateway's unfinished jobs. */
const WATCHDOG_MS = 5000;
/** While its rounds keep failing, the watchdog says so at warn at most this often. */
const WATCHDOG_WARN_EVERY_MS = 60_000;

async function refuseFull(options: FarmSchedulerOptions, job: Job, cause: unknown): Promise<never> {
  options.log.warn({ err: cause, job: job.id }, 'Redis is full: the job is refused');
  // Deleting takes no memory: a full Redis allows it.
  await options.repo.remove(job.id).catch(() => undefined);
  await options.blobs.remove(job.id).catch(() => undefined);
  throw new RedisUnavailableError(true, { cause });
}

/**
 * Every few seconds, each unfinished job of this gateway has a living flow (flows.check). While
 * Redis is away or full the round waits (a flow made then would be lost, and each counts against
 * the job), and says so at warn, once a minute at most; it says when it works again.
 */
function watchJobs(deps: { redis: Redis; repo: JobRepository; flows: JobFlows; mine: (job: Job) => boolean; log: Logger }): () => Promise<void> {
  const { log } = deps;
  let watching: Promise<void> | undefined;
  let failing: { since: number; warnedAt: number; rounds: number } | undefined;
  const failed = (error: unknown): void => {
    const now = Date.now();
    failing ??= { since: now, warnedAt: 0, rounds: 0 };
    failing.rounds += 1;
    if (now - failing.warnedAt < WATCHDOG_WARN_EVERY_MS) return;
    failing.warnedAt = now;
    log.warn({ err: error, failedRounds: failing.rounds, sinceS: Math.round((now - failing.since) / 1000) }, "job watchdog cannot look after this gateway's jobs (Redis away or full); it tries again");
  };
  const round = async (): Promise<void> => {
    const health = await pingRedis(deps.redis);
    if (!health.ok) throw new Error(health.error ?? 'Redis does not answer');
    for (const job of await deps.repo.all()) {
      if (!isFinal(job) && deps.mine(job)) await deps.flows.check(job);
    }
    if (failing) log.info({ failedRounds: failing.rounds }, 'job watchdog works again');
    failing = undefined;
  };
  const timer = setInterval(() => {
    watching ??= round()
      .catch(failed)
      .finally(() => (watching = undefined));
  }, WATCHDOG_MS);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await watching;
  };
}

/** Chunks the farm's workers paint at once. */
export const slotsOf = (workers: { concurrency: number }[]): number => workers.reduce((n, w) => n + w.concurrency, 0);

async function queueDepth(redis: Redis, chunkQueue: Queue): Promise<Record<string, number>> {
  const counts = await chunkQueue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
  return {
    waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
    active: counts.active ?? 0,
    delayed: counts.delayed ?? 0,
    jobs: await redis.hlen(KEYS.activeJobs),
    workers: slotsOf(await onlineWorkers(redis)),
  };
}

async function cancelFlow(redis: Redis, assembleQueue: Queue, mine: boolean, job: Job): Promise<void> {
  // Every worker stops this job's chunks it is painting; waiting ones are skipped when they come up.
  await redis.publish(KEYS.jobCancel, job.id);
  if (job.flow && mine) {
    const parent = await assembleQueue.getJob(job.flow).catch(() => undefined);
    await parent?.remove({ removeChildren: true }).catch(() => undefined); // refused while a chunk is locked: fine
  }
}

/** The last preview a worker left in Redis becomes the job's preview blob. */
async function collectPreview(redis: Redis, blobs: BlobStore, id: string): Promise<void> {
  const preview = await redis.getBuffer(KEYS.jobPreview(id)).catch(() => null);
  if (!preview) return;
  await blobs.put(BLOB.preview(id), preview).catch(() => undefined);
  await redis.del(KEYS.jobPreview(id)).catch(() => undefined);
}

function foreignFiles(remote: BlobClient, log: Logger): ForeignJobFiles {
  return {
    open: async (job, key) => (job.home ? remote.open(job.home, key) : undefined),
    async remove(job) {
      if (!job.home) return;
      await remote.delete(job.home, job.id).catch((error: unknown) => log.warn({ err: error, job: job.id }, 'could not delete the job\'s files on its gateway'));
    },
  };
}

