/**
 * Video files end to end with real ffmpeg: the job machinery (CLI and HTTP), on real clips and
 * on clips made here (odd size, no audio, mono audio, 60 fps, rotated), checked with ffprobe.
 */
import { execFile } from 'node:child_process';
import { copyFile, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeClip, probe } from '../helpers/media.js';
import { BBB_MP4, BBB_WEBM, ROOT, WAVE, tempDir } from '../helpers/paths.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import type { JobView } from '../helpers/job-view.js';

let dir: string;
let cleanup: () => Promise<void>;
let server: TestServer;
const BBB = BBB_MP4;
const WEBM = BBB_WEBM;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('stylize-video-'));
  server = await startTestServer({ workers: 2 });
});
afterAll(async () => {
  await server?.close();
  await cleanup();
});

async function submit(file: string, fields: Record<string, string> = {}, name = path.basename(file)): Promise<Response> {
  const form = new FormData();
  form.append('video', new Blob([new Uint8Array(await readFile(file))]), name);
  for (const [k, v] of Object.entries({ size: '32', stepsPerFrame: '1', firstFrameSteps: '3', ...fields })) form.append(k, v);
  return fetch(`${server.url}/api/jobs`, { method: 'POST', body: form });
}

async function waitFor(id: string, statuses = ['done', 'failed', 'canceled'], ms = 120_000): Promise<JobView> {
  const until = Date.now() + ms;
  for (;;) {
    const job = (await (await fetch(`${server.url}/api/jobs/${id}`)).json()) as JobView;
    if (statuses.includes(job.status)) return job;
    if (Date.now() > until) throw new Error(`job ${id} still ${job.status}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function runJob(file: string, fields: Record<string, string> = {}): Promise<{ job: JobView; output: string }> {
  const res = await submit(file, fields);
  expect(res.status, await res.clone().text()).toBe(202);
  const { id } = (await res.json()) as JobView;
  const job = await waitFor(id);
  expect(job.status, job.error).toBe('done');
  const output = path.join(dir, `${id}.mp4`);
  await writeFile(output, new Uint8Array(await (await fetch(`${server.url}/api/jobs/${id}/output`)).arrayBuffer()));
  return { job, output };
}

/** Same frame count (±1), frame rate and duration (± one frame) as the input; H.264 yuv420p. */
async function expectFaithful(input: string, output: string, expected: Partial<{ width: number; height: number }> = {}): Promise<void> {
  const a = await probe(input);
  const b = await probe(output);
  expect(b.codec).toBe('h264');
  expect(b.pixFmt).toBe('yuv420p');
  expect(Math.abs(b.frames - a.frames)).toBeLessThanOrEqual(1);
  expect(b.fps).toBeCloseTo(a.fps, 3);
  expect(Math.abs(b.durationS - a.durationS)).toBeLessThanOrEqual(1.5 / a.fps + 0.05);
  expect(b.audio !== undefined).toBe(a.audio !== undefined);
  if (a.audio) expect(b.audio!.channels).toBe(a.audio.channels);
  if (expected.width) expect([b.width, b.height]).toEqual([expected.width, expected.height]);
}

describe('video jobs on real clips', () => {
  it('keeps frame count, rate, duration and the AAC audio of the real BBB clip (copied)', async () => {
    const { job, output } = await runJob(BBB);
    expect(job).toMatchObject({ framesDone: 120, framesTotal: 120, progress: 1 });
    await expectFaithful(BBB, output, { width: 320, height: 180 });
    expect((await probe(output)).audio?.codec).toBe('aac');
  });

  it('takes a VP9 WebM without audio', async () => {
    const { output } = await runJob(WEBM, { size: '32', stepsPerFrame: '0', firstFrameSteps: '1' });
    await expectFaithful(WEBM, output);
  });
});

describe('video jobs on generated clips', () => {
  it('odd dimensions (161×91, FFV1 in MKV, no audio) come out even (160×90)', async () => {
    const clip = await makeClip(path.join(dir, 'odd.mkv'), ['-f', 'lavfi', '-i', 'testsrc=size=161x91:rate=25', '-t', '1', '-c:v', 'ffv1']);
    const { output } = await runJob(clip);
    await expectFaithful(clip, output, { width: 160, height: 90 });
  });

  it('mono audio is kept', async () => {
    const clip = await makeClip(path.join(dir, 'mono.mp4'), [
      '-f', 'lavfi', '-i', 'testsrc=size=128x72:rate=24', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
      '-t', '1', '-ac', '1', '-c:a', 'aac', '-c:v', 'libx264', '-pix_fmt', 'yuv420p',
    ]);
    const { output } = await runJob(clip, { motion: 'flow', temporalWeight: '10000' });
    await expectFaithful(clip, output);
    expect((await probe(output)).audio?.channels).toBe(1);
  });

  it('60 fps stays 60 fps, every frame', async () => {
    const clip = await makeClip(path.join(dir, 'sixty.mp4'), ['-f', 'lavfi', '-i', 'testsrc=size=96x54:rate=60', '-t', '1', '-c:v', 'libx264', '-pix_fmt', 'yuv420p']);
    const { output } = await runJob(clip, { stepsPerFrame: '0', firstFrameSteps: '1' });
    await expectFaithful(clip, output);
    expect((await probe(output)).frames).toBe(60);
  });

  it('honours rotation metadata: a 128×72 clip tagged 90° comes out 72×128 (rotation applied)', async () => {
    const plain = await makeClip(path.join(dir, 'plain.mp4'), ['-f', 'lavfi', '-i', 'testsrc=size=128x72:rate=10', '-t', '1', '-c:v', 'libx264', '-pix_fmt', 'yuv420p']);
    // ffmpeg 5.1 writes the display matrix from the rotate tag only when stream-copying.
    const clip = await makeClip(path.join(dir, 'rotated.mp4'), ['-i', plain, '-c', 'copy', '-metadata:s:v:0', 'rotate=90']);
    const { output } = await runJob(clip);
    const out = await probe(output);
    expect([out.width, out.height]).toEqual([72, 128]);
    expect(out.frames).toBe(10);
  });
});

describe('bad input gets a clear 4xx and the server keeps serving', () => {
  const cases: [string, () => Promise<string>, RegExp][] = [
    ['a text file named .mp4', async () => writeTo('notes.mp4', 'this is not a video'), /not a video file|not an accepted/],
    ['a truncated MP4', async () => writeTo('cut.mp4', (await readFile(BBB)).subarray(0, 20_000)), /truncated: 13 of 120 frames are present/],
    ['an HLS playlist named .mp4', async () => writeTo('list.mp4', '#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n'), /not a video file|not an accepted/],
    ['an image named .mp4', async () => copyTo(WAVE, 'picture.mp4'), /not an accepted video container|not a video/],
  ];
  for (const [name, make, message] of cases) {
    it(name, async () => {
      const res = await submit(await make());
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('BAD_INPUT');
      expect(body.error.message).toMatch(message);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    });
  }

  it('an over-limit file gets 413', async () => {
    const small = await startTestServer({ maxVideoBytes: 10_000 });
    try {
      const form = new FormData();
      form.append('video', new Blob([new Uint8Array(await readFile(BBB))]), 'big.mp4');
      const res = await fetch(`${small.url}/api/jobs`, { method: 'POST', body: form });
      expect(res.status).toBe(413);
    } finally {
      await small.close();
    }
  });

  it('missing video field, unknown style, bad option values', async () => {
    expect((await fetch(`${server.url}/api/jobs`, { method: 'POST', body: new FormData() })).status).toBe(400);
    expect((await submit(BBB, { style: 'nope' })).status).toBe(404);
    const bad = await submit(BBB, { stepsPerFrame: 'lots' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/stepsPerFrame|steps-per-frame/);
  });
});

describe('a job that cannot be painted', () => {
  it('fails with a one-line reason and leaves nothing half-made', async () => {
    const tiny = await makeClip(path.join(dir, 'tiny.mp4'), ['-f', 'lavfi', '-i', 'testsrc=size=24x16:rate=10', '-t', '1', '-c:v', 'libx264', '-pix_fmt', 'yuv420p']);
    const res = await submit(tiny);
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as JobView;
    const job = await waitFor(id);
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(/24×16; random-multiscale needs at least 32 pixels a side/);
    expect(job.error!.split('\n')).toHaveLength(1);
    expect((await fetch(`${server.url}/api/jobs/${id}/output`)).status).toBe(409);
    expect(await readdir(path.join(server.dataDir, 'jobs', id))).not.toContain('chunks');
  });
});

describe('job API', () => {
  it('409 before done, SSE progress, preview, cancel', async () => {
    const res = await submit(WEBM, { size: '48', stepsPerFrame: '3', firstFrameSteps: '10' });
    const { id, ownerToken } = (await res.json()) as JobView & { ownerToken: string };
    expect((await fetch(`${server.url}/api/jobs/${id}/output`)).status).toBe(409);
    // Server-sent events: at least one progress event with framesDone > 0.
    const events = await fetch(`${server.url}/api/jobs/${id}/events`);
    expect(events.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = events.body!.getReader();
    let seen = '';
    while (!/"framesDone":[1-9]/.test(seen)) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`the event stream ended before any progress: ${seen}`); // else this loop would spin
      seen += new TextDecoder().decode(value);
    }
    await reader.cancel();
    expect(seen).toMatch(/event: progress\ndata: \{"id":"[0-9a-f]{16}","status":"running"/);
    await waitForPreview(id);
    // Only the owner token cancels it (issue 20 item 11).
    const refused = await fetch(`${server.url}/api/jobs/${id}`, { method: 'DELETE' });
    expect(refused.status).toBe(403);
    const canceled = (await (await fetch(`${server.url}/api/jobs/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${ownerToken}` } })).json()) as JobView;
    expect(canceled.status).toBe('canceled');
    expect((await waitFor(id)).status).toBe('canceled');
    expect((await fetch(`${server.url}/api/jobs/0123456789abcdef`)).status).toBe(404);
    // The runner is free again: another job completes.
    const clip = await makeClip(path.join(dir, 'after-cancel.mp4'), ['-f', 'lavfi', '-i', 'testsrc=size=64x36:rate=10', '-t', '1', '-c:v', 'libx264', '-pix_fmt', 'yuv420p']);
    await runJob(clip);
  });
});

describe('stylize video (CLI)', () => {
  it('writes a faithful MP4 with a progress report', async () => {
    const clip = await makeClip(path.join(dir, 'cli.mp4'), ['-f', 'lavfi', '-i', 'testsrc=size=96x54:rate=12', '-f', 'lavfi', '-i', 'sine', '-t', '1', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac']);
    const out = path.join(dir, 'cli-out.mp4');
    const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) =>
      execFile(process.execPath, [path.join(ROOT, 'bin/stylize.js'), 'video', clip, '--style', WAVE, '--size', '32', '--steps-per-frame', '1', '--first-frame-steps', '2', '-o', out], { env: { ...process.env, STYLIZE_BACKEND: 'wasm' } }, (e, so, se) => (e ? reject(Object.assign(e, { stderr: se })) : resolve({ stdout: so, stderr: se }))),
    );
    expect(stderr).toMatch(/12 frames at 12\.00 fps, audio aac/);
    expect(stderr).toMatch(/frames 12\/12/);
    expect(JSON.parse(stdout.trim())).toMatchObject({ frames: 12, progress: 1 });
    await expectFaithful(clip, out);
  });
});

async function writeTo(name: string, data: string | Uint8Array): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, data);
  return file;
}

async function copyTo(from: string, name: string): Promise<string> {
  const file = path.join(dir, name);
  await copyFile(from, file);
  return file;
}

async function waitForPreview(id: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const res = await fetch(`${server.url}/api/jobs/${id}/preview`);
    if (res.status === 200) {
      expect(res.headers.get('content-type')).toBe('image/jpeg');
      return;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('no preview');
}
