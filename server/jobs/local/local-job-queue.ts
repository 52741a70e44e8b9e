/**
 * The in-process job backend (no REDIS_URL): the one job lifecycle (job-service.ts) over job.json
 * files and their blobs under `<data-dir>/jobs/`, with this machine's chunk processes painting the
 * chunks (local-scheduler.ts). Every finished chunk is recorded, so a restarted server resumes
 * each unfinished job at its first missing chunk; a chunk whose process crashed is retried. Ended
 * jobs are deleted after the retention time.
 */
import os from 'node:os';
import path from 'node:path';
import type { BackendName, ModelChoice } from '../../config.js';
import type { Logger } from '../../logger.js';
import type { JobMetrics } from '../../metrics.js';
import type { VideoLimits } from '../../video/ffmpeg.js';
import { createFileBlobStore } from '../blob-store.js';
import { createChunkProcessPool } from '../chunk-process-pool.js';
import type { JobQueue } from '../job-queue.js';
import { createJobService } from '../job-service.js';
import { createFileJobRepository } from './file-job-repository.js';
import { createLocalScheduler } from './local-scheduler.js';

export interface LocalJobQueueOptions {
  dataDir: string;
  workers: number;
  limits: VideoLimits;
  model: ModelChoice;
  weights: string | undefined;
  modelsDir: string;
  seed: number;
  backend: BackendName | undefined;
  log: Logger;
  /** Override chunk length (frames); default about two seconds. */
  chunkFrames?: number;
  /** Largest job: frames × working megapixels × steps (default: no limit). */
  maxJobCost?: number;
  /** Queued or running jobs one client may have (default: no limit). */
  maxJobsPerClient?: number;
  /** Queued or running jobs in all (default: no limit). */
  maxQueuedJobs?: number;
  /** Ended jobs are deleted this long after they end, seconds (default: kept). */
  retentionS?: number;
  metrics?: JobMetrics;
  /** Where learned painters are kept (default <dataDir>/painters). */
  paintersDir?: string;
  /** Tests only: a chunk process that finds this file breaks its engine (ChunkProcessInit.testPoisonFile). */
  testPoisonFile?: string;
}

export function createLocalJobQueue(options: LocalJobQueueOptions): JobQueue {
  const repo = createFileJobRepository(options.dataDir);
  const blobs = createFileBlobStore(repo.store.root);
  const pool = createChunkProcessPool(options.workers, {
    model: options.model,
    weights: options.weights,
    modelsDir: options.modelsDir,
    seed: options.seed,
    backend: options.backend,
    threads: Math.max(1, Math.floor(os.availableParallelism() / options.workers)),
    paintersDir: options.paintersDir ?? path.join(options.dataDir, 'painters'),
    ...(options.testPoisonFile !== undefined ? { testPoisonFile: options.testPoisonFile } : {}),
  });
  const { log, metrics } = options;
  return createJobService({ ...options, kind: 'local', repo, blobs }, (lifecycle) =>
    createLocalScheduler({ repo, blobs, pool, workers: options.workers, log, metrics }, lifecycle),
  );
}
