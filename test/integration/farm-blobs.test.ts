/**
 * The farm's secret and blob names (issue 20, item 13), against a real gateway on a real
 * redis-server: the operator's STYLIZE_FARM_SECRET is the one the blob endpoints accept; a holder
 * of the secret can store only the blob names the farm uses (a chunk segment), for jobs this
 * gateway holds, and makes no folder for a job that does not exist; a Redis with a password works.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type FarmProcess, type TestGateway } from '../helpers/farm.js';
import { makeClip } from '../helpers/media.js';
import { tempDir } from '../helpers/paths.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import type { JobView } from '../helpers/job-view.js';

const SECRET = 'operator-set-farm-secret-0123456789';

let dir: string;
let cleanup: () => Promise<void>;
let clip: string;
let started: { redis: TestRedis[]; processes: FarmProcess[] } = { redis: [], processes: [] };
let dirs = 0;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('stylize-farm-blobs-'));
  clip = await makeClip(path.join(dir, 'clip.mp4'), ['-f', 'lavfi', '-i', 'testsrc=size=64x36:rate=10', '-t', '2', '-c:v', 'libx264', '-pix_fmt', 'yuv420p']);
});
afterEach(async () => {
  delete process.env.STYLIZE_FARM_SECRET;
  await Promise.all(started.processes.map((p) => p.kill()));
  await Promise.all(started.redis.map((r) => r.stop()));
  started = { redis: [], processes: [] };
});
afterAll(async () => {
  await cleanup();
});

async function gateway(redisUrl: string, home: string, env: Record<string, string> = {}): Promise<TestGateway> {
  // The helper passes this process's environment on to the gateway.
  Object.assign(process.env, env);
  try {
    const g = await startGateway(redisUrl, { dataDir: home });
    started.processes.push(g);
    return g;
  } finally {
    for (const name of Object.keys(env)) delete process.env[name];
  }
}

/** A queued job (no worker runs here): its input is on the gateway. */
async function submit(baseUrl: string): Promise<JobView> {
  const form = new FormData();
  form.append('video', new Blob([new Uint8Array(await readFile(clip))]), 'clip.mp4');
  form.append('size', '32');
  const res = await fetch(`${baseUrl}/api/jobs`, { method: 'POST', body: form });
  expect(res.status, await res.clone().text()).toBe(202);
  return (await res.json()) as JobView;
}

const put = (url: string, secret: string, body = Buffer.from('segment bytes')): Promise<Response> =>
  fetch(url, { method: 'PUT', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/octet-stream', 'content-length': String(body.length) }, body: new Uint8Array(body) });

describe('the farm secret and blob names', () => {
  it("the operator's STYLIZE_FARM_SECRET opens the blob endpoints; another secret does not", async () => {
    const r = await startRedis();
    started.redis.push(r);
    const g = await gateway(r.url, path.join(dir, `gateway-${dirs++}`), { STYLIZE_FARM_SECRET: SECRET });
    const job = await submit(g.url);
    const res = await fetch(`${g.url}/internal/blobs/${job.id}/input`, { headers: { authorization: `Bearer ${SECRET}` } });
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    const wrong = await fetch(`${g.url}/internal/blobs/${job.id}/input`, { headers: { authorization: `Bearer ${SECRET}x` } });
    expect(wrong.status).toBe(403);
  });

  it('a holder of the secret stores only chunk segments, of jobs this gateway holds', async () => {
    const r = await startRedis();
    started.redis.push(r);
    const home = path.join(dir, `gateway-${dirs++}`);
    // The secret the gateway made and keeps in Redis (no STYLIZE_FARM_SECRET here): what a worker holds.
    const g = await gateway(r.url, home);
    const control = new Redis(r.url);
    const secret = (await control.get('stylize:farm:secret'))!;
    control.disconnect();
    expect(secret.length).toBeGreaterThan(16);
    const job = await submit(g.url);
    const blobs = `${g.url}/internal/blobs`;

    const evil = await put(`${blobs}/${job.id}/chunks/evil.sh`, secret);
    expect([400, 404]).toContain(evil.status);
    expect(existsSync(path.join(home, 'jobs', job.id, 'chunks', 'evil.sh'))).toBe(false);
    for (const name of ['00000.mp4x', 'output.mp4', '0.mp4', 'a.mp4']) expect([400, 404]).toContain((await put(`${blobs}/${job.id}/chunks/${name}`, secret)).status);

    const ghost = 'ffffffffffffffff';
    const nobody = await put(`${blobs}/${ghost}/chunks/00000.mp4`, secret);
    expect(nobody.status).toBe(404);
    expect(existsSync(path.join(home, 'jobs', ghost))).toBe(false);
    expect((await fetch(`${blobs}/${ghost}/notes.txt`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(404);

    // What a worker does is still allowed.
    expect((await put(`${blobs}/${job.id}/chunks/00000.mp4`, secret)).status).toBe(204);
    expect(existsSync(path.join(home, 'jobs', job.id, 'chunks', '00000.mp4'))).toBe(true);
  });

  it('a Redis with a password (requirepass), reached with it in REDIS_URL', async () => {
    const r = await startRedis();
    started.redis.push(r);
    const control = new Redis(r.url);
    await control.config('SET', 'requirepass', 'redis-pass-42');
    control.disconnect();
    const g = await gateway(`redis://:redis-pass-42@127.0.0.1:${r.port}`, path.join(dir, `gateway-${dirs++}`));
    const health = (await (await fetch(`${g.url}/healthz`)).json()) as { ok: boolean };
    expect(health.ok).toBe(true);
    expect((await submit(g.url)).status).toBe('queued');
  });
});
