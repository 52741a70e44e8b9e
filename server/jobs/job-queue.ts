/**
 * Video jobs as the routes, the CLI, the page and the benches see them (JobQueue), whichever
 * backend runs them: both are the one lifecycle of job-service.ts, painting through this
 * machine's chunk processes (local/local-job-queue.ts) or a BullMQ worker farm
 * (farm/farm-job-queue.ts). Also what both share: the checks before a job is taken (probe, chunk
 * plan, cost cap), the words a failure is reported in, and `watchJob`, the one "follow this job
 * until it ends" (progress included) that every waiter uses.
 */
import type { Readable } from 'node:stream';
import type { RgbImage } from '../engine/image.js';
import { BadInputError, ErrorCode, StylizeError } from '../errors.js';
import { FfmpegError, probeVideo, type VideoInfo, type VideoLimits } from '../video/ffmpeg.js';
import { balancedChunkFrames, defaultChunkFrames, planChunks, type Chunk } from './chunk-plan.js';
import { isFinal, type JobEvent, type JobRepository } from './job-repository.js';
import { withChunkProgress, type ChunkReport } from './job-progress.js';
import type { Job, VideoJobOptions } from './job-store.js';
import { styleSideFor } from '../engine/style-side.js';

export const BURN_IN_FRAMES = 4;
/**
 * Most pixels a job's working frame may have (about 1440p): with the probe's aspect bound
 * (MAX_ASPECT_RATIO) and the short side's (LIMITS.maxVideoSize), what one chunk process's wasm
 * memory holds with room to spare. Beyond it a job is refused (400) naming the limit.
 */
export const MAX_WORK_PIXELS = 2560 * 1440;
/** Longest side a job's working frame may have. */
export const MAX_WORK_SIDE = 4320;
/** A chunk whose worker process died is tried this many more times before the job fails. */
export const CHUNK_RETRIES = 2;

export interface SubmitRequest {
  /** A file we own (it is moved into the job, or removed if the job is refused). */
  inputPath: string;
  inputName: string;
  /** Decoded only once the video has been checked (a refused video costs no image decode). */
  style: () => Promise<RgbImage>;
  /**
   * The style library's own file for the style (a shipped painting, or an upload the library
   * re-encoded), kept as the job's style image as it is: the job's learned painter is then keyed
   * by the same bytes as a live stream's in that style, so they share it (and the built-in
   * paintings' shipped painters). Absent (an image sent with the job): the decoded image as PNG.
   */
  styleBytes?: () => Promise<Uint8Array>;
  styleName: string;
  options: VideoJobOptions;
  /** Who asks (an address), for the per-client quota. */
  client?: string;
  /** SHA-256 of the owner token the client was given (job-token.ts); cancel and delete over HTTP need it. */
  ownerTokenHash?: string;
}

/** The finished MP4: a file here, or a stream from the gateway that holds it. */
export type OutputSource = { path: string } | { stream: Readable; size: number | undefined };

export interface WatchOptions {
  /** Stops the watch (the iteration ends). */
  signal?: AbortSignal;
  /** Progress within chunks is passed on at most this often (default 250 ms). */
  progressEveryMs?: number;
  /** Also re-read the job this often, in case a change notice was lost (default: never). */
  pollMs?: number;
}

export interface JobQueue {
  /** 'local': worker processes of this server; 'farm': BullMQ workers anywhere. */
  readonly kind: 'local' | 'farm';
  submit(request: SubmitRequest): Promise<Job>;
  get(id: string): Promise<Job | undefined>;
  /** The job now, then after every change (throttled progress included), ending once it has ended. */
  watch(id: string, options?: WatchOptions): AsyncIterable<Job>;
  /** Stops a queued or running job (its input and chunks are deleted; the record stays). */
  cancel(id: string): Promise<Job | undefined>;
  /** Cancels it if it is still going, then deletes the job and all its files. */
  remove(id: string): Promise<Job | undefined>;
  output(id: string): Promise<OutputSource | undefined>;
  /** The latest painted frame (JPEG). */
  preview(id: string): Promise<Buffer | undefined>;
  /** Picks up queued and interrupted jobs (call once at start); never throws for one bad job. */
  resume(): Promise<void>;
  /** Deletes ended jobs older than the retention time now (also runs on a timer). */
  sweep(): Promise<number>;
  /** Chunk worker process ids on this machine (tests and benches). */
  workerPids(): number[];
  close(): Promise<void>;
}

export function progressOf(job: Job): number {
  if (job.status === 'done') return 1;
  return job.framesTotal > 0 ? Math.min(1, job.framesDone / job.framesTotal) : 0;
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

export interface PlanOptions {
  limits: VideoLimits;
  /** Workers the chunk count is balanced for. */
  workers: number;
  /** Override chunk length (frames); default about two seconds. */
  chunkFrames?: number | undefined;
  maxJobCost?: number | undefined;
}

/** Probes the upload, cuts it into chunks and checks the cost cap; throws what the client must change. */
export async function planJob(inputPath: string, options: VideoJobOptions, plan: PlanOptions): Promise<{ info: VideoInfo; chunks: Chunk[] }> {
  const info = await probeVideo(inputPath, plan.limits);
  checkWorkSize(info, options.size);
  const chunks = planChunks(info.frames, {
    chunkFrames: plan.chunkFrames ?? balancedChunkFrames(info.frames, plan.workers, defaultChunkFrames(info.fps, BURN_IN_FRAMES)),
    burnIn: BURN_IN_FRAMES,
  });
  const cost = jobCost(info, options, chunks.length);
  if (plan.maxJobCost !== undefined && cost > plan.maxJobCost) {
    const work = evenSize(info, options.size);
    throw new BadInputError(
      `this job is ${Math.round(cost)} megapixel-steps (${info.frames} frames at ${work.width}×${work.height}, ${options.stepsPerFrame} steps a frame); ` +
        `this server takes up to ${plan.maxJobCost}: use a smaller size, fewer steps or a shorter clip`,
    );
  }
  return { info, chunks };
}

/** The worker process died while it had the chunk (killed, out of memory, crashed). */
export class ChunkProcessCrashedError extends Error {
  constructor(reason: string) {
    super(`chunk worker exited (${reason})`);
    this.name = 'ChunkProcessCrashedError';
  }
}

/** The worker reported a failure of the chunk itself; `detail` is for the log only. */
export class ChunkFailedError extends Error {
  readonly detail: string | undefined;
  constructor(message: string, detail?: string) {
    super(message);
    this.name = 'ChunkFailedError';
    this.detail = detail;
  }
}

export const CRASHED_REASON = `a worker process stopped unexpectedly ${CHUNK_RETRIES + 1} times on this job`;

/** What a user may read of a failure: our own messages, never ffmpeg's stderr or a stack. */
export function publicReason(error: unknown): string {
  if (error instanceof FfmpegError || error instanceof ChunkFailedError) return error.message;
  if (error instanceof ChunkProcessCrashedError) return CRASHED_REASON;
  if (error instanceof StylizeError && error.code !== ErrorCode.INTERNAL) return error.message;
  return 'internal error (the server log has the details)';
}

/** Refuses (BadInputError, naming the limit) a working frame larger than MAX_WORK_PIXELS or MAX_WORK_SIDE. */
export function checkWorkSize(info: Pick<VideoInfo, 'width' | 'height'>, size: number): void {
  const work = evenSize(info, size);
  const pixels = work.width * work.height;
  if (pixels <= MAX_WORK_PIXELS && Math.max(work.width, work.height) <= MAX_WORK_SIDE) return;
  // The largest short side that fits both limits at this video's shape.
  const [long, short] = [Math.max(info.width, info.height), Math.min(info.width, info.height)];
  const fits = Math.floor(Math.min(Math.sqrt((MAX_WORK_PIXELS * short) / long), (MAX_WORK_SIDE * short) / long));
  throw new BadInputError(
    `this video would be painted at ${work.width}×${work.height} (${(pixels / 1e6).toFixed(1)} megapixels); the limit is ` +
      `${(MAX_WORK_PIXELS / 1e6).toFixed(1)} megapixels and ${MAX_WORK_SIDE} px on the long side: use a size of at most ${Math.max(2, fits)}`,
  );
}

/** The long side a job's style image is decoded at: the same rule as live frames (engine/style-side.ts). */
export function styleLongSide(workSize: { width: number; height: number }, minSide: number): number {
  return styleSideFor(workSize, minSide);
}

function even(v: number): number {
  return Math.max(2, Math.floor(v / 2) * 2);
}

/** Working size: short side `size` (never larger than the video), even dimensions. */
export function evenSize(info: Pick<VideoInfo, 'width' | 'height'>, size: number): { width: number; height: number } {
  const scale = Math.min(1, size / Math.min(info.width, info.height));
  return { width: even(Math.round(info.width * scale)), height: even(Math.round(info.height * scale)) };
}

/** Output size: the video's own, rounded down to even. */
export function outputSize(info: Pick<VideoInfo, 'width' | 'height'>): { width: number; height: number } {
  return { width: even(info.width), height: even(info.height) };
}

/**
 * Follows one job: yields it now, then after every stored change and (at most every
 * `progressEveryMs`, the latest report always arriving) with the frames of chunks still being
 * painted counted in (withChunkProgress: what GET /api/jobs/:id shows too), and ends after a final
 * status, when the job is deleted, or on `signal`. A consumer slower than the changes gets the
 * latest state, never a backlog (the final one always arrives).
 */
export async function* watchJob(repo: Pick<JobRepository, 'get' | 'subscribe' | 'chunkProgress'>, id: string, options: WatchOptions = {}): AsyncGenerator<Job> {
  const progressEveryMs = options.progressEveryMs ?? 250;
  let job: Job | undefined;
  /** Each running chunk's latest report: seeded from the repository, then kept from the events. */
  const chunks = new Map<number, ChunkReport>();
  let pending: Job | undefined;
  let wake: (() => void) | undefined;
  let lastProgress = 0;
  /** A report held back by the throttle is offered when it runs out (the trailing edge). */
  let trailing: NodeJS.Timeout | undefined;
  let gone = false;
  const offer = (next: Job): void => {
    pending = next;
    wake?.();
  };
  const offerProgress = (): void => {
    clearTimeout(trailing);
    trailing = undefined;
    lastProgress = performance.now();
    if (job && !isFinal(job)) offer(withChunkProgress(job, chunks));
  };
  /** A stored state replaces ours unless it is older (a poll racing a notice) or ours has ended. */
  const accept = (next: Job): void => {
    if (job && (isFinal(job) || next.updatedAt < job.updatedAt)) return;
    job = next;
    // Reports of chunks since done stay: they no longer count frames, but their times still count.
    offer(withChunkProgress(job, chunks));
  };
  const unsubscribe = repo.subscribe((event: JobEvent) => {
    if (event.type === 'job') {
      if (event.job.id === id) accept(event.job);
      return;
    }
    if (event.id !== id || !job || isFinal(job) || typeof event.report?.kept !== 'number') return;
    chunks.set(event.chunk, event.report);
    const wait = lastProgress + progressEveryMs - performance.now();
    if (wait <= 0) offerProgress();
    else trailing ??= setTimeout(offerProgress, wait);
  });
  const onAbort = (): void => wake?.();
  options.signal?.addEventListener('abort', onAbort);
  try {
    const [first, reported] = await Promise.all([repo.get(id), repo.chunkProgress(id)]);
    if (!first) return;
    // Reports that came before this watch began (events since then are newer and win).
    for (const [chunk, report] of reported) if (!chunks.has(chunk)) chunks.set(chunk, report);
    accept(first);
    while (!options.signal?.aborted && !gone) {
      if (!pending) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          if (options.pollMs) setTimeout(resolve, options.pollMs).unref();
        });
        wake = undefined;
        if (!pending && options.pollMs && !options.signal?.aborted) {
          const polled = await repo.get(id).catch(() => job);
          if (!polled) gone = true;
          else accept(polled);
        }
        continue;
      }
      const next = pending;
      pending = undefined;
      yield next;
      if (isFinal(next)) return;
    }
  } finally {
    clearTimeout(trailing);
    unsubscribe();
    options.signal?.removeEventListener('abort', onAbort);
  }
}
