/**
 * A few chunk worker processes (each its own tfjs backend), started on first use, reused across
 * jobs, one task at a time each. A crashed worker fails its task and is replaced on demand.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../../paths.js';
import type { ChunkTask, FromWorker, WorkerInit } from './worker-protocol.js';

/** Compiled entry (npm install builds it; tests build it in their global setup). */
export const WORKER_ENTRY = path.join(PROJECT_ROOT, 'dist', 'server', 'video', 'jobs', 'chunk-worker.js');

interface Slot {
  child: ChildProcess;
  ready: Promise<void>;
  busy: boolean;
  task?: { task: ChunkTask; resolve: (frames: number) => void; reject: (e: Error) => void; onProgress: (kept: number) => void };
}

export interface WorkerPool {
  readonly size: number;
  run(task: ChunkTask, onProgress: (framesKept: number) => void): Promise<number>;
  /** Kills the workers running chunks of this job (their tasks reject). */
  abortJob(jobId: string): void;
  close(): Promise<void>;
}

export function createWorkerPool(count: number, init: Omit<WorkerInit, 'type'>): WorkerPool {
  const slots: (Slot | undefined)[] = Array.from({ length: count }, () => undefined);
  const waiting: (() => void)[] = [];
  const aborted = new Set<string>();
  let closed = false;

  function spawn(i: number): Slot {
    const child = fork(WORKER_ENTRY, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
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
    child.on('message', (message: FromWorker) => {
      if (message.type === 'ready') return onReady();
      const current = slot.task;
      if (message.type === 'error' && message.chunk === undefined) return onFail(new Error(message.message));
      if (!current) return;
      if (message.type === 'progress') current.onProgress(message.framesKept);
      else if (message.type === 'done') finish(slot, () => current.resolve(message.frames));
      else if (message.type === 'error') finish(slot, () => current.reject(new Error(message.message)));
    });
    child.on('exit', (code, signal) => {
      slots[i] = undefined;
      const reason = new Error(`chunk worker exited (${signal ?? code})`);
      onFail(reason);
      if (slot.task) {
        const t = slot.task;
        slot.task = undefined;
        t.reject(reason);
      }
      wake();
    });
    child.send({ type: 'init', ...init } satisfies WorkerInit);
    return slot;
  }

  function finish(slot: Slot, settle: () => void): void {
    slot.task = undefined;
    slot.busy = false;
    settle();
    wake();
  }

  function wake(): void {
    waiting.shift()?.();
  }

  async function acquire(): Promise<Slot> {
    for (;;) {
      if (closed) throw new Error('worker pool closed');
      const free = slots.findIndex((s) => s === undefined || !s.busy);
      if (free !== -1) {
        const slot = slots[free] ?? (slots[free] = spawn(free));
        slot.busy = true;
        return slot;
      }
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
  }

  return {
    size: count,
    async run(task, onProgress) {
      const slot = await acquire();
      if (aborted.has(task.jobId)) {
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
        slot.child.kill('SIGKILL');
        throw error;
      }
      if (aborted.has(task.jobId)) {
        // Canceled while the worker started.
        slot.busy = false;
        wake();
        throw new Error('job canceled');
      }
      return new Promise<number>((resolve, reject) => {
        slot.task = { task, resolve, reject, onProgress };
        slot.child.send(task);
      });
    },
    abortJob(jobId) {
      aborted.add(jobId);
      for (const slot of slots) if (slot?.task?.task.jobId === jobId) slot.child.kill('SIGKILL');
    },
    async close() {
      closed = true;
      await Promise.all(
        slots.map((slot) =>
          slot
            ? new Promise<void>((resolve) => {
                slot.child.once('exit', () => resolve());
                slot.child.kill('SIGTERM');
              })
            : undefined,
        ),
      );
      for (const w of waiting.splice(0)) w();
    },
  };
}
