/**
 * Video jobs from upload to download: probe → plan chunks → stylize chunks in parallel worker
 * processes → assemble the MP4 with the original audio. Up to one job per worker runs at once,
 * and the pool shares workers fairly between them; more wait in a bounded queue. Progress is
 * saved after every chunk, so a restarted server resumes each unfinished job at the first
 * missing chunk; a chunk whose worker crashed is retried. Ended jobs are deleted after the
 * retention time. What a job may cost, and how many one client may have, is capped.
 */
import { EventEmitter } from 'node:events';
import { copyFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { BackendName, ModelChoice } from '../../config.js';
import { encodeImage } from '../../codec/image-codec.js';
import type { RgbImage } from '../../engine/image.js';
import { BadInputError, BusyError, ErrorCode, RateLimitedError, StylizeError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { FfmpegError, assembleMp4, probeVideo, type VideoInfo, type VideoLimits } from '../ffmpeg.js';
import { balancedChunkFrames, defaultChunkFrames, planChunks } from './chunk-plan.js';
import {
  INPUT_FILE,
  OUTPUT_FILE,
  PREVIEW_FILE,
  STYLE_FILE,
  createJobStore,
  type Job,
  type JobStore,
  type VideoJobOptions,
} from './job-store.js';
import { ChunkFailedError, WorkerCrashedError, createWorkerPool, type WorkerPool } from './worker-pool.js';

export const BURN_IN_FRAMES = 4;
/** A chunk whose worker process died is tried this many more times before the job fails. */
export const CHUNK_RETRIES = 2;

export interface JobRunnerOptions {
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
}

export interface SubmitRequest {
  /** A file we own (it is moved into the job, or removed if the job is refused). */
  inputPath: string;
  inputName: string;
  /** Decoded only once the video has been checked (a refused video costs no image decode). */
  style: () => Promise<RgbImage>;
  styleName: string;
  options: VideoJobOptions;
  /** Who asks (an address), for the per-client quota. */
  client?: string;
}

/**
 * What a job costs: working megapixels × steps, over every frame (the first frame of each chunk
 * and its burn-in included). The unit of `--max-job-cost`.
 */
export function jobCost(info: Pick<VideoInfo, 'width' | 'height' | 'frames'>, options: Pick<VideoJobOptions, 'size' | 'stepsPerFrame' | 'firstFrameSteps'>, chunks: number): number {
  const work = evenSize(info, options.size);
  const megapixels = (work.width * work.height) / 1e6;
  const steps = info.frames * Math.max(1, options.stepsPerFrame) + chunks * (options.firstFrameSteps + BURN_IN_FRAMES * options.stepsPerFrame);
  return megapixels * steps;
}

/** What a user may read of a failure: our own messages, never ffmpeg's stderr or a stack. */
function publicReason(error: unknown): string {
  if (error instanceof FfmpegError || error instanceof ChunkFailedError) return error.message;
  if (error instanceof WorkerCrashedError) return `a worker process stopped unexpectedly ${CHUNK_RETRIES + 1} times on this job`;
  if (error instanceof StylizeError && error.code !== ErrorCode.INTERNAL) return error.message;
  return 'internal error (the server log has the details)';
}

export interface JobRunner extends EventEmitter<{ update: [Job] }> {
  readonly store: JobStore;
  submit(request: SubmitRequest): Promise<Job>;
  get(id: string): Promise<Job | undefined>;
  /** Stops a queued or running job (its input and chunks are deleted; job.json stays). */
  cancel(id: string): Promise<Job | undefined>;
  /** Cancels it if it is still going, then deletes the job and all its files. */
  remove(id: string): Promise<Job | undefined>;
  outputPath(id: string): string;
  previewPath(id: string): string;
  /** Picks up queued and interrupted jobs (call once at start); never throws for one bad job. */
  resume(): Promise<void>;
  /** Deletes ended jobs older than the retention time now (also runs on a timer). */
  sweep(): Promise<number>;
  /** Worker process ids (tests and benches). */
  workerPids(): number[];
  close(): Promise<void>;
}

export function progressOf(job: Job): number {
  if (job.status === 'done') return 1;
  return job.framesTotal > 0 ? Math.min(1, job.framesDone / job.framesTotal) : 0;
}

const FINAL = new Set<Job['status']>(['done', 'failed', 'canceled']);

export function createJobRunner(options: JobRunnerOptions): JobRunner {
  const store = createJobStore(options.dataDir);
  const events = new EventEmitter<{ update: [Job] }>();
  // One listener per open progress stream (GET …/events), each removed when its client leaves.
  events.setMaxListeners(0);
  const cores = os.availableParallelism();
  const pool: WorkerPool = createWorkerPool(options.workers, {
    model: options.model,
    weights: options.weights,
    modelsDir: options.modelsDir,
    seed: options.seed,
    backend: options.backend,
    threads: Math.max(1, Math.floor(cores / options.workers)),
  });
  const log = options.log;
  const queue: string[] = [];
  /** Queued and running jobs, with who asked: the quotas count these. */
  const active = new Map<string, { client: string | undefined }>();
  const running = new Map<string, Promise<void>>();
  const canceled = new Set<string>();
  const maxRunning = Math.max(1, options.workers);
  let closed = false;
  const sweeper = options.retentionS !== undefined ? setInterval(() => void runner.sweep(), Math.min(600_000, Math.max(1000, (options.retentionS * 1000) / 4))) : undefined;
  sweeper?.unref();

  const publish = async (job: Job): Promise<void> => {
    if (FINAL.has(job.status)) active.delete(job.id);
    await store.save(job);
    events.emit('update', { ...job });
  };

  function kick(): void {
    while (!closed && running.size < maxRunning && queue.length > 0) {
      const id = queue.shift()!;
      const work = run(id)
        .catch((error: unknown) => log.error({ err: error, job: id }, 'job runner failed'))
        .finally(() => {
          running.delete(id);
          kick();
        });
      running.set(id, work);
    }
  }

  async function runChunk(id: string, task: Parameters<WorkerPool['run']>[0], onProgress: (kept: number) => void): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await pool.run(task, onProgress);
        return;
      } catch (error) {
        if (!(error instanceof WorkerCrashedError) || attempt >= CHUNK_RETRIES || canceled.has(id) || closed) throw error;
        log.warn({ job: id, chunk: task.chunk.index, attempt: attempt + 1, reason: error.message }, 'chunk worker crashed; retrying the chunk');
        onProgress(0);
      }
    }
  }

  async function run(id: string): Promise<void> {
    const job = await store.load(id);
    if (!job || FINAL.has(job.status)) {
      active.delete(id);
      return;
    }
    const dir = store.dir(id);
    if (!job.info || !job.chunks) {
      // Created, but the server stopped before the upload was in place.
      job.status = 'failed';
      job.error = 'the upload did not complete';
      await publish(job);
      return;
    }
    const info = job.info;
    job.status = 'running';
    await publish(job);
    log.info({ job: id, frames: job.framesTotal, chunks: job.chunks.length, chunksDone: job.chunksDone.length }, 'job started');
    const started = performance.now();
    const workSize = evenSize(info, job.options.size);
    const outSize = { width: even(info.width), height: even(info.height) };
    const remaining = job.chunks.filter((c) => !job.chunksDone.includes(c.index));
    const keptSoFar = new Map<number, number>();
    const doneFrames = (): number =>
      job.chunks!.filter((c) => job.chunksDone.includes(c.index)).reduce((s, c) => s + c.end - c.start, 0) +
      [...keptSoFar.values()].reduce((a, b) => a + b, 0);
    let lastEmit = 0;
    try {
      await Promise.all(
        remaining.map(async (chunk) => {
          await runChunk(
            id,
            {
              type: 'chunk',
              jobId: id,
              input: path.join(dir, INPUT_FILE),
              info,
              chunk,
              options: job.options,
              stylePath: path.join(dir, STYLE_FILE),
              workSize,
              outSize,
              segmentPath: segmentPath(dir, chunk.index),
              previewPath: path.join(dir, PREVIEW_FILE),
            },
            (kept) => {
              keptSoFar.set(chunk.index, kept);
              job.framesDone = doneFrames();
              if (performance.now() - lastEmit > 250) {
                lastEmit = performance.now();
                events.emit('update', { ...job });
              }
            },
          );
          keptSoFar.delete(chunk.index);
          if (canceled.has(id)) return; // cancel() has written the job's last state
          job.chunksDone.push(chunk.index);
          job.framesDone = doneFrames();
          await publish(job);
        }),
      );
      if (canceled.has(id)) return;
      job.stage = 'assembling';
      events.emit('update', { ...job });
      const segments = job.chunks.map((c) => segmentPath(dir, c.index));
      const tmp = path.join(dir, `${OUTPUT_FILE}.tmp`);
      await assembleMp4(segments, path.join(dir, INPUT_FILE), info, tmp);
      if (canceled.has(id)) {
        await rm(tmp, { force: true });
        return;
      }
      await rename(tmp, path.join(dir, OUTPUT_FILE));
      await rm(path.join(dir, 'chunks'), { recursive: true, force: true });
      await rm(path.join(dir, `${OUTPUT_FILE}.tmp.segments.txt`), { force: true });
      job.status = 'done';
      delete job.stage;
      job.framesDone = job.framesTotal;
      await publish(job);
      log.info({ job: id, frames: job.framesTotal, seconds: Math.round((performance.now() - started) / 100) / 10 }, 'job done');
    } catch (error) {
      if (canceled.has(id) || closed) return;
      // The job's other chunks stop too: their folder is about to go.
      pool.abortJob(id);
      job.status = 'failed';
      delete job.stage;
      job.error = publicReason(error);
      log.warn({ job: id, err: error, detail: (error as { detail?: string }).detail }, 'job failed');
      await publish(job).catch((e: unknown) => log.error({ job: id, err: e }, 'could not record the failure'));
      // Nothing half-made stays behind; the input stays for a look at what went wrong.
      await rm(path.join(dir, 'chunks'), { recursive: true, force: true });
      await rm(path.join(dir, `${OUTPUT_FILE}.tmp`), { force: true });
      await rm(path.join(dir, `${OUTPUT_FILE}.tmp.segments.txt`), { force: true });
    }
  }

  /** Refuses a job the server cannot take now (quotas), before anything is read. */
  function checkQuotas(client: string | undefined): void {
    if (options.maxQueuedJobs !== undefined && active.size >= options.maxQueuedJobs) {
      throw new BusyError(`the server has ${active.size} video jobs waiting or running, its limit; try again later`, 60);
    }
    if (options.maxJobsPerClient !== undefined && client !== undefined) {
      const mine = [...active.values()].filter((a) => a.client === client).length;
      if (mine >= options.maxJobsPerClient) {
        throw new RateLimitedError(`you already have ${mine} video jobs waiting or running; wait for one to finish (or cancel one)`, 60);
      }
    }
  }

  async function submit(request: SubmitRequest): Promise<Job> {
    let job: Job | undefined;
    try {
      checkQuotas(request.client);
      const info = await probeVideo(request.inputPath, options.limits);
      const chunks = planChunks(info.frames, {
        chunkFrames: options.chunkFrames ?? balancedChunkFrames(info.frames, options.workers, defaultChunkFrames(info.fps, BURN_IN_FRAMES)),
        burnIn: BURN_IN_FRAMES,
      });
      const cost = jobCost(info, request.options, chunks.length);
      if (options.maxJobCost !== undefined && cost > options.maxJobCost) {
        const work = evenSize(info, request.options.size);
        throw new BadInputError(
          `this job is ${Math.round(cost)} megapixel-steps (${info.frames} frames at ${work.width}×${work.height}, ${request.options.stepsPerFrame} steps a frame); ` +
            `this server takes up to ${options.maxJobCost}: use a smaller size, fewer steps or a shorter clip`,
        );
      }
      const style = await request.style();
      // Checked again: another request may have taken the last place while this one was probed.
      checkQuotas(request.client);
      job = await store.create({ inputName: request.inputName, styleName: request.styleName, options: request.options, ...(request.client ? { client: request.client } : {}) });
      active.set(job.id, { client: request.client });
      const dir = store.dir(job.id);
      await rename(request.inputPath, path.join(dir, INPUT_FILE)).catch(async () => {
        // Different file system: copy instead.
        await copyFile(request.inputPath, path.join(dir, INPUT_FILE));
      });
      await writeFile(path.join(dir, STYLE_FILE), await encodeImage(style, 'png'));
      job.info = info;
      job.chunks = chunks;
      job.framesTotal = info.frames;
      await publish(job);
    } catch (error) {
      // Refused or failed half-way (a full disk, say): nothing of it stays behind.
      if (job) {
        active.delete(job.id);
        await store.remove(job.id).catch(() => undefined);
      }
      throw error;
    } finally {
      await rm(request.inputPath, { force: true }).catch(() => undefined);
    }
    log.info({ job: job.id, client: request.client, frames: job.framesTotal, input: job.inputName }, 'job queued');
    queue.push(job.id);
    kick();
    return job;
  }

  async function cancel(id: string): Promise<Job | undefined> {
    const job = await store.load(id);
    if (!job) return undefined;
    if (job.status === 'queued' || job.status === 'running') {
      canceled.add(id);
      const at = queue.indexOf(id);
      if (at !== -1) queue.splice(at, 1);
      pool.abortJob(id);
      job.status = 'canceled';
      delete job.stage;
      await publish(job);
      log.info({ job: id }, 'job canceled');
      await rm(path.join(store.dir(id), 'chunks'), { recursive: true, force: true });
      await rm(path.join(store.dir(id), INPUT_FILE), { force: true });
    }
    return job;
  }

  const runner = Object.assign(events, {
    store,
    submit,
    get: (id: string) => store.load(id),
    cancel,
    async remove(id: string): Promise<Job | undefined> {
      const job = await cancel(id);
      if (!job) return undefined;
      await running.get(id); // a canceled run ends quickly; its files are ours to delete after
      await store.remove(id);
      log.info({ job: id }, 'job deleted');
      return job;
    },
    outputPath: (id: string) => path.join(store.dir(id), OUTPUT_FILE),
    previewPath: (id: string) => path.join(store.dir(id), PREVIEW_FILE),
    async resume() {
      let jobs: Job[] = [];
      try {
        jobs = await store.all();
      } catch (error) {
        log.error({ err: error }, 'could not read the job store; no jobs resumed');
      }
      for (const job of jobs) {
        if (job.status !== 'queued' && job.status !== 'running') continue;
        try {
          // Chunks cut off mid-way left .tmp segments behind; finished ones are kept.
          const chunkDir = path.join(store.dir(job.id), 'chunks');
          for (const name of await readdir(chunkDir).catch(() => [] as string[])) {
            if (name.endsWith('.tmp')) await rm(path.join(chunkDir, name), { force: true });
          }
          job.chunksDone = [];
          for (const chunk of job.chunks ?? []) {
            if (await stat(segmentPath(store.dir(job.id), chunk.index)).then(() => true, () => false)) job.chunksDone.push(chunk.index);
          }
          job.status = 'queued';
          active.set(job.id, { client: job.client });
          await publish(job);
          log.info({ job: job.id, chunksDone: job.chunksDone.length }, 'resuming job');
          queue.push(job.id);
        } catch (error) {
          // One job that cannot even be written back (a full disk) must not stop the server.
          log.error({ job: job.id, err: error }, 'could not resume this job; it stays as it is until the next start');
          active.delete(job.id);
        }
      }
      await runner.sweep().catch(() => 0);
      kick();
    },
    async sweep(): Promise<number> {
      if (options.retentionS === undefined) return 0;
      const cutoff = Date.now() - options.retentionS * 1000;
      let removed = 0;
      for (const job of await store.all()) {
        if (!FINAL.has(job.status) || Date.parse(job.updatedAt) > cutoff) continue;
        await store.remove(job.id);
        removed++;
        log.info({ job: job.id, status: job.status }, 'job expired (retention); files deleted');
      }
      return removed;
    },
    workerPids: () => pool.pids(),
    async close() {
      closed = true;
      if (sweeper) clearInterval(sweeper);
      queue.length = 0;
      await pool.close();
      await Promise.all(running.values());
    },
  });
  return runner as JobRunner;
}

function segmentPath(dir: string, index: number): string {
  return path.join(dir, 'chunks', `${String(index).padStart(5, '0')}.mp4`);
}

function even(v: number): number {
  return Math.max(2, Math.floor(v / 2) * 2);
}

/** Working size: short side `size` (never larger than the video), even dimensions. */
export function evenSize(info: Pick<VideoInfo, 'width' | 'height'>, size: number): { width: number; height: number } {
  const scale = Math.min(1, size / Math.min(info.width, info.height));
  return { width: even(Math.round(info.width * scale)), height: even(Math.round(info.height * scale)) };
}
