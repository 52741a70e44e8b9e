/** Messages between a job backend and its chunk worker processes (child_process IPC). */
import type { BackendName, ModelChoice } from '../../config.js';
import type { VideoInfo } from '../../video/ffmpeg.js';
import type { Chunk } from '../chunk-plan.js';
import type { ChunkReport } from '../job-progress.js';
import type { VideoJobOptions } from '../job-store.js';

export interface ChunkProcessInit {
  type: 'init';
  model: ModelChoice;
  weights: string | undefined;
  modelsDir: string;
  seed: number;
  backend: BackendName | undefined;
  threads: number;
  /** Where learned painters are kept (a video job's painter 'learned'). */
  paintersDir?: string;
  /**
   * Tests only: the one chunk process that removes this file (the first to start a chunk while it
   * exists) fails that chunk as a broken wasm instance does ("memory access out of bounds") and
   * stays broken ("Aborted()") for every later chunk, as a real one would: the replacement of a
   * poisoned process can be tested without a 3 GB job.
   */
  testPoisonFile?: string;
}

/** One chunk to paint, with local files: the backend fetched its inputs and stores its output. */
export interface ChunkTask {
  type: 'chunk';
  jobId: string;
  input: string;
  info: VideoInfo;
  chunk: Chunk;
  options: VideoJobOptions;
  stylePath: string;
  /** Stylize at this size, encode at outSize. */
  workSize: { width: number; height: number };
  outSize: { width: number; height: number };
  /** Written whole (temp file + rename) once every frame is encoded. */
  segmentPath: string;
  /** Who asked for the job (its client): the pool shares its processes fairly between clients first. */
  client?: string;
}

export type ToChunkProcess = ChunkProcessInit | ChunkTask;

export type FromChunkProcess =
  | { type: 'ready'; backend: string; model: string }
  /** What the chunk is doing: its stage, frames painted and kept, measured times (its painter's training too). */
  | { type: 'progress'; jobId: string; chunk: number; report: ChunkReport }
  /** The latest painted frame as JPEG, about once a second. */
  | { type: 'preview'; jobId: string; chunk: number; jpeg: Uint8Array }
  | { type: 'done'; jobId: string; chunk: number; frames: number }
  /** `message` is shown to users; `detail` (ffmpeg's own words, say) goes to the log only. */
  | { type: 'error'; jobId?: string; chunk?: number; message: string; detail?: string; poisoned?: boolean };
/*
 * `poisoned` (with `error`): the process's engine itself broke (a wasm RuntimeError, "Aborted()",
 * memory access out of bounds): it exits and is never given another chunk; the chunk is retried
 * in a fresh process like one whose process crashed.
 */
