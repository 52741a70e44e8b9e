/**
 * What one client can make the video side do: malformed bodies, vector "images", jobs over the
 * cost cap, more jobs than its quota or the queue, a full disk; and what the server does for
 * everyone: fair workers, a crashed worker's chunk retried, ended jobs deleted (DELETE or
 * retention), job errors in our own words. Real server, real ffmpeg, real worker processes.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { malformedMultipart } from '../helpers/attacks/upload-attacks.js';
import { makeClip, probe } from '../helpers/media.js';
import { tempDir } from '../helpers/paths.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import type { JobView } from '../helpers/job-view.js';

let dir: string;
let cleanup: () => Promise<void>;
let clip: string;
let longClip: string;
const servers: TestServer[] = [];

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('stylize-jobs-limits-'));
  clip = await makeClip(path.join(dir, 'clip.mp4'), ['-f', 'lavfi', '-i', 'testsrc=size=64x36:rate=10', '-t', '2', '-c:v', 'libx264', '-pix_fmt', 'yuv420p']);
  longClip = await makeClip(path.join(dir, 'long.mp4'), ['-f', 'lavfi', '-i', 'testsrc=size=64x36:rate=10', '-t', '30', '-c:v', 'libx264', '-pix_fmt', 'yuv420p']);
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await cleanup();
});

async function serve(overrides: Parameters<typeof startTestServer>[0] = {}): Promise<TestServer> {
  const server = await startTestServer({ engine: 'passthrough', workers: 1, ...overrides });
  servers.push(server);
  return server;
}

async function submit(server: TestServer, file: string, fields: Record<string, string> = {}, headers: Record<string, string> = {}): Promise<Response> {
  const form = new FormData();
  form.append('video', new Blob([new Uint8Array(await readFile(file))]), path.basename(file));
  for (const [k, v] of Object.entries({ size: '32', stepsPerFrame: '1', firstFrameSteps: '1', ...fields })) form.append(k, v);
  return fetch(`${server.url}/api/jobs`, { method: 'POST', body: form, headers });
}

async function waitFor(server: TestServer, id: string, statuses = ['done', 'failed', 'canceled'], ms = 110_000): Promise<JobView> {
  const until = Date.now() + ms;
  for (;;) {
    const job = (await (await fetch(`${server.url}/api/jobs/${id}`)).json()) as JobView;
    if (statuses.includes(job.status)) return job;
    if (Date.now() > until) throw new Error(`job ${id} still ${job.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const errorOf = async (res: Response): Promise<{ code: string; message: string }> => ((await res.json()) as { error: { code: string; message: string } }).error;

describe('requests that are not what they claim', () => {
  it('a malformed multipart body is the client\'s mistake (400), for jobs and styles', async () => {
    const server = await serve();
    const { answers } = await malformedMultipart({ baseUrl: server.url }, { durationMs: 10_000 });
    // Unterminated, without a boundary, with a bad part header; to both routes.
    expect(answers).toEqual(
      Object.fromEntries(
        ['/api/jobs', '/api/styles'].flatMap((r) => ['unterminated', 'no boundary', 'bad part header'].map((c) => [`${r} ${c}: HTTP 400 BAD_INPUT`, 1])),
      ),
    );
  });

  it('SVG (and anything not a raster image we decode) is refused by its first bytes', async () => {
    const server = await serve();
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="6000" height="6000"><filter id="f">${'<feGaussianBlur stdDeviation="50"/>'.repeat(2000)}</filter><rect width="6000" height="6000" filter="url(#f)"/></svg>`;
    const started = performance.now();
    const answers = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const form = new FormData();
        form.append('image', new Blob([svg], { type: 'image/svg+xml' }), 'bomb.svg');
        const res = await fetch(`${server.url}/api/styles`, { method: 'POST', body: form });
        return { status: res.status, code: (await errorOf(res)).code };
      }),
    );
    expect(answers).toEqual(Array.from({ length: 4 }, () => ({ status: 400, code: 'NOT_AN_IMAGE' })));
    expect(performance.now() - started).toBeLessThan(10_000); // nothing was rendered
    expect((await fetch(`${server.url}/api/styles`)).status).toBe(200);
  });
});

describe('quotas and caps', () => {
  it('a job over --max-job-cost is refused before anything is stored, saying what to lower', async () => {
    const server = await serve({ maxJobCost: 0.05 });
    const res = await submit(server, clip, { stepsPerFrame: '4' });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).message).toMatch(/megapixel-steps.*smaller size, fewer steps or a shorter clip/);
    expect(await readdir(path.join(server.dataDir, 'jobs')).catch(() => [])).toEqual([]);
  });

  it('one client may have --max-jobs-per-client jobs going (429), the server --max-queued-jobs (503)', async () => {
    const server = await serve({ maxJobsPerClient: 1, maxQueuedJobs: 2, trustProxy: 'loopback' });
    const a = { 'x-forwarded-for': '203.0.113.10' };
    const b = { 'x-forwarded-for': '203.0.113.11' };
    const first = await submit(server, longClip, { stepsPerFrame: '2' }, a);
    expect(first.status).toBe(202);
    const again = await submit(server, clip, {}, a);
    expect(again.status).toBe(429);
    expect(again.headers.get('retry-after')).toBeTruthy();
    expect((await errorOf(again)).code).toBe('RATE_LIMITED');
    const other = await submit(server, longClip, {}, b);
    expect(other.status).toBe(202);
    const third = await submit(server, clip, {}, { 'x-forwarded-for': '203.0.113.12' });
    expect(third.status).toBe(503);
    expect((await errorOf(third)).code).toBe('BUSY');
    // Canceling (with the owner token) frees the place.
    const { id, ownerToken } = (await first.json()) as JobView & { ownerToken: string };
    await fetch(`${server.url}/api/jobs/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${ownerToken}` } });
    expect((await submit(server, clip, {}, a)).status).toBe(202);
    const jobs = await readdir(path.join(server.dataDir, 'jobs'));
    expect(jobs).toHaveLength(3); // the refused ones left nothing
  });

  it('a (nearly) full disk gets 507 and leaves no job behind', async () => {
    const server = await serve({ minFreeBytes: 2 ** 50 });
    const res = await submit(server, clip);
    expect(res.status).toBe(507);
    expect((await errorOf(res)).code).toBe('NO_SPACE');
    expect(await readdir(path.join(server.dataDir, 'jobs')).catch(() => [])).toEqual([]);
    expect(await readdir(path.join(server.dataDir, 'uploads')).catch(() => [])).toEqual([]);
  });
});

describe('what the server does for everyone', () => {
  it('a chunk whose worker was killed is painted again; the job ends with every frame', async () => {
    const server = await serve({ workers: 2 });
    const sixSeconds = await makeClip(path.join(dir, 'six.mp4'), ['-f', 'lavfi', '-i', 'testsrc=size=64x36:rate=10', '-t', '6', '-c:v', 'libx264', '-pix_fmt', 'yuv420p']);
    const res = await submit(server, sixSeconds);
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as JobView;
    await waitFor(server, id, ['running']);
    // Mid-chunk: the workers have started and are painting their first chunks.
    await new Promise((r) => setTimeout(r, 3000));
    const pids = server.runner.workerPids();
    expect(pids.length).toBeGreaterThan(0);
    expect(((await (await fetch(`${server.url}/api/jobs/${id}`)).json()) as JobView).status).toBe('running');
    process.kill(pids[0]!, 'SIGKILL');
    const job = await waitFor(server, id);
    expect(job.status, job.error).toBe('done');
    const out = path.join(dir, 'retried.mp4');
    await writeFile(out, new Uint8Array(await (await fetch(`${server.url}/api/jobs/${id}/output`)).arrayBuffer()));
    expect((await probe(out)).frames).toBe(60);
  });

  it('a job that fails says so in our words (no ffmpeg output, no paths)', async () => {
    const server = await serve();
    // The first job keeps the one worker busy while the second waits; its input is then spoiled.
    const busy = (await (await submit(server, longClip, { stepsPerFrame: '2' })).json()) as JobView & { ownerToken: string };
    const queued = (await (await submit(server, clip)).json()) as JobView;
    await writeFile(path.join(server.dataDir, 'jobs', queued.id, 'input'), Buffer.alloc(50_000, 7));
    await fetch(`${server.url}/api/jobs/${busy.id}`, { method: 'DELETE', headers: { 'x-job-token': busy.ownerToken } });
    const job = await waitFor(server, queued.id);
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(/decoding failed/);
    expect(job.error).not.toMatch(/\/|ffmpeg version|Invalid data|\|/);
  });

  it('DELETE of an ended job frees its files', async () => {
    const server = await serve();
    const { id, ownerToken } = (await (await submit(server, clip)).json()) as JobView & { ownerToken: string };
    expect((await waitFor(server, id)).status).toBe('done');
    const deleted = await fetch(`${server.url}/api/jobs/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${ownerToken}` } });
    expect(((await deleted.json()) as JobView).status).toBe('deleted');
    expect((await fetch(`${server.url}/api/jobs/${id}`)).status).toBe(404);
    expect(await readdir(path.join(server.dataDir, 'jobs'))).toEqual([]);
  });

  it('ended jobs go by themselves after --job-retention', async () => {
    const server = await serve({ jobRetentionS: 1 });
    const { id } = (await (await submit(server, clip)).json()) as JobView;
    expect((await waitFor(server, id)).status).toBe('done');
    // The sweep runs every max(1 s, retention / 4): it is gone within a few seconds.
    for (let i = 0; i < 100 && (await readdir(path.join(server.dataDir, 'jobs'))).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await readdir(path.join(server.dataDir, 'jobs'))).toEqual([]);
    expect((await fetch(`${server.url}/api/jobs/${id}`)).status).toBe(404);
  });
});
