/**
 * What travels through BullMQ for a video job: a flow whose children are the job's chunks (in
 * the shared chunk queue, painted by any `stylize worker`) and whose parent is the assembly (in
 * the queue of the gateway that holds the job's files). Shared by the gateway (farm-job-queue.ts)
 * and the workers (farm-worker.ts).
 */
import type { FlowJob } from 'bullmq';
import type { Chunk } from '../chunk-plan.js';
import { CHUNK_RETRIES, CRASHED_REASON, evenSize, outputSize } from '../job-queue.js';
import type { Job } from '../job-store.js';
import type { ChunkTask } from '../chunk-process/chunk-process-protocol.js';
import { KEYS } from '../../farm/redis.js';

/** A chunk task without its local files (a worker fetches them), and where the files are. */
export type ChunkJobData = Pick<ChunkTask, 'jobId' | 'chunk' | 'info' | 'options' | 'workSize' | 'outSize' | 'client'> & {
  /** The gateway that holds the job's files (base URL). */
  home: string;
};

/** BullMQ's lowest priority (its numbers run from 1, the first taken, to 2^21). */
const LOWEST_PRIORITY = 2 ** 21;

/**
 * A chunk's place in the farm's queue: after the `ahead` chunks its client already has waiting,
 * so the chunks of different clients take turns (client B's first chunk goes beside client A's
 * first, not after all of A's jobs). Equal priorities go first come, first served.
 */
export function chunkPriority(ahead: number, indexInFlow: number): number {
  return Math.min(LOWEST_PRIORITY, 1 + Math.max(0, ahead) + indexInFlow);
}

/** What a worker reports for a chunk (the gateways' /metrics read it). */
export interface ChunkJobResult {
  worker: string;
  frames: number;
  waitS: number;
  transferS: number;
  paintS: number;
  totalS: number;
  /** The job had ended (canceled, failed) when the chunk came up: nothing was painted. */
  skipped?: boolean;
}

export interface AssembleJobData {
  jobId: string;
}

/** Retried with a growing pause: a worker that crashed, a gateway that did not answer. */
export const CHUNK_BACKOFF = { type: 'exponential', delay: 2000 } as const;

/** The BullMQ id of a flow's parent: the job id and which flow of it (a re-made flow gets a new one). */
export function flowId(jobId: string, generation: number): string {
  return `${jobId}.${generation}`;
}

export function jobIdOfFlow(flow: string): string {
  return flow.split('.')[0] ?? flow;
}

/** The flow for the chunks of `job` not yet done; `ahead`: chunks its client already has waiting (chunkPriority). */
export function jobFlow(job: Job, gateway: string, home: string, generation: number, chunks: Chunk[], ahead = 0): FlowJob {
  const info = job.info!;
  const parent = flowId(job.id, generation);
  return {
    name: 'assemble',
    queueName: KEYS.assembleQueue(gateway),
    data: { jobId: job.id } satisfies AssembleJobData,
    opts: { jobId: parent, removeOnComplete: { age: 3600 }, removeOnFail: { age: 24 * 3600 } },
    children: chunks.map((chunk, i) => ({
      name: 'chunk',
      queueName: KEYS.chunkQueue,
      data: {
        jobId: job.id,
        home,
        chunk,
        info,
        options: job.options,
        workSize: evenSize(info, job.options.size),
        outSize: outputSize(info),
        ...(job.client !== undefined ? { client: job.client } : {}),
      } satisfies ChunkJobData,
      opts: {
        jobId: `${parent}.${chunk.index}`,
        priority: chunkPriority(ahead, i),
        attempts: CHUNK_RETRIES + 1,
        backoff: CHUNK_BACKOFF,
        // A chunk that cannot be painted fails the job at once (the assembly would wait forever).
        failParentOnFailure: true,
        removeOnComplete: { age: 3600 },
        removeOnFail: { age: 24 * 3600 },
      },
    })),
  };
}

/** BullMQ's words for a chunk whose workers kept dying, in ours; our own messages pass as they are. */
export function reasonFromBull(failedReason: string | undefined): string {
  if (!failedReason) return 'a chunk failed (the workers\' log has the details)';
  if (/stalled more than allowable limit/i.test(failedReason)) return CRASHED_REASON;
  return failedReason;
}
