/**
 * A few chunk worker processes (each its own tfjs backend), started on first use, reused across
 * jobs, one task at a time each. The in-process job backend and a farm worker (`stylize worker`)
 * both paint through one of these. A crashed worker fails its task with ChunkProcessCrashedError (the
 * runner retries those) and is replaced on demand.
 *
 * Fair between jobs: a free worker goes to the waiting chunk whose job has the fewest chunks
 * running, so one user's long job never holds every worker while a short one waits. Workers run
 * at a lower CPU priority than the server and its live painters: a video can wait, a live stream
 * cannot.
 */
import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../paths.js';
import { ChunkFailedError, ChunkProcessCrashedError } from './job-queue.js';
import type { ChunkTask, FromChunkProcess, ChunkProcessInit } from './chunk-process/chunk-process-protocol.js';

/** Compiled entry (npm install builds it; tests build it in their global setup). */
export const CHUNK_PROCESS_ENTRY = path.join(PROJECT_ROOT, 'dist', 'server', 'jobs', 'chunk-process', 'chunk-process-main.js');
/** Unix niceness of worker processes (0 is the server's; higher yields the CPU to it). */
const WORKER_NICENESS = 5;

interface Slot {
  child: ChildProcess;
  ready: Promise<void>;
  busy: boolean;
  task?: { task: ChunkTask; resolve: (frames: number) => void; reject: (e: Error) => void; handlers: ChunkHandlers };
}

export interface ChunkHandlers {
  onProgress(framesKept: number): void;
  /** The chunk's learned painter is being taught (step of steps), before its frames. */
  onLearning?(step: number, steps: number): void;
  /** The latest painted frame (JPEG), about once a second. */
  onPreview?(jpeg: Uint8Array): void;
  /** The chunk has a worker (`slot`: which one) and starts now. */
  onStart?(slot: number): void;
}

export interface ChunkProcessPool {
  readonly size: number;
  /** `signal`: stops this one chunk (its worker process is killed; the run rejects). */
  run(task: ChunkTask, handlers: ChunkHandlers, signal?: AbortSignal): Promise<number>;
  /** Kills the workers running chunks of this job (their tasks reject). */
  abortJob(jobId: string): void;
  /** Process ids of the running workers (for tests and benches). */
  pids(): number[];
  close(): Promise<void>;
}

interface Waiter {
  jobId: string;
  order: number;
  wake: () => void;
}

export function createChunkProcessPool(count: number, init: Omit<ChunkProcessInit, 'type'>): ChunkProcessPool {
  const slots: (Slot | undefined)[] = Array.from({ length: count }, () => undefined);
  const waiting: Waiter[] = [];
  const aborted = new Set<string>();
  let order = 0;
  let closed = false;

  function spawn(i: number): Slot {
    // Its own process group, so that a worker stuck in a step is killed with its ffmpeg children.
    const child = fork(CHUNK_PROCESS_ENTRY, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced', detached: true });
    try {
      if (child.pid !== undefined) os.setPriority(child.pid, WORKER_NICENESS);
    } catch {
      // Not permitted here (some containers): workers then share the CPU equally.
    }
    let onReady: () => void = () => undefined;
    let onFail: (e: Error) => void = () => undefined;
    const slot: Slot = {
      child,
      busy: false,
      ready: new Promise<void>((resolve, reject) => {
        onReady = resolve;
        onFail = reject;
      }),
    };
    slot.ready.catch(() => undefined);
    child.on('message', (message: FromChunkProcess) => {
      if (message.type === 'ready') return onReady();
      const current = slot.task;
      if (message.type === 'error' && message.chunk === undefined) return onFail(new Error(message.message));
      if (!current) return;
      if (message.type === 'progress') current.handlers.onProgress(message.framesKept);
      else if (message.type === 'learning') current.handlers.onLearning?.(message.step, message.steps);
      else if (message.type === 'preview') current.handlers.onPreview?.(message.jpeg);
      else if (message.type === 'done') finish(slot, () => current.resolve(message.frames));
      else if (message.type === 'error') finish(slot, () => current.reject(new ChunkFailedError(message.message, message.detail)));
    });
    child.on('exit', (code, signal) => {
      slots[i] = undefined;
      const reason = new ChunkProcessCrashedError(signal ?? String(code));
      onFail(reason);
      if (slot.task) {
        const t = slot.task;
        slot.task = undefined;
        t.reject(reason);
      }
      wake();
    });
    child.send({ type: 'init', ...init } satisfies ChunkProcessInit);
    return slot;
  }

  function finish(slot: Slot, settle: () => void): void {
    slot.task = undefined;
    slot.busy = false;
    settle();
    wake();
  }

  function runningFor(jobId: string): number {
    return slots.filter((s) => s?.task?.task.jobId === jobId).length;
  }

  /** The waiter whose job has the fewest chunks running (the earliest among equals) goes next. */
  function wake(): void {
    if (waiting.length === 0) return;
    let best = 0;
    for (let i = 1; i < waiting.length; i++) {
      const a = waiting[i]!;
      const b = waiting[best]!;
      const [ra, rb] = [runningFor(a.jobId), runningFor(b.jobId)];
      if (ra < rb || (ra === rb && a.order < b.order)) best = i;
    }
    waiting.splice(best, 1)[0]!.wake();
  }

  async function acquire(jobId: string): Promise<Slot> {
    const myOrder = order++;
    let chosen = false;
    for (;;) {
      if (closed) throw new Error('worker pool closed');
      // A free worker goes straight to a chunk only when nobody else waits (or wake() chose it).
      const free = chosen || waiting.length === 0 ? slots.findIndex((s) => s === undefined || !s.busy) : -1;
      if (free !== -1) {
        const slot = slots[free] ?? (slots[free] = spawn(free));
        slot.busy = true;
        return slot;
      }
      await new Promise<void>((resolve) => waiting.push({ jobId, order: myOrder, wake: resolve }));
      chosen = true;
    }
  }

  return {
    size: count,
    async run(task, handlers, signal) {
      signal?.throwIfAborted();
      const slot = await acquire(task.jobId);
      if (aborted.has(task.jobId) || signal?.aborted) {
        // The job was canceled while this chunk waited for a worker.
        slot.busy = false;
        wake();
        throw new Error('job canceled');
      }
      try {
        await slot.ready;
      } catch (error) {
        // A worker that could not start is replaced (its exit frees the slot and wakes a waiter).
        slot.busy = false;
        killGroup(slot.child);
        throw error;
      }
      if (aborted.has(task.jobId) || signal?.aborted) {
        // Canceled while the worker started.
        slot.busy = false;
        wake();
        throw new Error('job canceled');
      }
      handlers.onStart?.(slots.indexOf(slot));
      const stop = (): void => {
        if (slot.task?.task === task) slot.child.kill('SIGKILL');
      };
      signal?.addEventListener('abort', stop, { once: true });
      return new Promise<number>((resolve, reject) => {
        slot.task = { task, resolve, reject, handlers };
        slot.child.send(task);
      }).finally(() => signal?.removeEventListener('abort', stop));
    },
    abortJob(jobId) {
      aborted.add(jobId);
      for (const slot of slots) if (slot?.task?.task.jobId === jobId) killGroup(slot.child);
    },
    pids: () => slots.flatMap((s) => (s?.child.pid !== undefined ? [s.child.pid] : [])),
    async close() {
      closed = true;
      await Promise.all(
        slots.map((slot) =>
          slot
            ? new Promise<void>((resolve) => {
                slot.child.once('exit', () => resolve());
                slot.child.kill('SIGTERM');
                // A worker in the middle of a tfjs step may not get to its handlers: make sure.
                setTimeout(() => killGroup(slot.child), 2000).unref();
              })
            : undefined,
        ),
      );
      for (const w of waiting.splice(0)) w.wake();
    },
  };
}

/** SIGKILL for a worker and everything it started (its ffmpeg children share its group). */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}
