/**
 * Job progress event streams (SSE) are capped like WebSockets (issue 20: 19 643 streams from one
 * client reached the fd limit and the server stopped answering): per client (429) and in all
 * (503), a closed stream gives its place back, and the server keeps answering. Real server, a
 * real job, real streams.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BBB_MP4 } from '../helpers/paths.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import type { JobView } from '../helpers/job-view.js';

let server: TestServer;
let jobId: string;
let ownerToken: string;

beforeAll(async () => {
  server = await startTestServer({ trustProxy: 'loopback', maxEventStreamsPerClient: 2, maxEventStreams: 3, workers: 1 });
  const form = new FormData();
  form.append('video', new Blob([new Uint8Array(await readFile(BBB_MP4))]), 'bbb.mp4');
  for (const [k, v] of Object.entries({ size: '32', stepsPerFrame: '2', firstFrameSteps: '20' })) form.append(k, v);
  const res = await fetch(`${server.url}/api/jobs`, { method: 'POST', body: form });
  expect(res.status).toBe(202);
  ({ id: jobId, ownerToken } = (await res.json()) as JobView & { ownerToken: string });
});
afterAll(async () => {
  await fetch(`${server.url}/api/jobs/${jobId}`, { method: 'DELETE', headers: { authorization: `Bearer ${ownerToken}` } }).catch(() => undefined);
  await server?.close();
});

interface OpenStream {
  status: number;
  close(): void;
}

async function events(client: string): Promise<OpenStream> {
  const abort = new AbortController();
  const res = await fetch(`${server.url}/api/jobs/${jobId}/events`, { headers: { 'X-Forwarded-For': client }, signal: abort.signal });
  if (res.status !== 200) await res.text();
  return { status: res.status, close: () => abort.abort() };
}

describe('job event streams', () => {
  it('are capped per client (429) and in all (503); a closed one frees its place', async () => {
    const a1 = await events('203.0.113.1');
    const a2 = await events('203.0.113.1');
    expect([a1.status, a2.status]).toEqual([200, 200]);
    expect((await events('203.0.113.1')).status).toBe(429);
    const b1 = await events('203.0.113.2');
    expect(b1.status).toBe(200);
    expect((await events('203.0.113.3')).status).toBe(503);
    // The server still answers everything else at once.
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    a1.close();
    let again: OpenStream | undefined;
    for (let i = 0; i < 50 && again?.status !== 200; i += 1) {
      await new Promise((r) => setTimeout(r, 50));
      again = await events('203.0.113.1');
    }
    expect(again?.status).toBe(200);
    for (const s of [a2, b1, again!]) s.close();
  });
});
