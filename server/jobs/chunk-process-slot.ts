/**
 * One chunk process of the pool (chunk-process-pool.ts): forked from the compiled entry in its own
 * process group at a lower CPU priority, initialised once, then given one chunk task at a time;
 * its messages are passed to the task's handlers, and its exit fails the task it had
 * (ChunkProcessCrashedError).
 */
import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../paths.js';
import { ChunkFailedError, ChunkProcessCrashedError } from './job-queue.js';
import type { ChunkProcessInit, ChunkTask, FromChunkProcess } from './chunk-process/chunk-process-protocol.js';
import type { ChunkReport } from './job-progress.js';

/** Compiled entry (npm install builds it; tests build it in their global setup). */
export const CHUNK_PROCESS_ENTRY = path.join(PROJECT_ROOT, 'dist', 'server', 'jobs', 'chunk-process', 'chunk-process-main.js');
/** Unix niceness of chunk processes (0 is the server's; higher yields the CPU to it). */
const CHUNK_PROCESS_NICENESS = 5;

export interface ChunkHandlers {
  /** What the chunk is doing (stage, frames painted and kept, measured times), as it goes. */
  onProgress(report: ChunkReport): void;
  /** The latest painted frame (JPEG), about once a second. */
  onPreview?(jpeg: Uint8Array): void;
  /** The chunk has a process (`slot`: which one) and starts now. */
  onStart?(slot: number): void;
}

export interface ChunkProcessSlot {
  child: ChildProcess;
  /** Resolves once the process has loaded its engine; rejects if it could not. */
  ready: Promise<void>;
  busy: boolean;
  /** Its engine broke (a wasm trap): it is being killed and gets no more chunks. */
  poisoned?: boolean;
  task?: { task: ChunkTask; resolve: (frames: number) => void; reject: (e: Error) => void; handlers: ChunkHandlers };
}

export interface SlotEvents {
  /** The slot finished its task and is free. */
  onFree(): void;
  /** The process is gone (its task, if any, has been failed). */
  onExit(): void;
}

export function spawnChunkProcess(init: Omit<ChunkProcessInit, 'type'>, events: SlotEvents): ChunkProcessSlot {
  // Its own process group, so that a process stuck in a step is killed with its ffmpeg children.
  const child = fork(CHUNK_PROCESS_ENTRY, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced', detached: true });
  try {
    if (child.pid !== undefined) os.setPriority(child.pid, CHUNK_PROCESS_NICENESS);
  } catch {
    // Not permitted here (some containers): chunk processes then share the CPU equally.
  }
  let onReady: () => void = () => undefined;
  let onFail: (e: Error) => void = () => undefined;
  const slot: ChunkProcessSlot = {
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
    if (message.type === 'error' && message.chunk === undefined) return onFail(new Error(message.message));
    route(slot, message, events);
  });
  child.on('exit', (code, signal) => {
    const reason = new ChunkProcessCrashedError(signal ?? String(code));
    onFail(reason);
    const current = slot.task;
    slot.task = undefined;
    current?.reject(reason);
    events.onExit();
  });
  child.send({ type: 'init', ...init } satisfies ChunkProcessInit);
  return slot;
}

/** A message about the slot's task, to its handlers (or its end, to its promise). */
function route(slot: ChunkProcessSlot, message: FromChunkProcess, events: SlotEvents): void {
  const current = slot.task;
  if (!current) return;
  const finish = (settle: () => void): void => {
    slot.task = undefined;
    slot.busy = false;
    settle();
    events.onFree();
  };
  if (message.type === 'progress') current.handlers.onProgress(message.report);
  else if (message.type === 'preview') current.handlers.onPreview?.(message.jpeg);
  else if (message.type === 'done') finish(() => current.resolve(message.frames));
  else if (message.type === 'error' && message.poisoned) retire(slot, current, message.message);
  else if (message.type === 'error') finish(() => current.reject(new ChunkFailedError(message.message, message.detail)));
}

/**
 * The process's engine broke (a wasm trap): it is never given another chunk. It stays busy (no
 * waiter gets it), is killed with its ffmpeg children, and its exit frees the slot for a fresh
 * process; the chunk fails as a crashed one does (retried elsewhere).
 */
function retire(slot: ChunkProcessSlot, current: NonNullable<ChunkProcessSlot['task']>, message: string): void {
  slot.task = undefined;
  slot.poisoned = true;
  current.reject(new ChunkProcessCrashedError(`its engine failed: ${message.slice(0, 200)}`));
  killGroup(slot.child);
}

/** SIGKILL for a chunk process and everything it started (its ffmpeg children share its group). */
export function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}
