/**
 * On the farm, one client's jobs do not hold the chunk queue (issue 20, item 4): chunks are queued
 * with BullMQ priorities after the chunks their client already has waiting, so a second client's
 * chunks take turns with the first's instead of waiting behind all of them. Real redis-server, a
 * real gateway (`stylize serve` with REDIS_URL), BullMQ's own queue read back in the order a
 * worker would take it; no worker runs, so nothing moves while it is read.
 */
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunkPriority, type ChunkJobData } from '../../server/jobs/farm/chunk-job.js';
import { chunksAhead } from '../../server/jobs/farm/job-flows.js';
import { KEYS } from '../../server/farm/redis.js';
import type { Job } from '../../server/jobs/job-store.js';
import { startGateway, type TestGateway } from '../helpers/farm.js';
import { makeClip } from '../helpers/media.js';
import { tempDir } from '../helpers/paths.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

let dir: string;
let cleanup: () => Promise<void>;
let redis: TestRedis;
let gateway: TestGateway;
let clip: string;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('stylize-farm-fair-'));
  // 6 s at 10 fps: 3 chunks of 20 frames.
  clip = await makeClip(path.join(dir, 'clip.mp4'), ['-f', 'lavfi', '-i', 'testsrc=size=96x54:rate=10', '-t', '6', '-c:v', 'libx264', '-pix_fmt', 'yuv420p']);
  redis = await startRedis();
  gateway = await startGateway(redis.url, { dataDir: path.join(dir, 'gateway'), args: ['--trust-proxy', 'loopback'] });
});
afterAll(async () => {
  await gateway?.kill();
  await redis?.stop();
  await cleanup();
});

async function submit(client: string): Promise<string> {
  const form = new FormData();
  form.append('video', new Blob([new Uint8Array(await readFile(clip))]), 'clip.mp4');
  for (const [k, v] of Object.entries({ size: '32', stepsPerFrame: '1', firstFrameSteps: '2' })) form.append(k, v);
  const res = await fetch(`${gateway.url}/api/jobs`, { method: 'POST', body: form, headers: { 'X-Forwarded-For': client } });
  expect(res.status, await res.clone().text()).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

describe('the farm queue between clients', () => {
  it('queues a second client\'s chunks beside the first client\'s, not after all of them', async () => {
    const a1 = await submit('203.0.113.1');
    const a2 = await submit('203.0.113.1');
    const b = await submit('203.0.113.2');
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue<ChunkJobData>(KEYS.chunkQueue, { connection });
    try {
      let waiting: { data: ChunkJobData; opts: { priority?: number }; timestamp: number }[] = [];
      for (let i = 0; i < 100 && waiting.length < 9; i += 1) {
        waiting = (await queue.getJobs(['prioritized', 'waiting'])) as typeof waiting;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(waiting).toHaveLength(9);
      // The order a worker takes them: priority, then first come.
      const order = [...waiting].sort((x, y) => (x.opts.priority ?? 0) - (y.opts.priority ?? 0) || x.timestamp - y.timestamp).map((j) => j.data.jobId);
      const firstOfB = order.indexOf(b);
      const firstOfA2 = order.indexOf(a2);
      // B's first chunk goes right after (or beside) A's first, well before A's second job.
      expect(firstOfB).toBeLessThan(firstOfA2);
      expect(order.slice(0, 2)).toEqual([a1, b]);
      expect(waiting.every((j) => j.data.client !== undefined)).toBe(true);
    } finally {
      await queue.close();
      connection.disconnect();
    }
  });

  it('counts a client\'s waiting chunks in its other unfinished jobs only', async () => {
    const job = (id: string, client: string | undefined, chunks: number, done: number[], status: Job['status'] = 'running'): Job =>
      ({ id, client, status, chunks: Array.from({ length: chunks }, (_, index) => ({ index, start: index * 10, end: index * 10 + 10 })), chunksDone: done }) as unknown as Job;
    const all = [job('a1', 'A', 3, [0]), job('a2', 'A', 4, []), job('a3', 'A', 5, [], 'done'), job('b1', 'B', 2, [])];
    const repo = { all: async () => all };
    expect(await chunksAhead(repo, job('new', 'A', 3, []))).toBe(2 + 4);
    expect(await chunksAhead(repo, job('new', 'C', 3, []))).toBe(0);
    expect(await chunksAhead(repo, job('new', undefined, 3, []))).toBe(0);
    expect([chunkPriority(0, 0), chunkPriority(6, 2), chunkPriority(1e9, 0)]).toEqual([1, 9, 2 ** 21]);
  });
});
