/**
 * What a running job is doing and how long it has left, as its readers see it (GET /api/jobs/:id,
 * the event stream, the CLI): built from the stored job and the latest report of each chunk still
 * being painted (ChunkReport, kept beside the job since it changes every frame). A view only: the
 * stored job never carries `stage` (but 'assembling'), `learning` or `etaS`.
 */
import type { Chunk } from './chunk-plan.js';
import type { Job, JobStage } from './job-store.js';

export interface LearningProgress {
  step: number;
  steps: number;
}

/** What one chunk is doing: in the order a chunk goes through them. */
export type ChunkStage = 'decoding' | 'learning-painter' | 'painting-first-frame' | 'painting';

/**
 * A chunk's latest report, sent by its chunk process (stylize-chunk.ts) as it goes. Timings are
 * durations measured where the chunk is painted, so a farm's clocks never need to agree.
 */
export interface ChunkReport {
  /** Frames kept so far (the burn-in's are painted, not kept). */
  kept: number;
  /** Absent in reports from before stages were reported: read as 'painting'. */
  stage?: ChunkStage;
  /** The learned painter's training: step of steps (stage 'learning-painter'). */
  learning?: LearningProgress;
  /** Frames painted so far, burn-in included (of chunk.end − chunk.decodeFrom). */
  painted?: number;
  /** How long the chunk's first frame (a cold start: firstFrameSteps) took, ms. */
  firstFrameMs?: number;
  /** The mean time of its frames after the first, ms. */
  frameMs?: number;
  /** The mean time of a painter training step so far, ms. */
  learningStepMs?: number;
}

/**
 * The latest report of each chunk (by chunk index), kept beside the job: those of chunks since
 * recorded done count no frames (the record does), but what they measured still informs the ETA.
 */
export type ChunkProgress = ReadonlyMap<number, ChunkReport>;

/** Frames of the chunks recorded as complete. */
export function framesOfDoneChunks(job: Pick<Job, 'chunks' | 'chunksDone'>): number {
  const done = new Set(job.chunksDone);
  return (job.chunks ?? []).filter((c) => done.has(c.index)).reduce((sum, c) => sum + c.end - c.start, 0);
}

/** The order of a chunk's stages: before any frame is kept, the view shows the furthest its chunks reached. */
const STAGE_ORDER: readonly ChunkStage[] = ['decoding', 'learning-painter', 'painting-first-frame', 'painting'];

/**
 * The job as its readers see it: the frames of chunks still being painted counted in (never
 * beyond the total); while it runs, its `stage` — 'assembling' when stored, else 'learning-painter'
 * while any chunk teaches its learned painter (their training steps summed in `learning`), else
 * 'painting' once a frame is kept, else the furthest stage of its chunks ('decoding',
 * 'painting-first-frame'), or 'starting' before any chunk has a process; and `etaS` once the
 * chunks have measured enough to say (estimateMs).
 */
export function withChunkProgress(job: Job, progress: ChunkProgress): Job {
  if (job.status === 'done') return { ...job };
  const open = [...progress.entries()].filter(([chunk]) => !job.chunksDone.includes(chunk));
  const painting = open.reduce((sum, [, p]) => sum + p.kept, 0);
  const framesDone = Math.min(job.framesTotal, Math.max(job.framesDone, framesOfDoneChunks(job) + painting));
  if (job.status !== 'running') return open.length > 0 ? { ...job, framesDone } : { ...job };
  if (job.stage) return { ...job, framesDone };
  const view: Job = { ...job, framesDone, stage: stageOf(open.map(([, p]) => p), framesDone) };
  const teaching = open.flatMap(([, p]) => (p.stage !== 'painting' && p.learning ? [p.learning] : []));
  if (teaching.length > 0) {
    const sum = (f: (l: LearningProgress) => number): number => teaching.reduce((s, l) => s + f(l), 0);
    view.stage = 'learning-painter';
    view.learning = { step: sum((l) => l.step), steps: sum((l) => l.steps) };
  }
  // Chunks already done still say how long a frame takes here.
  const ms = estimateMs(job, progress);
  if (ms !== undefined) view.etaS = Math.ceil(ms / 1000);
  return view;
}

function stageOf(reports: readonly ChunkReport[], framesDone: number): JobStage {
  if (framesDone > 0 || reports.some((r) => r.kept > 0)) return 'painting';
  if (reports.length === 0) return 'starting';
  return reports.map((r) => r.stage ?? 'painting').reduce((a, b) => (STAGE_ORDER.indexOf(b) > STAGE_ORDER.indexOf(a) ? b : a));
}

/**
 * The time the job's chunks still need, ms, from what its chunks measured (those done included):
 * each chunk's frames left at its own frame time (a chunk not yet painting: the mean of the
 * others', and its cold first frame at the mean first-frame time), its painter's training steps
 * left at their measured time;
 * the sum shared by the chunks painting at once (no fewer than one), and never less than the
 * longest of those. Undefined until a first frame has been timed (before that nothing says how
 * long a frame takes here). Assembling the MP4 is not counted: seconds, against minutes of painting.
 */
export function estimateMs(job: Pick<Job, 'chunks' | 'chunksDone'>, reports: ChunkProgress): number | undefined {
  const all = [...reports.values()];
  const mean = (values: (number | undefined)[]): number | undefined => {
    const known = values.filter((v): v is number => v !== undefined && Number.isFinite(v));
    return known.length > 0 ? known.reduce((a, b) => a + b, 0) / known.length : undefined;
  };
  const first = mean(all.map((r) => r.firstFrameMs));
  if (first === undefined) return undefined;
  // A chunk that has painted only its first frame knows no warm frame yet: the first is an upper bound.
  const frame = mean(all.map((r) => r.frameMs)) ?? first;
  const stepMs = mean(all.map((r) => r.learningStepMs));
  const steps = mean(all.map((r) => r.learning?.steps));
  const left = (chunk: Chunk, report: ChunkReport | undefined): number => {
    const frames = chunk.end - chunk.decodeFrom;
    const painted = report?.painted ?? 0;
    const frameMs = report?.frameMs ?? frame;
    const paint = painted === 0 ? (report?.firstFrameMs ?? first) + (frames - 1) * frameMs : (frames - painted) * frameMs;
    const learning = report ? report.learning : steps !== undefined ? { step: 0, steps } : undefined;
    const teach = learning && stepMs !== undefined && report?.stage !== 'painting' && painted === 0 ? (learning.steps - learning.step) * (report?.learningStepMs ?? stepMs) : 0;
    return Math.max(0, paint) + Math.max(0, teach);
  };
  const remaining = (job.chunks ?? []).filter((c) => !job.chunksDone.includes(c.index));
  if (remaining.length === 0) return 0;
  const active = remaining.filter((c) => reports.has(c.index)).map((c) => left(c, reports.get(c.index)));
  const total = remaining.reduce((sum, c) => sum + left(c, reports.get(c.index)), 0);
  return Math.max(total / Math.max(1, active.length), ...active, 0);
}
