/**
 * The parent of each job's flow: this gateway's BullMQ worker of its own assembly queue, run once
 * every chunk of the flow is in. It records chunks whose segment arrived but whose record did not,
 * has missing ones painted again, and hands the rest to the lifecycle's assembly. An ffmpeg
 * failure fails the job at once; anything else is BullMQ's to retry. A flow that failed (a chunk
 * that could not be painted) fails its job with that chunk's words.
 */
import { QueueEvents, UnrecoverableError, Worker, type Job as BullJob } from 'bullmq';
import type { Logger } from '../../logger.js';
import { FfmpegError } from '../../video/ffmpeg.js';
import { BLOB, type BlobStore } from '../blob-store.js';
import type { JobLifecycle } from '../chunk-scheduler.js';
import { publicReason } from '../job-queue.js';
import { isFinal, type JobRepository } from '../job-repository.js';
import type { Job } from '../job-store.js';
import type { Redis } from '../../farm/redis.js';
import { jobIdOfFlow, type AssembleJobData } from './chunk-job.js';
import type { JobFlows } from './job-flows.js';

export interface FarmAssemblerDeps {
  repo: JobRepository;
  blobs: BlobStore;
  lifecycle: JobLifecycle;
  flows: JobFlows;
  log: Logger;
  queueName: string;
  /** For the BullMQ worker, and for the queue's events. */
  connections: { worker: Redis; events: Redis };
  /** BullMQ lock on the assembly (default 30 s). */
  lockDurationMs?: number | undefined;
}

export function startFarmAssembler(deps: FarmAssemblerDeps): { close(): Promise<void> } {
  const { log } = deps;
  const worker = new Worker<AssembleJobData, string>(deps.queueName, (bull) => assembleFlow(deps, bull), {
    connection: deps.connections.worker,
    concurrency: 2,
    lockDuration: deps.lockDurationMs ?? 30_000,
  });
  worker.on('error', (error) => log.warn({ err: error }, 'assembly worker error'));
  const events = new QueueEvents(deps.queueName, { connection: deps.connections.events });
  events.on('failed', ({ jobId: flow, failedReason }) => {
    void deps.flows
      .failureOf(failedReason)
      .then((reason) => deps.flows.markFailed(jobIdOfFlow(flow), reason, flow))
      .catch((error: unknown) => log.warn({ err: error, flow }, 'could not record a failed flow (the watchdog will)'));
  });
  return {
    async close() {
      // Force: an assembly cut off here is picked up again by this gateway's next start.
      await Promise.allSettled([worker.close(true), events.close()]);
    },
  };
}

async function assembleFlow(deps: FarmAssemblerDeps, bull: BullJob<AssembleJobData>): Promise<string> {
  const id = bull.data.jobId;
  const job = await deps.repo.get(id);
  if (!job || isFinal(job) || job.flow !== bull.id) return 'skipped';
  const now = await recordStoredChunks(deps, job);
  if ((now.chunks ?? []).some((c) => !now.chunksDone.includes(c.index))) {
    // Chunks that came back without a segment: painted again (a few times at most).
    await deps.flows.start(now);
    return 'chunks missing';
  }
  try {
    return await deps.lifecycle.assemble(job);
  } catch (error) {
    deps.log.warn({ job: id, err: error, detail: (error as { detail?: string }).detail }, 'assembly failed');
    const reason = publicReason(error);
    if (error instanceof FfmpegError) {
      await deps.flows.markFailed(id, reason, undefined, error);
      throw new UnrecoverableError(reason);
    }
    throw new Error(reason);
  }
}

/** Chunks stored but not recorded (their worker lost Redis at that moment): the segment is here. */
async function recordStoredChunks(deps: FarmAssemblerDeps, job: Job): Promise<Job> {
  for (const chunk of job.chunks ?? []) {
    if (!job.chunksDone.includes(chunk.index) && (await deps.blobs.has(BLOB.chunk(job.id, chunk.index)))) await deps.repo.update(job.id, { chunkDone: chunk.index });
  }
  return (await deps.repo.get(job.id)) ?? job;
}
