/**
 * Decoding what was probed, exactly (real ffmpeg, clips made here):
 * - a chunk decoded by seeking is frame for frame the chunk decoded from the start and trimmed
 *   (MP4 with B-frames, WebM, an MP4 whose audio starts before its video, MPEG-TS from the start);
 * - a file with a small stream 0 and a large stream 1 is decoded from stream 0, the one probed;
 * - a variable-frame-rate MP4 keeps its duration: resampled to its average rate, and a job's
 *   output lasts as long as its input and its audio.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePlan, decodeRgbFrames, probeVideo, type VideoInfo } from '../../server/video/ffmpeg.js';
import { makeClip, probe } from '../helpers/media.js';
import { tempDir } from '../helpers/paths.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import type { JobView } from '../helpers/job-view.js';

let dir: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('stylize-decode-'));
});
afterAll(async () => {
  await cleanup();
});

const SIZE = { width: 48, height: 27 };

async function frames(file: string, info: VideoInfo, range: { start: number; end: number }): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const frame of decodeRgbFrames(file, info, SIZE, range)) out.push(frame);
  return out;
}

describe('decoding a chunk', () => {
  const clips: [string, string[]][] = [
    ['bframes.mp4', ['-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=24', '-t', '6', '-c:v', 'libx264', '-g', '48', '-bf', '3']],
    ['vp9.webm', ['-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=30', '-t', '5', '-c:v', 'libvpx-vp9', '-g', '40', '-deadline', 'realtime']],
    ['late-video.mp4', ['-itsoffset', '0.5', '-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=24:duration=5', '-f', 'lavfi', '-i', 'sine=f=440:d=6', '-map', '0:v', '-map', '1:a', '-c:v', 'libx264', '-g', '48', '-c:a', 'aac']],
    ['stream.ts', ['-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=25', '-t', '5', '-c:v', 'libx264', '-g', '50', '-f', 'mpegts']],
  ];

  for (const [name, args] of clips) {
    it(`${name}: frames [37, 60) and the last chunk are the same frames as decoded from the start`, async () => {
      const file = await makeClip(path.join(dir, name), args);
      const info = await probeVideo(file);
      for (const range of [{ start: 37, end: 60 }, { start: info.frames - 25, end: info.frames }]) {
        const got = await frames(file, info, range);
        const all = await frames(file, info, { start: 0, end: range.end });
        expect(got.length).toBe(range.end - range.start);
        const want = all.slice(range.start);
        expect(want.length).toBe(got.length);
        for (let i = 0; i < got.length; i += 1) expect(Buffer.compare(Buffer.from(got[i]!), Buffer.from(want[i]!)), `${name} frame ${range.start + i}`).toBe(0);
      }
    });
  }

  it('seeks in MP4/MOV and MKV/WebM, and decodes MPEG-TS and variable-rate streams from the start', () => {
    const base = { fps: 25, rate: '25/1', startOffsetS: 0 };
    expect(decodePlan({ ...base, demuxer: 'mov' }, { start: 100, end: 150 })).toEqual({ seek: ['-ss', '3.980000'], filters: ['trim=end_frame=50'] });
    expect(decodePlan({ ...base, demuxer: 'matroska', startOffsetS: 0.5 }, { start: 100, end: 150 }).seek).toEqual(['-ss', '4.480000']);
    expect(decodePlan({ ...base, demuxer: 'mov' }, { start: 0, end: 50 })).toEqual({ seek: [], filters: ['trim=start_frame=0:end_frame=50'] });
    expect(decodePlan({ ...base, demuxer: 'mpegts' }, { start: 100, end: 150 }).seek).toEqual([]);
    expect(decodePlan({ ...base, demuxer: 'mov', vfr: true }, { start: 100, end: 150 }).filters[0]).toBe('fps=25/1');
  });
});

describe('which stream, and variable frame rates', () => {
  it('decodes the stream it probed: a 32×32 red stream 0 beside a 1280×720 blue stream 1', async () => {
    const file = await makeClip(path.join(dir, 'two-streams.mkv'), [
      '-f', 'lavfi', '-i', 'color=c=red:size=32x32:rate=24:duration=2',
      '-f', 'lavfi', '-i', 'color=c=blue:size=1280x720:rate=24:duration=2',
      '-map', '0:v', '-map', '1:v', '-c:v', 'libx264', '-pix_fmt', 'yuv420p',
    ]);
    const info = await probeVideo(file);
    expect([info.width, info.height, info.stream]).toEqual([32, 32, 0]);
    const [first] = await frames(file, info, { start: 0, end: 1 });
    const r = first![0]!;
    const b = first![2]!;
    expect(r).toBeGreaterThan(200);
    expect(b).toBeLessThan(60);
  });

  it('resamples a variable-rate stream to its average rate, keeping its duration', async () => {
    // 48 of 120 frames kept, irregularly: nominal 24 fps, 4.875 s.
    const file = await makeClip(path.join(dir, 'vfr.mp4'), [
      '-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=24', '-t', '5', '-vf', "select='lt(mod(n\\,5)\\,2)'", '-fps_mode', 'vfr', '-c:v', 'libx264',
    ]);
    const info = await probeVideo(file);
    expect(info.vfr).toBe(true);
    expect(info.fps).toBeGreaterThan(9);
    expect(info.fps).toBeLessThan(11);
    expect(info.frames / info.fps).toBeCloseTo(4.875, 1);
    const all = await frames(file, info, { start: 0, end: info.frames });
    expect(all.length).toBe(info.frames);
    const tail = await frames(file, info, { start: info.frames - 10, end: info.frames });
    expect(tail.length).toBe(10);
  });

  it('a constant-rate clip is not taken for variable-rate', async () => {
    const file = await makeClip(path.join(dir, 'cfr.mp4'), ['-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=24', '-t', '3', '-c:v', 'libx264']);
    const info = await probeVideo(file);
    expect(info.vfr).toBeUndefined();
    expect([info.fps, info.frames]).toEqual([24, 72]);
  });
});

describe('a variable-rate upload through a real server', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ workers: 1 });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('refuses a 10 000×16 video before any work, naming the limit (400)', async () => {
    const file = await makeClip(path.join(dir, 'sliver.mp4'), ['-f', 'lavfi', '-i', 'color=c=red:size=10000x16:rate=24:duration=1', '-c:v', 'libx264', '-pix_fmt', 'yuv420p']);
    const form = new FormData();
    form.append('video', new Blob([new Uint8Array(await readFile(file))]), 'sliver.mp4');
    const res = await fetch(`${server.url}/api/jobs`, { method: 'POST', body: form });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/10000×16: its longest side may be at most 4 times its shortest/);
  });

  it('comes back as long as it went in, beside its audio', async () => {
    const file = await makeClip(path.join(dir, 'vfr-audio.mp4'), [
      '-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=24', '-f', 'lavfi', '-i', 'sine=f=440:d=5', '-t', '5',
      '-vf', "select='lt(mod(n\\,5)\\,2)'", '-fps_mode', 'vfr', '-c:v', 'libx264', '-c:a', 'aac', '-shortest',
    ]);
    const before = await probe(file);
    const form = new FormData();
    form.append('video', new Blob([new Uint8Array(await readFile(file))]), 'vfr-audio.mp4');
    for (const [k, v] of Object.entries({ size: '32', stepsPerFrame: '0', firstFrameSteps: '1' })) form.append(k, v);
    const res = await fetch(`${server.url}/api/jobs`, { method: 'POST', body: form });
    expect(res.status, await res.clone().text()).toBe(202);
    const { id } = (await res.json()) as JobView;
    let job: JobView;
    for (const until = Date.now() + 120_000; ; ) {
      job = (await (await fetch(`${server.url}/api/jobs/${id}`)).json()) as JobView;
      if (['done', 'failed', 'canceled'].includes(job.status)) break;
      if (Date.now() > until) throw new Error(`job ${id} still ${job.status}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(job.status, job.error).toBe('done');
    const output = path.join(dir, `${id}.mp4`);
    await writeFile(output, new Uint8Array(await (await fetch(`${server.url}/api/jobs/${id}/output`)).arrayBuffer()));
    const after = await probe(output);
    // Today's bug: 48 frames played at 24 fps, 2 s of video beside 5 s of audio.
    expect(Math.abs(after.frames / after.fps - before.durationS)).toBeLessThan(0.3);
    expect(after.audio).toBeDefined();
  });
});
