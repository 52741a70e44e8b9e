/**
 * Video jobs from upload to download: probe → plan chunks → stylize chunks in parallel worker
 * processes → assemble the MP4 with the original audio. One job runs at a time; its chunks
 * spread over the workers. Progress is saved after every chunk, so a restarted server resumes
 * each unfinished job at the first missing chunk.
 */
import { EventEmitter } from 'node:events';
import { copyFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { BackendName, ModelChoice } from '../../config.js';
import { encodeImage } from '../../codec/image-codec.js';
import type { RgbImage } from '../../engine/image.js';
import type { Logger } from '../../logger.js';
import { assembleMp4, probeVideo, type VideoInfo, type VideoLimits } from '../ffmpeg.js';
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
import { createWorkerPool, type WorkerPool } from './worker-pool.js';

export const BURN_IN_FRAMES = 4;

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
}

export interface SubmitRequest {
  /** A file we own (it is moved into the job). */
  inputPath: string;
  inputName: string;
  style: RgbImage;
  styleName: string;
  options: VideoJobOptions;
}

export interface JobRunner extends EventEmitter<{ update: [Job] }> {
  readonly store: JobStore;
  submit(request: SubmitRequest): Promise<Job>;
  get(id: string): Promise<Job | undefined>;
  cancel(id: string): Promise<Job | undefined>;
  outputPath(id: string): string;
  previewPath(id: string): string;
  /** Picks up queued and interrupted jobs (call once at start). */
  resume(): Promise<void>;
  close(): Promise<void>;
}

export function progressOf(job: Job): number {
  if (job.status === 'done') return 1;
  return job.framesTotal > 0 ? Math.min(1, job.framesDone / job.framesTotal) : 0;
}

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
  const queue: string[] = [];
  const canceled = new Set<string>();
  let running: Promise<void> | undefined;
  let closed = false;

  const publish = async (job: Job): Promise<void> => {
    await store.save(job);
    events.emit('update', { ...job });
  };

  function kick(): void {
    if (running || closed) return;
    const id = queue.shift();
    if (!id) return;
    running = run(id)
      .catch((error: unknown) => options.log.error({ err: error, job: id }, 'job runner failed'))
      .finally(() => {
        running = undefined;
        kick();
      });
  }

  async function run(id: string): Promise<void> {
    const job = await store.load(id);
    if (!job || job.status === 'done' || job.status === 'canceled' || job.status === 'failed') return;
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
    const workSize = evenSize(info, job.options.size);
    const outSize = { width: even(info.width), height: even(info.height) };
    const remaining = job.chunks!.filter((c) => !job.chunksDone.includes(c.index));
    const keptSoFar = new Map<number, number>();
    const doneFrames = (): number =>
      job.chunks!.filter((c) => job.chunksDone.includes(c.index)).reduce((s, c) => s + c.end - c.start, 0) +
      [...keptSoFar.values()].reduce((a, b) => a + b, 0);
    let lastEmit = 0;
    try {
      await Promise.all(
        remaining.map(async (chunk) => {
          await pool.run(
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
      const segments = job.chunks!.map((c) => segmentPath(dir, c.index));
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
      job.framesDone = job.framesTotal;
      await publish(job);
    } catch (error) {
      if (canceled.has(id) || closed) return;
      // The job's other chunks stop too: their folder is about to go.
      pool.abortJob(id);
      job.status = 'failed';
      job.error = error instanceof Error ? error.message : String(error);
      options.log.warn({ job: id, error: job.error }, 'job failed');
      await publish(job);
      // Nothing half-made stays behind; the input stays for a look at what went wrong.
      await rm(path.join(dir, 'chunks'), { recursive: true, force: true });
      await rm(path.join(dir, `${OUTPUT_FILE}.tmp`), { force: true });
      await rm(path.join(dir, `${OUTPUT_FILE}.tmp.segments.txt`), { force: true });
    }
  }

  const runner = Object.assign(events, {
    store,
    async submit(request: SubmitRequest): Promise<Job> {
      let info: VideoInfo;
      try {
        info = await probeVideo(request.inputPath, options.limits);
      } catch (error) {
        await rm(request.inputPath, { force: true });
        throw error;
      }
      const job = await store.create({ inputName: request.inputName, styleName: request.styleName, options: request.options });
      const dir = store.dir(job.id);
      await rename(request.inputPath, path.join(dir, INPUT_FILE)).catch(async () => {
        // Different file system: copy instead.
        await copyFile(request.inputPath, path.join(dir, INPUT_FILE));
        await rm(request.inputPath, { force: true });
      });
      await writeFile(path.join(dir, STYLE_FILE), await encodeImage(request.style, 'png'));
      job.info = info;
      job.chunks = planChunks(info.frames, {
        chunkFrames: options.chunkFrames ?? balancedChunkFrames(info.frames, options.workers, defaultChunkFrames(info.fps, BURN_IN_FRAMES)),
        burnIn: BURN_IN_FRAMES,
      });
      job.framesTotal = info.frames;
      await publish(job);
      queue.push(job.id);
      kick();
      return job;
    },
    get: (id: string) => store.load(id),
    async cancel(id: string): Promise<Job | undefined> {
      const job = await store.load(id);
      if (!job) return undefined;
      if (job.status === 'queued' || job.status === 'running') {
        canceled.add(id);
        const at = queue.indexOf(id);
        if (at !== -1) queue.splice(at, 1);
        pool.abortJob(id);
        job.status = 'canceled';
        await publish(job);
        await rm(path.join(store.dir(id), 'chunks'), { recursive: true, force: true });
        await rm(path.join(store.dir(id), INPUT_FILE), { force: true });
      }
      return job;
    },
    outputPath: (id: string) => path.join(store.dir(id), OUTPUT_FILE),
    previewPath: (id: string) => path.join(store.dir(id), PREVIEW_FILE),
    async resume() {
      for (const job of await store.all()) {
        if (job.status !== 'queued' && job.status !== 'running') continue;
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
        await publish(job);
        options.log.info({ job: job.id, chunksDone: job.chunksDone.length }, 'resuming job');
        queue.push(job.id);
      }
      kick();
    },
    async close() {
      closed = true;
      queue.length = 0;
      await pool.close();
      await running;
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
