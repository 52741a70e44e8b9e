/**
 * A few chunk processes (each its own tfjs backend; one is chunk-process-slot.ts), started on
 * first use, reused across jobs, one task at a time each. The in-process job backend and a farm
 * worker (`stylize worker`) both paint through one of these. A crashed process fails its task
 * with ChunkProcessCrashedError (the runner retries those) and is replaced on demand.
 *
 * Fair between clients, then jobs: a free process goes to the waiting chunk whose client has the
 * fewest chunks running (then whose job has), so one client's long jobs never hold every process
 * while another's short one waits. A process whose engine broke (a wasm trap) is never reused. Chunk
 * processes run at a lower CPU priority than the server and its stream processes: a video can
 * wait, a live stream cannot.
 */
import type { ChunkTask, ChunkProcessInit } from './chunk-process/chunk-process-protocol.js';
import { killGroup, spawnChunkProcess, type ChunkHandlers, type ChunkProcessSlot } from './chunk-process-slot.js';

export type { ChunkHandlers } from './chunk-process-slot.js';

export interface ChunkProcessPool {
  readonly size: number;
  /** `signal`: stops this one chunk (its process is killed; the run rejects). */
  run(task: ChunkTask, handlers: ChunkHandlers, signal?: AbortSignal): Promise<number>;
  /** Kills the processes running chunks of this job (their tasks reject). */
  abortJob(jobId: string): void;
  /** Process ids of the running chunk processes (for tests and benches). */
  pids(): number[];
  close(): Promise<void>;
}

interface Waiter {
  jobId: string;
  client: string | undefined;
  order: number;
  wake: () => void;
}

interface Pool {
  slots: (ChunkProcessSlot | undefined)[];
  waiting: Waiter[];
  aborted: Set<string>;
  init: Omit<ChunkProcessInit, 'type'>;
  order: number;
  /** When each client (or job, without one) was last given a process: the longest unserved goes first among equals. */
  served: Map<string, number>;
  closed: boolean;
}

export function createChunkProcessPool(count: number, init: Omit<ChunkProcessInit, 'type'>): ChunkProcessPool {
  const pool: Pool = { slots: Array.from({ length: count }, () => undefined), waiting: [], aborted: new Set(), init, order: 0, served: new Map(), closed: false };
  return {
    size: count,
    run: (task, handlers, signal) => run(pool, task, handlers, signal),
    abortJob(jobId) {
      pool.aborted.add(jobId);
      for (const slot of pool.slots) if (slot?.task?.task.jobId === jobId) killGroup(slot.child);
    },
    pids: () => pool.slots.flatMap((s) => (s?.child.pid !== undefined ? [s.child.pid] : [])),
    async close() {
      pool.closed = true;
      await Promise.all(pool.slots.map((slot) => (slot ? stop(slot) : undefined)));
      for (const w of pool.waiting.splice(0)) w.wake();
    },
  };
}

async function run(pool: Pool, task: ChunkTask, handlers: ChunkHandlers, signal?: AbortSignal): Promise<number> {
  signal?.throwIfAborted();
  const slot = await acquire(pool, task.jobId, task.client);
  const canceled = (): boolean => pool.aborted.has(task.jobId) || signal?.aborted === true;
  if (canceled()) return release(pool, slot); // the job was canceled while this chunk waited for a process
  try {
    await slot.ready;
  } catch (error) {
    // A process that could not start is replaced (its exit frees the slot and wakes a waiter).
    slot.busy = false;
    killGroup(slot.child);
    throw error;
  }
  if (canceled()) return release(pool, slot); // canceled while the process started
  handlers.onStart?.(pool.slots.indexOf(slot));
  const stopChunk = (): void => {
    if (slot.task?.task === task) slot.child.kill('SIGKILL');
  };
  signal?.addEventListener('abort', stopChunk, { once: true });
  return new Promise<number>((resolve, reject) => {
    slot.task = { task, resolve, reject, handlers };
    slot.child.send(task);
  }).finally(() => signal?.removeEventListener('abort', stopChunk));
}

/** Gives an unused slot back and refuses the chunk. */
function release(pool: Pool, slot: ChunkProcessSlot): never {
  slot.busy = false;
  wake(pool);
  throw new Error('job canceled');
}

function runningFor(pool: Pool, jobId: string): number {
  return pool.slots.filter((s) => s?.task?.task.jobId === jobId).length;
}

/** Chunks running for a client (a chunk without one counts as its job's own client). */
function runningForClient(pool: Pool, waiter: Waiter): number {
  if (waiter.client === undefined) return runningFor(pool, waiter.jobId);
  return pool.slots.filter((s) => s?.task?.task.client === waiter.client).length;
}

const clientKey = (waiter: Pick<Waiter, 'client' | 'jobId'>): string => waiter.client ?? `job:${waiter.jobId}`;

/**
 * Orders two waiters: fewer chunks running for the client, then the client served longest ago
 * (round-robin), then fewer running for the job, then the earlier.
 */
function before(pool: Pool, a: Waiter, b: Waiter): boolean {
  const [ca, cb] = [runningForClient(pool, a), runningForClient(pool, b)];
  if (ca !== cb) return ca < cb;
  const [sa, sb] = [pool.served.get(clientKey(a)) ?? -1, pool.served.get(clientKey(b)) ?? -1];
  if (sa !== sb) return sa < sb;
  const [ra, rb] = [runningFor(pool, a.jobId), runningFor(pool, b.jobId)];
  return ra !== rb ? ra < rb : a.order < b.order;
}

/** The waiter whose client, then job, has the fewest chunks running (the earliest among equals) goes next. */
function wake(pool: Pool): void {
  const { waiting } = pool;
  if (waiting.length === 0) return;
  let best = 0;
  for (let i = 1; i < waiting.length; i++) if (before(pool, waiting[i]!, waiting[best]!)) best = i;
  waiting.splice(best, 1)[0]!.wake();
}

async function acquire(pool: Pool, jobId: string, client: string | undefined): Promise<ChunkProcessSlot> {
  const myOrder = pool.order++;
  let chosen = false;
  for (;;) {
    if (pool.closed) throw new Error('worker pool closed');
    // A free process goes straight to a chunk only when nobody else waits (or wake() chose it).
    const free = chosen || pool.waiting.length === 0 ? pool.slots.findIndex((s) => s === undefined || !s.busy) : -1;
    if (free !== -1) {
      const slot = pool.slots[free] ?? (pool.slots[free] = spawn(pool, free));
      slot.busy = true;
      pool.served.delete(clientKey({ client, jobId }));
      pool.served.set(clientKey({ client, jobId }), pool.order++); // kept in order: the oldest first
      if (pool.served.size > 1024) pool.served.delete(pool.served.keys().next().value!); // forgotten: counts as never served
      return slot;
    }
    await new Promise<void>((resolve) => pool.waiting.push({ jobId, client, order: myOrder, wake: resolve }));
    chosen = true;
  }
}

function spawn(pool: Pool, index: number): ChunkProcessSlot {
  return spawnChunkProcess(pool.init, {
    onFree: () => wake(pool),
    onExit() {
      pool.slots[index] = undefined;
      wake(pool);
    },
  });
}

function stop(slot: ChunkProcessSlot): Promise<void> {
  return new Promise<void>((resolve) => {
    slot.child.once('exit', () => resolve());
    slot.child.kill('SIGTERM');
    // A process in the middle of a tfjs step may not get to its handlers: make sure.
    setTimeout(() => killGroup(slot.child), 2000).unref();
  });
}
