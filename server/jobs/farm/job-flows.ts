/**
 * The BullMQ flows of this gateway's jobs: a flow per job (its missing chunks as children, the
 * assembly as parent), made again when Redis lost it or it completed with chunks missing (a few
 * times at most), and the check the watchdog (farm-scheduler.ts) runs on every unfinished job of
 * this gateway: a living flow, or the job marked failed with the words of the chunk that failed
 * it — so a job never waits forever.
 */
import type { FlowProducer, Queue } from 'bullmq';
import type { Logger } from '../../logger.js';
import type { JobLifecycle } from '../chunk-scheduler.js';
import { ACTIVE_STATUSES, isFinal, type JobRepository } from '../job-repository.js';
import type { Job } from '../job-store.js';
import { flowId, jobFlow, reasonFromBull, type AssembleJobData } from './chunk-job.js';

/** Flows made for one job before it is given up (a job normally needs one). */
const MAX_FLOWS = 10;
/** A job created without a flow yet is left this long to the submit making it. */
const SUBMIT_GRACE_MS = 10_000;

const generationOf = (flow: string | undefined): number => (flow ? Number(flow.split('.')[1] ?? 0) || 0 : 0);

export interface JobFlowsDeps {
  repo: JobRepository;
  lifecycle: JobLifecycle;
  log: Logger;
  gateway: string;
  /** This gateway's URL as workers reach it. */
  home: () => string;
  flows: FlowProducer;
  chunkQueue: Queue;
  assembleQueue: Queue;
  /** Whether a job is this gateway's. */
  mine: (job: Job) => boolean;
  closed: () => boolean;
}

export interface JobFlows {
  /** A new flow for the chunks not done yet (or the assembly alone when none is left). */
  start(job: Job): Promise<void>;
  /** Makes sure an unfinished job of this gateway has a living flow. */
  check(job: Job): Promise<void>;
  /** The words of the chunk that failed a flow ("child bull:<queue>:<id> failed" says which). */
  failureOf(failedReason: string | undefined): Promise<string>;
  /** Fails the job, unless a newer flow than `flow` has taken it over. */
  markFailed(id: string, reason: string, flow?: string, cause?: unknown): Promise<void>;
}

export function createJobFlows(deps: JobFlowsDeps): JobFlows {
  /** Jobs whose flow this process is making now (the watchdog leaves them alone). */
  const starting = new Set<string>();
  const flows: JobFlows = {
    start: (job) => startFlow(deps, flows, starting, job),
    check: (job) => checkFlow(deps, flows, starting, job),
    failureOf: (failedReason) => failureOf(deps.chunkQueue, failedReason),
    async markFailed(id, reason, flow, cause) {
      const job = await deps.repo.get(id);
      if (!job || (flow !== undefined && job.flow !== flow)) return;
      await deps.lifecycle.fail(id, reason, cause);
    },
  };
  return flows;
}

async function startFlow(deps: JobFlowsDeps, flows: JobFlows, starting: Set<string>, job: Job): Promise<void> {
  if (starting.has(job.id) || deps.closed()) return;
  if (generationOf(job.flow) >= MAX_FLOWS) {
    await flows.markFailed(job.id, 'the farm lost this job\'s chunks too often (the log has the details)');
    return;
  }
  starting.add(job.id);
  try {
    const generation = generationOf(job.flow) + 1;
    const flow = flowId(job.id, generation);
    const recorded = await deps.repo.update(job.id, { from: ACTIVE_STATUSES, set: { flow } });
    if (!recorded) return;
    const missing = (recorded.chunks ?? []).filter((c) => !recorded.chunksDone.includes(c.index));
    if (missing.length === 0) await deps.assembleQueue.add('assemble', { jobId: job.id } satisfies AssembleJobData, { jobId: flow, removeOnComplete: { age: 3600 } });
    else await deps.flows.add(jobFlow(recorded, deps.gateway, recorded.home ?? deps.home(), generation, missing, await chunksAhead(deps.repo, recorded)));
    deps.log.info({ job: job.id, flow, chunks: missing.length }, generation === 1 ? 'job handed to the farm' : 'job flow made again');
  } finally {
    starting.delete(job.id);
  }
}

/** Chunks the job's client has waiting in its other unfinished jobs: its new chunks queue behind them. */
export async function chunksAhead(repo: Pick<JobRepository, 'all'>, job: Job): Promise<number> {
  if (job.client === undefined) return 0;
  let ahead = 0;
  for (const other of await repo.all()) {
    if (other.id === job.id || other.client !== job.client || isFinal(other)) continue;
    ahead += (other.chunks?.length ?? 0) - other.chunksDone.length;
  }
  return ahead;
}

async function checkFlow(deps: JobFlowsDeps, flows: JobFlows, starting: Set<string>, job: Job): Promise<void> {
  if (isFinal(job) || !deps.mine(job) || starting.has(job.id) || !job.info || !job.chunks) return;
  if (!job.flow) {
    // Created here moments ago, or just before a crash: give a running submit time to finish.
    if (Date.now() - Date.parse(job.updatedAt) > SUBMIT_GRACE_MS) await flows.start(job);
    return;
  }
  const parent = await deps.assembleQueue.getJob(job.flow);
  if (!parent) {
    deps.log.warn({ job: job.id, flow: job.flow }, 'the job\'s flow is gone from Redis; making it again');
    return flows.start(job);
  }
  const state = await parent.getState();
  if (state === 'failed') await flows.markFailed(job.id, await flows.failureOf(parent.failedReason), job.flow);
  else if (state === 'completed' && job.status !== 'done') await flows.start(job);
}

async function failureOf(chunkQueue: Queue, failedReason: string | undefined): Promise<string> {
  const child = /^child \S*:([^:\s]+) failed$/.exec(failedReason ?? '')?.[1];
  if (!child) return reasonFromBull(failedReason);
  const chunk = await chunkQueue.getJob(child).catch(() => undefined);
  return reasonFromBull(chunk?.failedReason);
}
