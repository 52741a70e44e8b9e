/**
 * Durable jobs: one directory per job under `<dataDir>/jobs/<id>/` holding job.json (written
 * atomically: temp file + rename), the input, the style image, finished chunk segments and the
 * output. A server killed at any moment restarts with every job as it was last written.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { MotionMode, OptimizerName, PainterMode } from '../config.js';
import type { VideoInfo } from '../video/ffmpeg.js';
import type { Chunk } from './chunk-plan.js';

export const JOB_STATUSES = ['queued', 'running', 'done', 'failed', 'canceled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export type JobStage = 'assembling' | 'starting' | 'decoding' | 'learning-painter' | 'painting-first-frame' | 'painting';

export interface VideoJobOptions {
  /** Short side the frames are stylized at. */
  size: number;
  stepsPerFrame: number;
  firstFrameSteps: number;
  /** α and β as resolved from the style strength (config.ts resolveCostWeights). */
  contentWeight: number;
  styleWeight: number;
  /** The control the user set (shown back; the weights above are what paints). */
  styleStrength?: number;
  /** The optimiser recipe (engine/optimiser-recipe.ts); absent: a job stored before recipes, the seed's. */
  optimizer?: OptimizerName;
  /** How much of the style's colours a cold frame starts with (config.ts resolveStartColours); absent: 1. */
  startColours?: number;
  preserveColors: boolean;
  /** How warm starts follow the video: 'flow', 'residual' or 'none' (StylizeFrameOptions.motion). */
  motion?: MotionMode;
  /** Ruder et al.'s temporal loss weight (0 = off). */
  temporalWeight?: number;
  /** A learned feed-forward painter starts each frame (painter-pass.ts); absent = 'off'. */
  painter?: PainterMode;
}

export interface Job {
  id: string;
  status: JobStatus;
  createdAt: string;
  updatedAt: string;
  /** The name the file had on the user's machine (shown, never used as a path). */
  inputName: string;
  styleName: string;
  options: VideoJobOptions;
  info?: VideoInfo;
  chunks?: Chunk[];
  /** Indexes of chunks whose segment is complete on disk. */
  chunksDone: number[];
  framesDone: number;
  framesTotal: number;
  error?: string;
  /** The address the job came from (per-client quotas); never shown. */
  client?: string;
  /** SHA-256 (hex) of the owner token given at submit (job-token.ts); never shown. */
  ownerTokenHash?: string;
  /**
   * 'assembling': set while the finished chunks are put together with the audio (stored). The
   * others are a watcher's view only (never stored; job-progress.ts): 'starting' (no chunk has a
   * process yet), 'decoding', 'learning-painter' (chunks teach their learned painter before their
   * first frame, with `learning` the training steps done of those planned), 'painting-first-frame'
   * (a cold start: the most steps of any frame), 'painting'.
   */
  stage?: JobStage;
  learning?: { step: number; steps: number };
  /** A watcher's view only: about how many seconds the painting has left, from measured frame times. */
  etaS?: number;
  /** A painted frame has been stored for GET /api/jobs/:id/preview (set once, after the first). */
  hasPreview?: boolean;
  /** Worker farm: the URL of the gateway that holds the job's files (workers fetch them there). */
  home?: string;
  /** Worker farm: that gateway's id (its assembly queue); absent in-process. */
  gateway?: string;
  /** Worker farm: the BullMQ id of the job's current flow. */
  flow?: string;
}

export const INPUT_FILE = 'input';
export const OUTPUT_FILE = 'output.mp4';
export const PREVIEW_FILE = 'preview.jpg';

export interface JobStore {
  readonly root: string;
  dir(id: string): string;
  create(fields: Pick<Job, 'inputName' | 'styleName' | 'options' | 'client' | 'ownerTokenHash'>): Promise<Job>;
  save(job: Job): Promise<void>;
  load(id: string): Promise<Job | undefined>;
  all(): Promise<Job[]>;
  remove(id: string): Promise<void>;
}

export function createJobStore(dataDir: string): JobStore {
  const root = path.join(dataDir, 'jobs');
  const dir = (id: string): string => path.join(root, id);
  // Chunks finish concurrently: writes of one job are queued so they land in order, each
  // through its own temp file.
  const writes = new Map<string, Promise<void>>();
  let counter = 0;
  const save = (job: Job): Promise<void> => {
    job.updatedAt = new Date().toISOString();
    const file = path.join(dir(job.id), 'job.json');
    const text = JSON.stringify(job, null, 1);
    const tmp = `${file}.${process.pid}.${counter++}.tmp`;
    const write = (writes.get(job.id) ?? Promise.resolve())
      .catch(() => undefined)
      .then(async () => {
        await writeFile(tmp, text);
        await rename(tmp, file);
      });
    writes.set(job.id, write);
    void write.finally(() => {
      if (writes.get(job.id) === write) writes.delete(job.id);
    }).catch(() => undefined);
    return write;
  };
  const load = async (id: string): Promise<Job | undefined> => {
    if (!/^[a-z0-9]{16}$/.test(id)) return undefined;
    try {
      return JSON.parse(await readFile(path.join(dir(id), 'job.json'), 'utf8')) as Job;
    } catch {
      return undefined;
    }
  };
  return {
    root,
    dir,
    async create(fields) {
      const id = randomBytes(8).toString('hex');
      await mkdir(path.join(dir(id), 'chunks'), { recursive: true });
      const now = new Date().toISOString();
      const job: Job = { id, status: 'queued', createdAt: now, updatedAt: now, chunksDone: [], framesDone: 0, framesTotal: 0, ...fields };
      try {
        await save(job);
      } catch (error) {
        // A full disk, say: no half-made job may stay behind.
        await rm(dir(id), { recursive: true, force: true }).catch(() => undefined);
        throw error;
      }
      return job;
    },
    save,
    load,
    async all() {
      const ids = await readdir(root).catch(() => [] as string[]);
      const jobs = await Promise.all(ids.map(load));
      return jobs.filter((j): j is Job => j !== undefined).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    },
    remove: (id) => rm(dir(id), { recursive: true, force: true }),
  };
}
