/**
 * The worker-farm job backend (REDIS_URL): this gateway takes uploads, keeps each job's files on
 * its own disk (served to workers by its blob endpoints) and its record in Redis, and hands the
 * job to BullMQ as a flow — chunk children painted by `stylize worker` processes anywhere, the
 * assembly as parent, run here once every chunk is in. Retries, back-off and handing the chunk
 * of a killed worker to another (the stalled check) are BullMQ's. Cancel reaches workers on a
 * Redis channel. A watchdog re-makes the flow of a job whose flow Redis lost, and marks failed a
 * job whose flow failed while nobody listened, so a job never waits forever.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { FlowProducer, Queue, QueueEvents, UnrecoverableError, Worker, type Job as BullJob } from 'bullmq';
import { encodeImage } from '../../codec/image-codec.js';
import type { Logger } from '../../logger.js';
import type { JobMetrics } from '../../metrics.js';
import { assembleMp4, FfmpegError, type VideoLimits } from '../../video/ffmpeg.js';
import { BLOB, createFileBlobStore } from '../blob-store.js';
import { planJob, publicReason, watchJob, type JobQueue, type SubmitRequest } from '../job-queue.js';
import { ACTIVE_STATUSES, isFinal } from '../job-repository.js';
import type { Job } from '../job-store.js';
import { flowId, jobFlow, jobIdOfFlow, reasonFromBull, type AssembleJobData, type ChunkJobResult } from './chunk-job.js';
import { createBlobClient } from './http-blob-client.js';
import { createRedisJobRepository } from './redis-job-repository.js';
import { KEYS, closeRedis, connectRedis, farmSecret, pingRedis, type Redis } from '../../farm/redis.js';
import { onlineWorkers } from './worker-registry.js';

/** How often the watchdog looks at this gateway's unfinished jobs. */
const WATCHDOG_MS = 5000;
/** Flows made for one job before it is given up (a job normally needs one). */
const MAX_FLOWS = 10;

const generationOf = (flow: string | undefined): number => (flow ? Number(flow.split('.')[1] ?? 0) || 0 : 0);

export interface FarmJobQueueOptions {
  redisUrl: string;
  dataDir: string;
  /** This gateway's id (its assembly queue, the jobs it holds). */
  gateway: string;
  /** This gateway's URL as workers reach it (known once it listens). */
  home: () => string;
  limits: VideoLimits;
  log: Logger;
  metrics?: JobMetrics;
  chunkFrames?: number;
  maxJobCost?: number;
  maxJobsPerClient?: number;
  maxQueuedJobs?: number;
  retentionS?: number;
  /** BullMQ lock on the assembly (default 30 s). */
  lockDurationMs?: number;
}

export interface FarmJobQueue extends JobQueue {
  /** Redis round trip and the workers seen lately, for /healthz. */
  health(): Promise<Record<string, unknown>>;
  /** The secret workers show the blob endpoints. */
  secret(): string;
}

export async function createFarmJobQueue(options: FarmJobQueueOptions): Promise<FarmJobQueue> {
  const { log, gateway } = options;
  const connections: Redis[] = [];
  const connect = (name: string, failFast = false): Redis => {
    const redis = connectRedis(options.redisUrl, { name, failFast, log });
    connections.push(redis);
    return redis;
  };
  const redis = connect('gateway', true);
  const repo = createRedisJobRepository({ redis, subscriber: () => connect('gateway-events') });
  const blobs = createFileBlobStore(path.join(options.dataDir, 'jobs'));
  const secret = await farmSecret(redis);
  const remote = createBlobClient({ secret, patienceMs: 10_000 });
  const assembleQueueName = KEYS.assembleQueue(gateway);
  const flows = new FlowProducer({ connection: connect('gateway-flows') });
  const chunkQueue = new Queue(KEYS.chunkQueue, { connection: connect('gateway-chunks') });
  const assembleQueue = new Queue(assembleQueueName, { connection: connect('gateway-assembly') });
  const chunkEvents = new QueueEvents(KEYS.chunkQueue, { connection: connect('gateway-chunk-events') });
  const assembleEvents = new QueueEvents(assembleQueueName, { connection: connect('gateway-assembly-events') });
  /** Jobs whose flow this process is making now (the watchdog leaves them alone). */
  const starting = new Set<string>();
  const cleaned = new Set<string>();
  let closed = false;

  const mine = (job: Job): boolean => job.gateway === gateway;

  async function markFailed(id: string, reason: string, flow?: string): Promise<void> {
    const job = await repo.get(id);
    if (!job || (flow !== undefined && job.flow !== flow)) return;
    const failed = await repo.update(id, { from: ACTIVE_STATUSES, set: { status: 'failed', error: reason }, unset: ['stage'] });
    if (failed) log.warn({ job: id, reason }, 'job failed');
  }

  /** A new flow for the chunks not done yet (or the assembly alone when none is left). */
  async function startFlow(job: Job): Promise<void> {
    if (starting.has(job.id) || closed) return;
    if (generationOf(job.flow) >= MAX_FLOWS) {
      await markFailed(job.id, 'the farm lost this job\'s chunks too often (the log has the details)');
      return;
    }
    starting.add(job.id);
    try {
      const generation = generationOf(job.flow) + 1;
      const flow = flowId(job.id, generation);
      const recorded = await repo.update(job.id, { from: ACTIVE_STATUSES, set: { flow } });
      if (!recorded) return;
      const missing = (recorded.chunks ?? []).filter((c) => !recorded.chunksDone.includes(c.index));
      if (missing.length === 0) await assembleQueue.add('assemble', { jobId: job.id } satisfies AssembleJobData, { jobId: flow, removeOnComplete: { age: 3600 } });
      else await flows.add(jobFlow(recorded, gateway, recorded.home ?? options.home(), generation, missing));
      log.info({ job: job.id, flow, chunks: missing.length }, generation === 1 ? 'job handed to the farm' : 'job flow made again');
    } finally {
      starting.delete(job.id);
    }
  }

  /** Makes sure an unfinished job of this gateway has a living flow. */
  async function check(job: Job): Promise<void> {
    if (isFinal(job) || !mine(job) || starting.has(job.id) || !job.info || !job.chunks) return;
    if (!job.flow) {
      // Created here moments ago, or just before a crash: give a running submit time to finish.
      if (Date.now() - Date.parse(job.updatedAt) > 10_000) await startFlow(job);
      return;
    }
    const parent = await assembleQueue.getJob(job.flow);
    if (!parent) {
      log.warn({ job: job.id, flow: job.flow }, 'the job\'s flow is gone from Redis; making it again');
      return startFlow(job);
    }
    const state = await parent.getState();
    if (state === 'failed') await markFailed(job.id, await failureOf(parent.failedReason), job.flow);
    else if (state === 'completed' && job.status !== 'done') await startFlow(job);
  }

  /** The words of the chunk that failed the flow ("child bull:<queue>:<id> failed" says which). */
  async function failureOf(failedReason: string | undefined): Promise<string> {
    const child = /^child \S*:([^:\s]+) failed$/.exec(failedReason ?? '')?.[1];
    if (!child) return reasonFromBull(failedReason);
    const chunk = await chunkQueue.getJob(child).catch(() => undefined);
    return reasonFromBull(chunk?.failedReason);
  }

  /** An ended job of this gateway: what only served the painting goes (once). */
  async function cleanup(job: Job): Promise<void> {
    if (cleaned.has(job.id)) return;
    cleaned.add(job.id);
    const preview = await redis.getBuffer(KEYS.jobPreview(job.id)).catch(() => null);
    if (preview) {
      await blobs.put(BLOB.preview(job.id), preview).catch(() => undefined);
      await redis.del(KEYS.jobPreview(job.id)).catch(() => undefined);
    }
    await blobs.remove(`${job.id}/chunks`);
    await rm(`${blobs.path(BLOB.output(job.id))}.tmp`, { force: true });
    await rm(`${blobs.path(BLOB.output(job.id))}.tmp.segments.txt`, { force: true });
    if (job.status === 'canceled') await blobs.remove(BLOB.input(job.id));
  }

  async function assemble(bull: BullJob<AssembleJobData>): Promise<string> {
    const id = bull.data.jobId;
    const job = await repo.get(id);
    if (!job || isFinal(job) || job.flow !== bull.id) return 'skipped';
    for (const chunk of job.chunks ?? []) {
      // Stored but not recorded (its worker lost Redis at that moment): the segment is here.
      if (!job.chunksDone.includes(chunk.index) && (await blobs.has(BLOB.chunk(id, chunk.index)))) await repo.update(id, { chunkDone: chunk.index });
    }
    const now = (await repo.get(id)) ?? job;
    const missing = (now.chunks ?? []).filter((c) => !now.chunksDone.includes(c.index));
    if (missing.length > 0) {
      // Chunks that came back without a segment: painted again (a few times at most).
      await startFlow(now);
      return 'chunks missing';
    }
    const assembling = await repo.update(id, { from: ACTIVE_STATUSES, set: { status: 'running', stage: 'assembling' } });
    if (!assembling) return 'skipped';
    const started = performance.now();
    try {
      const output = blobs.path(BLOB.output(id));
      await assembleMp4(job.chunks!.map((c) => blobs.path(BLOB.chunk(id, c.index))), blobs.path(BLOB.input(id)), job.info!, `${output}.tmp`);
      await blobs.putFile(BLOB.output(id), `${output}.tmp`);
    } catch (error) {
      log.warn({ job: id, err: error, detail: (error as { detail?: string }).detail }, 'assembly failed');
      const reason = publicReason(error);
      if (error instanceof FfmpegError) {
        await markFailed(id, reason);
        throw new UnrecoverableError(reason);
      }
      throw new Error(reason);
    }
    if (!(await repo.update(id, { from: ['running'], set: { status: 'done' }, unset: ['stage'] }))) {
      await blobs.remove(BLOB.output(id)); // canceled while it was put together
      return 'canceled';
    }
    log.info({ job: id, frames: job.framesTotal, assemblyS: Math.round((performance.now() - started) / 100) / 10 }, 'job done');
    return 'done';
  }

  const assembler = new Worker<AssembleJobData, string>(assembleQueueName, assemble, {
    connection: connect('gateway-assembler'),
    concurrency: 2,
    lockDuration: options.lockDurationMs ?? 30_000,
  });
  assembler.on('error', (error) => log.warn({ err: error }, 'assembly worker error'));

  assembleEvents.on('failed', ({ jobId: flow, failedReason }) => {
    void failureOf(failedReason)
      .then((reason) => markFailed(jobIdOfFlow(flow), reason, flow))
      .catch((error: unknown) => log.warn({ err: error, flow }, 'could not record a failed flow (the watchdog will)'));
  });
  chunkEvents.on('completed', ({ returnvalue }) => {
    const result = (typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue) as ChunkJobResult | undefined;
    if (result && !result.skipped) options.metrics?.observeChunk(result);
  });
  const unsubscribe = repo.subscribe((event) => {
    if (event.type === 'job' && isFinal(event.job) && mine(event.job)) {
      void cleanup(event.job).catch((error: unknown) => log.warn({ err: error, job: event.job.id }, 'could not clean up after a job'));
    }
  });
  options.metrics?.setQueueDepthSource(async () => {
    const counts = await chunkQueue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
    return {
      waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
      active: counts.active ?? 0,
      delayed: counts.delayed ?? 0,
      jobs: await redis.hlen(KEYS.activeJobs),
      workers: (await onlineWorkers(redis)).reduce((n, w) => n + w.concurrency, 0),
    };
  });

  let watching: Promise<void> | undefined;
  const watchdog = setInterval(() => {
    watching ??= (async () => {
      for (const job of await repo.all()) if (!isFinal(job) && mine(job)) await check(job);
    })()
      .catch((error: unknown) => log.debug({ err: error }, 'watchdog round failed (Redis away?)'))
      .finally(() => (watching = undefined));
  }, WATCHDOG_MS);
  watchdog.unref();
  const sweeper = options.retentionS !== undefined ? setInterval(() => void queue.sweep().catch(() => 0), Math.min(600_000, Math.max(1000, (options.retentionS * 1000) / 4))) : undefined;
  sweeper?.unref();

  async function cancel(id: string): Promise<Job | undefined> {
    const job = await repo.update(id, { from: ACTIVE_STATUSES, set: { status: 'canceled' }, unset: ['stage'] });
    if (!job) return repo.get(id);
    // Every worker stops this job's chunks it is painting; waiting ones are skipped when they come up.
    await redis.publish(KEYS.jobCancel, id);
    if (job.flow && mine(job)) {
      const parent = await assembleQueue.getJob(job.flow).catch(() => undefined);
      await parent?.remove({ removeChildren: true }).catch(() => undefined); // refused while a chunk is locked: fine
    }
    log.info({ job: id }, 'job canceled');
    return job;
  }

  const queue: FarmJobQueue = {
    kind: 'farm',
    async submit(request: SubmitRequest) {
      const quotas = { maxQueuedJobs: options.maxQueuedJobs, maxJobsPerClient: options.maxJobsPerClient };
      let job: Job | undefined;
      try {
        await repo.checkQuotas(request.client, quotas);
        const workers = (await onlineWorkers(redis)).reduce((n, w) => n + w.concurrency, 0);
        const { info, chunks } = await planJob(request.inputPath, request.options, {
          limits: options.limits,
          workers: Math.max(1, workers),
          chunkFrames: options.chunkFrames,
          maxJobCost: options.maxJobCost,
        });
        const style = await request.style();
        job = await repo.create(
          { inputName: request.inputName, styleName: request.styleName, options: request.options, home: options.home(), gateway, ...(request.client ? { client: request.client } : {}) },
          quotas,
        );
        await blobs.putFile(BLOB.input(job.id), request.inputPath);
        await blobs.put(BLOB.style(job.id), request.styleBytes ? await request.styleBytes() : await encodeImage(style, 'png'));
        job = (await repo.update(job.id, { set: { info, chunks, framesTotal: info.frames } }))!;
      } catch (error) {
        if (job) {
          await repo.remove(job.id).catch(() => undefined);
          await blobs.remove(job.id).catch(() => undefined);
        }
        throw error;
      } finally {
        await rm(request.inputPath, { force: true }).catch(() => undefined);
      }
      log.info({ job: job.id, client: request.client, frames: job.framesTotal, input: job.inputName }, 'job queued');
      // If Redis fails us here, the watchdog hands the job over later.
      await startFlow(job).catch((error: unknown) => log.warn({ err: error, job: job.id }, 'could not hand the job to the farm yet'));
      return (await repo.get(job.id)) ?? job;
    },
    get: (id) => repo.get(id),
    // Change notices travel over pub/sub, which forgets what it sends while a gateway reconnects: poll too.
    watch: (id, watchOptions) => watchJob(repo, id, { pollMs: 2000, ...watchOptions }),
    cancel,
    async remove(id) {
      const job = await cancel(id);
      if (!job) return undefined;
      await repo.remove(id);
      if (mine(job)) await blobs.remove(id);
      else if (job.home) await remote.delete(job.home, id).catch((error: unknown) => log.warn({ err: error, job: id }, 'could not delete the job\'s files on its gateway'));
      log.info({ job: id }, 'job deleted');
      return job;
    },
    async output(id) {
      const job = await repo.get(id);
      if (!job) return undefined;
      if (mine(job)) return (await blobs.has(BLOB.output(id))) ? { path: blobs.path(BLOB.output(id)) } : undefined;
      return job.home ? remote.open(job.home, BLOB.output(id)) : undefined;
    },
    async preview(id) {
      const live = await redis.getBuffer(KEYS.jobPreview(id));
      if (live) return live;
      const job = await repo.get(id);
      if (!job) return undefined;
      if (mine(job)) return blobs.get(BLOB.preview(id));
      const held = job.home ? await remote.open(job.home, BLOB.preview(id)).catch(() => undefined) : undefined;
      if (!held) return undefined;
      const parts: Buffer[] = [];
      for await (const part of held.stream) parts.push(part as Buffer);
      return Buffer.concat(parts);
    },
    async resume() {
      let jobs: Job[] = [];
      try {
        jobs = await repo.all();
      } catch (error) {
        log.error({ err: error }, 'could not read the jobs from Redis; the watchdog will try again');
      }
      for (const job of jobs.filter(mine)) {
        try {
          if (isFinal(job)) {
            await cleanup(job);
            continue;
          }
          await blobs.removeTemporary(`${job.id}/chunks`);
          if (!job.info || !job.chunks) {
            // Created, but this gateway stopped before the upload was in place.
            await repo.update(job.id, { from: ACTIVE_STATUSES, set: { status: 'failed', error: 'the upload did not complete' } });
            continue;
          }
          // This gateway may listen elsewhere now (a new port): workers fetch from the new place.
          if (job.home !== options.home()) await repo.update(job.id, { set: { home: options.home() } });
          log.info({ job: job.id, chunksDone: job.chunksDone.length }, 'resuming job');
          await check((await repo.get(job.id)) ?? job);
        } catch (error) {
          log.error({ job: job.id, err: error }, 'could not resume this job now; the watchdog will try again');
        }
      }
      await queue.sweep().catch(() => 0);
    },
    async sweep() {
      if (options.retentionS === undefined) return 0;
      const cutoff = Date.now() - options.retentionS * 1000;
      let removed = 0;
      for (const job of await repo.all()) {
        if (!mine(job) || !isFinal(job) || Date.parse(job.updatedAt) > cutoff) continue;
        await repo.remove(job.id);
        await blobs.remove(job.id);
        removed++;
        log.info({ job: job.id, status: job.status }, 'job expired (retention); files deleted');
      }
      return removed;
    },
    workerPids: () => [],
    async health() {
      const ping = await pingRedis(redis);
      const workers = ping.ok ? await onlineWorkers(redis).catch(() => []) : [];
      return { ok: ping.ok, redis: ping, workers: workers.length, workerSlots: workers.reduce((n, w) => n + w.concurrency, 0) };
    },
    secret: () => secret,
    async close() {
      closed = true;
      clearInterval(watchdog);
      if (sweeper) clearInterval(sweeper);
      unsubscribe();
      await watching;
      // Force: an assembly cut off here is picked up again by this gateway's next start.
      await Promise.allSettled([assembler.close(true), chunkEvents.close(), assembleEvents.close(), flows.close(), chunkQueue.close(), assembleQueue.close()]);
      await repo.close();
      await Promise.all(connections.map(closeRedis));
    },
  };
  return queue;
}
