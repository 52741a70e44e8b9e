/**
 * Video jobs on a worker farm of real processes: a real redis-server, `stylize serve` gateways
 * and `stylize worker`s with data directories of their own (they share no disk), real ffmpeg.
 * What must hold: the same result as the in-process runner; a worker killed mid-chunk, the
 * gateway killed mid-job, Redis restarted mid-job — the job still ends (and never hangs); cancel
 * stops a chunk being painted in a worker process.
 */
import path from 'node:path';
import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { descendants, isAlive } from '../helpers/attacks/process-tree.js';
import { startGateway, startWorker, waitForWorkers, type FarmProcess, type TestGateway } from '../helpers/farm.js';
import { makeClip, probe } from '../helpers/media.js';
import { BBB_MP4, tempDir } from '../helpers/paths.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import type { JobView } from '../helpers/job-view.js';

let dir: string;
let cleanup: () => Promise<void>;
let clip: string;
let started: { redis: TestRedis[]; processes: FarmProcess[]; servers: TestServer[] } = { redis: [], processes: [], servers: [] };
let dirs = 0;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('stylize-farm-jobs-'));
  // 6 s at 10 fps with a mono tone: 3 chunks of 20 frames.
  clip = await makeClip(path.join(dir, 'clip.mp4'), ['-f', 'lavfi', '-i', 'testsrc=size=96x54:rate=10', '-f', 'lavfi', '-i', 'sine', '-t', '6', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-ac', '1']);
});
// Everything a test started is stopped, also when it failed half-way: processes (and the chunk
// processes under them, which must end with their worker), servers, redis-servers.
afterEach(async () => {
  const children = started.processes.flatMap((p) => (p.child.pid ? descendants(p.child.pid) : []));
  await Promise.all(started.processes.map((p) => p.kill()));
  await Promise.all(started.servers.map((s) => s.close()));
  await Promise.all(started.redis.map((r) => r.stop()));
  started = { redis: [], processes: [], servers: [] };
  await gone(children);
  for (const pid of children.filter(isAlive)) process.kill(pid, 'SIGKILL');
});
afterAll(async () => {
  await cleanup();
});

/** Waits (up to 20 s) until none of `pids` is alive. */
async function gone(pids: number[]): Promise<void> {
  for (let i = 0; i < 200 && pids.some(isAlive); i++) await new Promise((r) => setTimeout(r, 100));
}

const dataDir = (name: string): string => path.join(dir, `${name}-${dirs++}`);

async function redis(options: { persistence?: boolean } = {}): Promise<TestRedis> {
  const r = await startRedis(options);
  started.redis.push(r);
  return r;
}

async function gateway(redisUrl: string, options: { dataDir?: string; port?: number } = {}): Promise<TestGateway> {
  const g = await startGateway(redisUrl, { dataDir: options.dataDir ?? dataDir('gateway'), ...(options.port ? { port: options.port } : {}) });
  started.processes.push(g);
  return g;
}

function worker(redisUrl: string, args: string[] = []): ReturnType<typeof startWorker> {
  const w = startWorker(redisUrl, { dataDir: dataDir('worker'), args });
  started.processes.push(w);
  return w;
}

async function submit(baseUrl: string, file: string, fields: Record<string, string> = {}): Promise<JobView> {
  const form = new FormData();
  form.append('video', new Blob([new Uint8Array(await readFile(file))]), path.basename(file));
  for (const [k, v] of Object.entries({ size: '32', stepsPerFrame: '1', firstFrameSteps: '2', ...fields })) form.append(k, v);
  const res = await fetch(`${baseUrl}/api/jobs`, { method: 'POST', body: form });
  expect(res.status, await res.clone().text()).toBe(202);
  return (await res.json()) as JobView;
}

/** Polls until `done(job)`; a gateway that does not answer (restarting, Redis away) is asked again. */
async function waitFor(baseUrl: string, id: string, done: (job: JobView) => boolean, ms = 240_000): Promise<JobView> {
  const until = Date.now() + ms;
  let last: JobView | undefined;
  for (;;) {
    const res = await fetch(`${baseUrl}/api/jobs/${id}`).catch(() => undefined);
    if (res?.ok) last = (await res.json()) as JobView;
    else await res?.body?.cancel();
    if (last && done(last)) return last;
    if (Date.now() > until) throw new Error(`job ${id} did not get there: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const ended = (job: JobView): boolean => ['done', 'failed', 'canceled'].includes(job.status);

async function download(baseUrl: string, id: string, name: string): Promise<string> {
  const file = path.join(dir, name);
  const res = await fetch(`${baseUrl}/api/jobs/${id}/output`);
  expect(res.status).toBe(200);
  await writeFile(file, new Uint8Array(await res.arrayBuffer()));
  return file;
}

/** Frames painted per worker, as the gateway's /metrics counts them (chunks completed). */
async function framesByWorker(baseUrl: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  return Object.fromEntries([...text.matchAll(/^stylize_worker_frames_total\{worker="([^"]+)"\} (\d+)/gm)].map((m) => [m[1]!, Number(m[2])]));
}

/** The job's event stream (SSE), read as it comes: every `progress` event's job, in order. */
function followEvents(baseUrl: string, id: string): { seen: JobView[]; ended: Promise<void>; stop(): void } {
  const seen: JobView[] = [];
  const stop = new AbortController();
  const ended = (async () => {
    const res = await fetch(`${baseUrl}/api/jobs/${id}/events`, { signal: stop.signal });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      text += decoder.decode(value, { stream: true });
      for (let cut = text.indexOf('\n\n'); cut >= 0; cut = text.indexOf('\n\n')) {
        const data = /^data: (.*)$/m.exec(text.slice(0, cut))?.[1];
        text = text.slice(cut + 2);
        if (data) seen.push(JSON.parse(data) as JobView);
      }
    }
  })().catch((error: unknown) => {
    if (!stop.signal.aborted) throw error;
  });
  return { seen, ended, stop: () => stop.abort() };
}

describe('a job on the farm', () => {
  it('GET /api/jobs/:id counts the frames of a chunk still being painted, the same as the event stream', async () => {
    const r = await redis();
    const w = worker(r.url);
    const g = await gateway(r.url);
    await waitForWorkers(g, 1);
    // One chunk (2 s at 10 fps): GET used to count finished chunks only, so it said 0 until the end.
    const oneChunk = await makeClip(path.join(dir, 'one-chunk.mp4'), ['-f', 'lavfi', '-i', 'testsrc=size=96x54:rate=10', '-t', '2', '-c:v', 'libx264', '-pix_fmt', 'yuv420p']);
    const job = await submit(g.url, oneChunk, { stepsPerFrame: '4' });
    const events = followEvents(g.url, job.id);
    try {
      const mid = await waitFor(g.url, job.id, (j) => ended(j) || (j.status === 'running' && j.progress > 0 && j.progress < 1), 120_000);
      expect(mid.status).toBe('running');
      expect(mid.framesDone).toBeGreaterThan(0);
      expect(mid.framesDone).toBeLessThan(mid.framesTotal);
      expect(mid.progress).toBeCloseTo(mid.framesDone / mid.framesTotal, 2);
      // The painting held still (its chunk process stopped): GET and the stream settle on the same numbers.
      const painting = w.chunkPids();
      expect(painting.length).toBeGreaterThan(0);
      for (const pid of painting) process.kill(pid, 'SIGSTOP');
      try {
        await new Promise((resolve) => setTimeout(resolve, 1500));
        const got = (await (await fetch(`${g.url}/api/jobs/${job.id}`)).json()) as JobView;
        const streamed = events.seen.at(-1)!;
        expect(got.status).toBe('running');
        expect(got.framesDone).toBeGreaterThanOrEqual(mid.framesDone);
        expect({ framesDone: got.framesDone, progress: got.progress }).toEqual({ framesDone: streamed.framesDone, progress: streamed.progress });
        // What it does and the time it has left come through both too (the chunk's reports in Redis).
        expect(got.stage).toBe('painting');
        expect(got.etaS).toBeGreaterThan(0);
        expect({ stage: got.stage, etaS: got.etaS }).toEqual({ stage: streamed.stage, etaS: streamed.etaS });
      } finally {
        for (const pid of painting) process.kill(pid, 'SIGCONT');
      }
      const done = await waitFor(g.url, job.id, ended);
      expect(done.status, done.error).toBe('done');
      await events.ended;
      // The stream went up frame by frame too, and ended where GET does.
      expect(events.seen.some((e) => e.status === 'running' && e.framesDone > 0 && e.framesDone < e.framesTotal)).toBe(true);
      // Before its first frame the job said what it was doing, and named its preview only once one was stored.
      const early = events.seen.filter((e) => e.status === 'running' && e.framesDone === 0);
      for (const e of early) expect(['starting', 'decoding', 'painting-first-frame']).toContain(e.stage);
      expect(early.filter((e) => e.preview !== undefined)).toEqual([]);
      expect((await fetch(`${g.url}${events.seen.find((e) => e.preview)!.preview}`)).status).toBe(200);
      expect(events.seen.at(-1)).toMatchObject({ status: 'done', progress: 1, framesDone: done.framesTotal });
    } finally {
      events.stop();
    }
  });

  it('2 workers with separate data directories give the same frames, rate, duration and audio as the in-process runner', async () => {
    // The in-process runner does the same job meanwhile, on a server in this process.
    const local = await startTestServer({ workers: 2, engine: 'passthrough' });
    started.servers.push(local);
    const localJob = await submit(local.url, BBB_MP4);
    const r = await redis();
    worker(r.url);
    worker(r.url);
    const g = await gateway(r.url);
    await waitForWorkers(g, 2);
    const job = await submit(g.url, BBB_MP4);
    const done = await waitFor(g.url, job.id, ended);
    expect(done.status, done.error).toBe('done');
    const farmed = await probe(await download(g.url, job.id, 'farmed.mp4'));
    // Both workers painted, and between them every frame once.
    const painted = await framesByWorker(g.url);
    expect(Object.keys(painted)).toHaveLength(2);
    expect(Object.values(painted).reduce((a, b) => a + b, 0)).toBe(done.framesTotal);

    expect((await waitFor(local.url, localJob.id, ended)).status).toBe('done');
    const inProcess = await probe(await download(local.url, localJob.id, 'in-process.mp4'));
    expect(farmed).toEqual(inProcess);
    expect(farmed.frames).toBe(120);
    expect(farmed.audio).toEqual({ codec: 'aac', channels: 2 });
  });

  it('kill -9 of a worker mid-chunk: the job still finishes, every frame present once', async () => {
    const r = await redis();
    const doomed = worker(r.url);
    const g = await gateway(r.url);
    await waitForWorkers(g, 1);
    const job = await submit(g.url, clip, { stepsPerFrame: '2' });
    // Mid-chunk: the only worker is painting (frames are coming in, the job is not done).
    const before = await waitFor(g.url, job.id, (j) => ended(j) || (j.framesDone > 0 && doomed.chunkPids().length > 0), 120_000);
    expect(before.status).toBe('running');
    const orphans = doomed.chunkPids();
    await doomed.kill();
    // Another worker comes up while the dead one's lock runs out; BullMQ's stalled check hands it the chunk.
    const survivor = worker(r.url);
    const done = await waitFor(g.url, job.id, ended);
    // The survivor says what it did, chunk by chunk, at info (issue 20: it said nothing).
    expect(doomed.log()).toMatch(new RegExp(`"job":"${job.id}".*"msg":"chunk taken"`));
    expect(survivor.log()).toMatch(new RegExp(`"job":"${job.id}","chunk":\\d+.*"framesPainted":\\d+.*"msg":"chunk finished"`));
    expect(done.status, done.error).toBe('done');
    const facts = await probe(await download(g.url, job.id, 'after-worker-kill.mp4'));
    expect(facts.frames).toBe(60);
    expect(facts.durationS).toBeCloseTo(6, 0);
    // Completed chunks add up to every frame exactly once (the killed one was painted again, once).
    const painted = await framesByWorker(g.url);
    expect(Object.values(painted).reduce((a, b) => a + b, 0)).toBe(60);
    // The killed worker's chunk process did not outlive it.
    await gone(orphans);
    expect(orphans.filter(isAlive)).toEqual([]);
  });

  it('kill -9 of the gateway mid-job, restarted: the job finishes', async () => {
    const r = await redis();
    const home = dataDir('gateway');
    worker(r.url, ['--transfer-patience', '90s']);
    const first = await gateway(r.url, { dataDir: home });
    await waitForWorkers(first, 1);
    const job = await submit(first.url, clip);
    await waitFor(first.url, job.id, (j) => j.framesDone > 0);
    await first.kill();
    await new Promise((r) => setTimeout(r, 2000)); // the worker goes on painting meanwhile
    const second = await gateway(r.url, { dataDir: home, port: first.port });
    const done = await waitFor(second.url, job.id, ended);
    expect(done.status, done.error).toBe('done');
    expect(second.log()).toMatch(new RegExp(`"job":"${job.id}".*resuming job`));
    expect((await probe(await download(second.url, job.id, 'after-gateway-kill.mp4'))).frames).toBe(60);
  });

  it('Redis restarted mid-job (persistence on): the job finishes or fails with a clear reason, never hangs', async () => {
    const r = await redis({ persistence: true });
    worker(r.url);
    const g = await gateway(r.url);
    await waitForWorkers(g, 1);
    const job = await submit(g.url, clip);
    await waitFor(g.url, job.id, (j) => j.framesDone > 0);
    await r.kill();
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await r.restart();
    const end = await waitFor(g.url, job.id, ended, 180_000);
    if (end.status === 'done') {
      expect((await probe(await download(g.url, job.id, 'after-redis-restart.mp4'))).frames).toBe(60);
    } else {
      expect(end.status).toBe('failed');
      expect(end.error).toMatch(/^(a worker process stopped unexpectedly|decoding failed|encoding failed|fetching|storing|the upload did not complete)/);
    }
  });

  it('cancel from the gateway stops a chunk being painted in a worker process', async () => {
    const r = await redis();
    const w = worker(r.url);
    const g = await gateway(r.url);
    await waitForWorkers(g, 1);
    const job = await submit(g.url, clip, { stepsPerFrame: '4' });
    await waitFor(g.url, job.id, (j) => j.framesDone > 0 && w.chunkPids().length > 0, 120_000);
    const painting = w.chunkPids();
    // Only the owner may cancel (issue 20 item 11): the token the submit answered.
    const res = await fetch(`${g.url}/api/jobs/${job.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${(job as JobView & { ownerToken: string }).ownerToken}` } });
    expect(((await res.json()) as JobView).status).toBe('canceled');
    // The chunk process painting it is stopped within seconds (30 s at most here); the worker itself goes on.
    for (let i = 0; i < 300 && painting.some(isAlive); i++) await new Promise((r) => setTimeout(r, 100));
    expect(painting.filter(isAlive)).toEqual([]);
    // (The worker says so once it has read the job's end from Redis, a moment after.)
    for (let i = 0; i < 200 && !/chunk stopped: its job has ended/.test(w.log()); i++) await new Promise((r) => setTimeout(r, 100));
    expect(w.log()).toMatch(/chunk stopped: its job has ended/);
    expect(isAlive(w.child.pid!)).toBe(true);
    expect((await waitFor(g.url, job.id, ended)).status).toBe('canceled');
    // …and takes the next job.
    const next = await submit(g.url, clip, { size: '32', stepsPerFrame: '0', firstFrameSteps: '0' });
    expect((await waitFor(g.url, next.id, ended)).status).toBe('done');
  });
});
