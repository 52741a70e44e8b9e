/**
 * The farm when Redis is away or full (issue 20, item 9), with a real redis-server and real
 * `stylize serve` / `stylize worker` processes: routes that need Redis answer 503 with
 * Retry-After at once (never a 500 after seconds), /metrics never waits for Redis, the watchdog
 * says at warn that it cannot work, a worker with a dead REDIS_URL exits with a clear error, and a
 * Redis at maxmemory (noeviction) refuses new jobs cleanly and is used again, without a restart,
 * once it has room.
 */
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { descendants, isAlive } from '../helpers/attacks/process-tree.js';
import { startGateway, startWorker, waitForWorkers, type FarmProcess, type TestGateway } from '../helpers/farm.js';
import { makeClip } from '../helpers/media.js';
import { tempDir } from '../helpers/paths.js';
import { freePort, startRedis, type TestRedis } from '../helpers/redis.js';
import type { JobView } from '../helpers/job-view.js';

let dir: string;
let cleanup: () => Promise<void>;
let clip: string;
let started: { redis: TestRedis[]; processes: FarmProcess[]; clients: Redis[] } = { redis: [], processes: [], clients: [] };
let dirs = 0;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('stylize-farm-trouble-'));
  // 2 s at 10 fps: one chunk of 20 frames.
  clip = await makeClip(path.join(dir, 'clip.mp4'), ['-f', 'lavfi', '-i', 'testsrc=size=64x36:rate=10', '-t', '2', '-c:v', 'libx264', '-pix_fmt', 'yuv420p']);
});
afterEach(async () => {
  const children = started.processes.flatMap((p) => (p.child.pid ? descendants(p.child.pid) : []));
  await Promise.all(started.processes.map((p) => p.kill()));
  for (const client of started.clients) client.disconnect();
  await Promise.all(started.redis.map((r) => r.stop()));
  started = { redis: [], processes: [], clients: [] };
  for (let i = 0; i < 100 && children.some(isAlive); i++) await new Promise((r) => setTimeout(r, 100));
  for (const pid of children.filter(isAlive)) process.kill(pid, 'SIGKILL');
});
afterAll(async () => {
  await cleanup();
});

const dataDir = (name: string): string => path.join(dir, `${name}-${dirs++}`);

async function redis(): Promise<TestRedis> {
  const r = await startRedis();
  started.redis.push(r);
  return r;
}

function admin(r: TestRedis): Redis {
  const client = new Redis(r.url, { maxRetriesPerRequest: 1 });
  started.clients.push(client);
  return client;
}

async function gateway(redisUrl: string): Promise<TestGateway> {
  const g = await startGateway(redisUrl, { dataDir: dataDir('gateway') });
  started.processes.push(g);
  return g;
}

interface Answer {
  status: number;
  ms: number;
  retryAfter: string | null;
  body: { error?: { code?: string; message?: string } } & Record<string, unknown>;
}

/** One request, timed; no answer within `timeoutMs` is status 0. */
async function ask(url: string, init: RequestInit = {}, timeoutMs = 10_000): Promise<Answer> {
  const t0 = performance.now();
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    let body: Answer['body'] = {};
    try {
      body = JSON.parse(text) as Answer['body'];
    } catch {
      body = { text };
    }
    return { status: res.status, ms: performance.now() - t0, retryAfter: res.headers.get('retry-after'), body };
  } catch {
    return { status: 0, ms: performance.now() - t0, retryAfter: null, body: {} };
  }
}

async function jobForm(fields: Record<string, string> = {}): Promise<FormData> {
  const form = new FormData();
  form.append('video', new Blob([new Uint8Array(await readFile(clip))]), 'clip.mp4');
  for (const [k, v] of Object.entries({ size: '32', stepsPerFrame: '0', firstFrameSteps: '0', ...fields })) form.append(k, v);
  return form;
}

async function waitEnded(baseUrl: string, id: string, ms = 240_000): Promise<JobView> {
  const until = Date.now() + ms;
  let last: JobView | undefined;
  for (;;) {
    const res = await fetch(`${baseUrl}/api/jobs/${id}`).catch(() => undefined);
    if (res?.ok) last = (await res.json()) as JobView;
    else await res?.body?.cancel();
    if (last && ['done', 'failed', 'canceled'].includes(last.status)) return last;
    if (Date.now() > until) throw new Error(`job ${id} did not end: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('Redis away', () => {
  it('job and room routes answer 503 with Retry-After within a second, /metrics answers, the watchdog warns', async () => {
    const r = await redis();
    const g = await gateway(r.url);
    await r.kill();
    await new Promise((resolve) => setTimeout(resolve, 300));

    const room = await ask(`${g.url}/api/rooms`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(room.status, JSON.stringify(room.body)).toBe(503);
    expect(room.body.error?.code).toBe('REDIS_UNAVAILABLE');
    expect(Number(room.retryAfter)).toBeGreaterThan(0);
    expect(room.ms).toBeLessThan(1500);

    const job = await ask(`${g.url}/api/jobs/0123456789abcdef`);
    expect(job.status, JSON.stringify(job.body)).toBe(503);
    expect(job.body.error?.code).toBe('REDIS_UNAVAILABLE');
    expect(Number(job.retryAfter)).toBeGreaterThan(0);
    expect(job.ms).toBeLessThan(1500);

    const submit = await ask(`${g.url}/api/jobs`, { method: 'POST', body: await jobForm() });
    expect(submit.status, JSON.stringify(submit.body)).toBe(503);
    expect(Number(submit.retryAfter)).toBeGreaterThan(0);
    expect(submit.ms).toBeLessThan(3000);

    const metrics = await ask(`${g.url}/metrics`, {}, 5000);
    expect(metrics.status).toBe(200);
    expect(metrics.ms).toBeLessThan(2000);
    expect((await ask(`${g.url}/healthz`)).status).toBe(503);

    // The watchdog's failed rounds are a warning (rate-limited), not a debug line.
    for (let i = 0; i < 150 && !/"level":40[^\n]*watchdog/.test(g.log()); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(g.log()).toMatch(/"level":40[^\n]*watchdog/);

    // Back: the same gateway answers again.
    await r.restart();
    let back: Answer | undefined;
    for (let i = 0; i < 100; i++) {
      back = await ask(`${g.url}/api/rooms`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      if (back.status === 201) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(back?.status).toBe(201);
  });

  it('`stylize worker` with a dead REDIS_URL exits non-zero with a clear message', async () => {
    const w = startWorker(`redis://127.0.0.1:${await freePort()}`, { dataDir: dataDir('worker') });
    started.processes.push(w);
    const t0 = Date.now();
    const code = await Promise.race([
      new Promise<number | null>((resolve) => w.child.once('exit', (c) => resolve(c))),
      new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 30_000)),
    ]);
    expect(code, w.log()).not.toBe('hung');
    expect(code).not.toBe(0);
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(w.log()).toMatch(/cannot reach Redis/);
  });
});

describe('Redis full (maxmemory, noeviction)', () => {
  it('a new job is refused with 503 "Redis is full", /healthz says so, and once Redis has room a new job completes on the same gateway', async () => {
    const r = await redis();
    const w = startWorker(r.url, { dataDir: dataDir('worker') });
    started.processes.push(w);
    const g = await gateway(r.url);
    await waitForWorkers(g, 1);
    const control = admin(r);
    await control.config('SET', 'maxmemory-policy', 'noeviction');
    await control.config('SET', 'maxmemory', '1');

    const submit = await ask(`${g.url}/api/jobs`, { method: 'POST', body: await jobForm() });
    expect(submit.status, JSON.stringify(submit.body)).toBe(503);
    expect(submit.body.error?.code).toBe('REDIS_FULL');
    expect(submit.body.error?.message).toMatch(/Redis is full/);
    expect(Number(submit.retryAfter)).toBeGreaterThan(0);
    const health = await ask(`${g.url}/healthz`);
    expect(health.status).toBe(503);
    expect(JSON.stringify(health.body)).toMatch(/full/i);
    // Nothing of the refused job stays behind, neither queued nor half made.
    expect(await control.hlen('stylize:jobs:active')).toBe(0);
    // Full for a while (the watchdog and the worker run into it meanwhile).
    await new Promise((resolve) => setTimeout(resolve, 6000));

    await control.config('SET', 'maxmemory', '0');
    for (let i = 0; i < 100 && (await ask(`${g.url}/healthz`)).status !== 200; i++) await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await ask(`${g.url}/healthz`)).status).toBe(200);
    const again = await ask(`${g.url}/api/jobs`, { method: 'POST', body: await jobForm() });
    expect(again.status, JSON.stringify(again.body)).toBe(202);
    const done = await waitEnded(g.url, (again.body as unknown as JobView).id);
    expect(done.status, done.error).toBe('done');
  });
});
