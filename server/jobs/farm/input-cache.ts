/**
 * A farm worker's copies of the inputs of the jobs it paints chunks of: a job's input video and
 * style image are fetched once from the gateway that holds them, for all its chunks, and the
 * least recently used job's copies go once more than a few jobs are held (never those of a job
 * with a chunk being painted here).
 */
import path from 'node:path';
import { mkdir, rm } from 'node:fs/promises';
import { BLOB } from '../blob-store.js';
import type { Job } from '../job-store.js';
import type { BlobClient } from './http-blob-client.js';

/** Jobs whose input stays cached here (the least recently used goes first). */
const CACHED_JOBS = 4;

export interface CachedInputs {
  input: string;
  style: string;
}

export interface InputCache {
  readonly root: string;
  /** The job's input and style here (fetched on first use). */
  inputsOf(job: Job): Promise<CachedInputs>;
  /** Deletes the job's copies. */
  forget(jobId: string): void;
  /** Deletes every copy. */
  clear(): Promise<void>;
}

/** `busy(jobId)`: a chunk of the job is being painted here (its copies must stay). */
export async function createInputCache(root: string, blobs: BlobClient, busy: (jobId: string) => boolean): Promise<InputCache> {
  await rm(root, { recursive: true, force: true });
  await mkdir(root, { recursive: true });
  const cache = new Map<string, Promise<CachedInputs>>();
  const forget = (jobId: string): void => {
    cache.delete(jobId);
    void rm(path.join(root, jobId), { recursive: true, force: true });
  };
  return {
    root,
    inputsOf(job) {
      const known = cache.get(job.id);
      if (known) {
        cache.delete(job.id);
        cache.set(job.id, known); // most recently used
        return known;
      }
      const fetching = fetchInputs(blobs, job, path.join(root, job.id));
      fetching.catch(() => cache.delete(job.id)); // the next chunk tries again
      cache.set(job.id, fetching);
      for (const old of cache.keys()) {
        if (cache.size <= CACHED_JOBS) break;
        if (!busy(old)) forget(old);
      }
      return fetching;
    },
    forget,
    clear: () => rm(root, { recursive: true, force: true }),
  };
}

async function fetchInputs(blobs: BlobClient, job: Job, dir: string): Promise<CachedInputs> {
  const files = { input: path.join(dir, 'input'), style: path.join(dir, 'style-image') };
  await Promise.all([blobs.download(job.home!, BLOB.input(job.id), files.input), blobs.download(job.home!, BLOB.style(job.id), files.style)]);
  return files;
}
