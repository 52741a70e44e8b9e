/**
 * Issue 20, items 4 and 11 on a real server (real ffmpeg, real chunk processes): one client's long
 * jobs do not hold the queue against another's short one; only the owner token given at submit
 * cancels or deletes a job (reading it needs only its id).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeClip } from '../helpers/media.js';
import { tempDir } from '../helpers/paths.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import type { JobView } from '../helpers/job-view.js';

type Submitted = JobView & { ownerToken: string };

let dir: string;
let cleanup: () => Promise<void>;
let clip: string;
let longClip: string;
const servers: TestServer[] = [];

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('stylize-job-owners-'));
  clip = await makeClip(path.join(dir, 'clip.mp4'), ['-f', 'lavfi', '-i', 'testsrc=size=64x36:rate=10', '-t', '1', '-c:v', 'libx264', '-pix_fmt', 'yuv420p']);
  longClip = await makeClip(path.join(dir, 'long.mp4'), ['-f', 'lavfi', '-i', 'testsrc=size=64x36:rate=10', '-t', '30', '-c:v', 'libx264', '-pix_fmt', 'yuv420p']);
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await cleanup();
});

async function serve(): Promise<TestServer> {
  const server = await startTestServer({ engine: 'passthrough', workers: 1, trustProxy: 'loopback' });
  servers.push(server);
  return server;
}

async function submit(server: TestServer, file: string, fields: Record<string, string>, from: string): Promise<Submitted> {
  const form = new FormData();
  form.append('video', new Blob([new Uint8Array(await readFile(file))]), path.basename(file));
  for (const [k, v] of Object.entries({ size: '32', stepsPerFrame: '1', firstFrameSteps: '1', ...fields })) form.append(k, v);
  const res = await fetch(`${server.url}/api/jobs`, { method: 'POST', body: form, headers: { 'x-forwarded-for': from } });
  expect(res.status).toBe(202);
  return (await res.json()) as Submitted;
}

const get = async (server: TestServer, id: string): Promise<JobView> => (await (await fetch(`${server.url}/api/jobs/${id}`)).json()) as JobView;

async function waitFor(server: TestServer, id: string, done: (job: JobView) => boolean, ms = 150_000): Promise<JobView> {
  const until = Date.now() + ms;
  for (;;) {
    const job = await get(server, id);
    if (done(job)) return job;
    if (Date.now() > until) throw new Error(`job ${id} still ${job.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const ended = (job: JobView): boolean => ['done', 'failed', 'canceled'].includes(job.status);

describe('fair scheduling across clients (issue 20 item 4)', () => {
  it('client B\'s short job ends while client A\'s two long jobs are still being painted', async () => {
    const server = await serve();
    const a1 = await submit(server, longClip, { stepsPerFrame: '3' }, '203.0.113.20');
    const a2 = await submit(server, longClip, { stepsPerFrame: '3' }, '203.0.113.20');
    await waitFor(server, a1.id, (j) => j.framesDone > 0);
    const b = await submit(server, clip, {}, '203.0.113.21');
    const bDone = await waitFor(server, b.id, ended);
    expect(bDone.status).toBe('done');
    // Before: B waited behind A's second job (one worker, FIFO): both of A's had ended first.
    const [nowA1, nowA2] = [await get(server, a1.id), await get(server, a2.id)];
    expect([nowA1.status, nowA2.status]).not.toContain('done');
    expect(nowA1.framesDone + nowA2.framesDone).toBeLessThan(nowA1.framesTotal + nowA2.framesTotal);
    for (const a of [a1, a2]) await fetch(`${server.url}/api/jobs/${a.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${a.ownerToken}` } });
  }, 300_000);
});

describe('the owner token (issue 20 item 11)', () => {
  it('is answered once at submit, stored only as a hash, and needed to cancel or delete', async () => {
    const server = await serve();
    const job = await submit(server, longClip, { stepsPerFrame: '2' }, '203.0.113.30');
    expect(job.ownerToken).toMatch(/^[\w-]{32}$/);
    // Stored as its hash only; never shown again.
    const record = await readFile(path.join(server.dataDir, 'jobs', job.id, 'job.json'), 'utf8');
    expect(record).not.toContain(job.ownerToken);
    expect(record).toMatch(/"ownerTokenHash": "[0-9a-f]{64}"/);
    expect(JSON.stringify(await get(server, job.id))).not.toMatch(/ownerToken/);
    // Reading needs only the id; cancelling needs the token.
    expect((await fetch(`${server.url}/api/jobs/${job.id}`)).status).toBe(200);
    for (const headers of [{}, { authorization: 'Bearer nope' }, { 'x-job-token': `${job.ownerToken}x` }] as Record<string, string>[]) {
      const refused = await fetch(`${server.url}/api/jobs/${job.id}`, { method: 'DELETE', headers });
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'FORBIDDEN', message: expect.stringMatching(/owner token/) });
    }
    expect((await get(server, job.id)).status).not.toBe('canceled');
    const canceled = await fetch(`${server.url}/api/jobs/${job.id}`, { method: 'DELETE', headers: { 'x-job-token': job.ownerToken } });
    expect(((await canceled.json()) as JobView).status).toBe('canceled');
    // An ended job is deleted only with the token too.
    expect((await fetch(`${server.url}/api/jobs/${job.id}`, { method: 'DELETE' })).status).toBe(403);
    const deleted = await fetch(`${server.url}/api/jobs/${job.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${job.ownerToken}` } });
    expect(((await deleted.json()) as JobView).status).toBe('deleted');
    expect((await fetch(`${server.url}/api/jobs/${job.id}`)).status).toBe(404);
  });
});
