/**
 * Which `stylize worker` processes are alive: each writes a heartbeat into one Redis hash every
 * few seconds; an entry not refreshed for three beats is a worker that is gone (killed, or its
 * machine). Gateways read it to balance chunk counts, for /healthz and for /metrics.
 */
import { KEYS, type Redis } from '../../farm/redis.js';

export const HEARTBEAT_MS = 5000;

export interface WorkerInfo {
  id: string;
  host: string;
  pid: number;
  /** Chunks it paints at once. */
  concurrency: number;
  threads: number;
  seenAt: number;
}

export async function onlineWorkers(redis: Redis, now = Date.now()): Promise<WorkerInfo[]> {
  const entries = await redis.hgetall(KEYS.workers);
  const alive: WorkerInfo[] = [];
  const gone: string[] = [];
  for (const [id, text] of Object.entries(entries)) {
    try {
      const info = JSON.parse(text) as WorkerInfo;
      if (now - info.seenAt <= 3 * HEARTBEAT_MS) alive.push(info);
      else gone.push(id);
    } catch {
      gone.push(id);
    }
  }
  if (gone.length > 0) await redis.hdel(KEYS.workers, ...gone);
  return alive;
}

/** Beats until the returned stop() (which also takes the entry out). */
export function registerWorker(redis: Redis, info: Omit<WorkerInfo, 'seenAt'>): () => Promise<void> {
  const beat = (): Promise<unknown> => redis.hset(KEYS.workers, info.id, JSON.stringify({ ...info, seenAt: Date.now() } satisfies WorkerInfo)).catch(() => undefined);
  void beat();
  const timer = setInterval(() => void beat(), HEARTBEAT_MS);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await redis.hdel(KEYS.workers, info.id).catch(() => undefined);
  };
}
