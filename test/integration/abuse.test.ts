/**
 * The attacks of issue 10 that the other limit tests do not already replay, with the bench's own
 * attack files (test/helpers/attacks): a Matroska whose Duration lies, a filter-bomb SVG, a
 * header bomb as a job's style image, an ffmpeg-undecodable video, and a full disk for real
 * (a small tmpfs filled to the last byte) — including a restart with a pending job on it.
 */
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSmallFilesystem, fillFilesystem, type SmallFilesystem } from '../helpers/attacks/disk.js';
import { filterBombSvg, makeFfmpegFailingVideo, makeLyingDurationMkv, makeSmallVideo, pixelBombJpeg, sceneJpeg } from '../helpers/attacks/media.js';
import { tempDir } from '../helpers/paths.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let dir: string;
let cleanup: () => Promise<void>;
let server: TestServer;
let small: string;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('stylize-abuse-'));
  server = await startTestServer({ engine: 'passthrough', workers: 1 });
  small = await makeSmallVideo(path.join(dir, 'small.mp4'));
});
afterAll(async () => {
  await server?.close();
  await cleanup();
});

async function postJob(target: TestServer, video: string, extra: (form: FormData) => void = () => undefined): Promise<Response> {
  const form = new FormData();
  form.append('video', new Blob([new Uint8Array(await readFile(video))]), path.basename(video));
  for (const [k, v] of Object.entries({ size: '32', stepsPerFrame: '1', firstFrameSteps: '1' })) form.append(k, v);
  extra(form);
  return fetch(`${target.url}/api/jobs`, { method: 'POST', body: form });
}

const errorOf = async (res: Response): Promise<{ code: string; message: string }> => ((await res.json()) as { error: { code: string; message: string } }).error;

describe('videos that lie, images that explode', () => {
  it('an MKV whose Duration says 10 s over 700 s of frames is refused: the frames are counted', async () => {
    const mkv = await makeLyingDurationMkv(path.join(dir, 'lying.mkv'), { frames: 700 * 30 });
    const res = await postJob(server, mkv);
    expect(res.status).toBe(400);
    expect((await errorOf(res)).message).toMatch(/video is 700 s long; the limit is 600 s/);
    expect(await readdir(path.join(server.dataDir, 'jobs')).catch(() => [])).toEqual([]);
  });

  it('a header bomb as a job\'s style image: 413 before anything is stored, and only after the video is checked', async () => {
    const bomb = await pixelBombJpeg();
    const withBomb = (form: FormData): void => form.append('styleImage', new Blob([new Uint8Array(bomb)]), 'style.jpg');
    const res = await postJob(server, small, withBomb);
    expect(res.status).toBe(413);
    expect((await errorOf(res)).message).toMatch(/16383×16383/);
    // A bad video with the same bomb is refused for the video: the style is never decoded.
    const notVideo = path.join(dir, 'notes.mp4');
    await writeFile(notVideo, 'not a video');
    const first = await postJob(server, notVideo, withBomb);
    expect(first.status).toBe(400);
    expect(await readdir(path.join(server.dataDir, 'jobs')).catch(() => [])).toEqual([]);
  });

  it('the bench\'s filter-bomb SVG upload is refused at once', async () => {
    const form = new FormData();
    form.append('image', new Blob([new Uint8Array(filterBombSvg())], { type: 'image/svg+xml' }), 'bomb.svg');
    const started = performance.now();
    const res = await fetch(`${server.url}/api/styles`, { method: 'POST', body: form });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe('NOT_AN_IMAGE');
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('a video ffprobe accepts but ffmpeg cannot decode fails in our words', async () => {
    const res = await postJob(server, await makeFfmpegFailingVideo(path.join(dir, 'undecodable.avi')));
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    let job: { status: string; error?: string } = { status: 'queued' };
    for (let i = 0; i < 600 && !['done', 'failed'].includes(job.status); i++) {
      await new Promise((r) => setTimeout(r, 100));
      job = (await (await fetch(`${server.url}/api/jobs/${id}`)).json()) as typeof job;
    }
    expect(job.status).toBe('failed');
    expect(job.error).toBe('decoding failed (ffmpeg could not process the video)');
  });
});

describe('a full disk', () => {
  let fs: SmallFilesystem | undefined;
  afterAll(() => fs?.remove());

  it('answers 507 NO_SPACE, leaves no job behind, and a restart with a pending job still starts', async () => {
    try {
      fs = await createSmallFilesystem(32);
    } catch (error) {
      // No permission to mount here: the kernel's ENOSPC through a file that cannot grow
      // (/dev/full) on the style route, where the file name is known in advance.
      expect(String(error)).toMatch(/cannot mount/);
      return await styleUploadOntoDevFull();
    }
    const dataDir = path.join(fs.dir, 'data');
    let full: TestServer | undefined = await startTestServer({ engine: 'passthrough', workers: 1, minFreeBytes: 0 }, { dataDir });
    try {
      // A job that will be pending when the disk fills up (the server resumes it at its next start).
      const jobDir = path.join(dataDir, 'jobs', '0123456789abcdef');
      await mkdir(jobDir, { recursive: true });
      await writeFile(
        path.join(jobDir, 'job.json'),
        JSON.stringify({ id: '0123456789abcdef', status: 'queued', createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z', inputName: 'a.mp4', styleName: 's', options: {}, chunksDone: [], framesDone: 0, framesTotal: 0 }),
      );
      await fillFilesystem(fs.dir);
      const job = await postJob(full, small);
      expect(job.status).toBe(507);
      expect((await errorOf(job)).code).toBe('NO_SPACE');
      const form = new FormData();
      form.append('image', new Blob([new Uint8Array(await sceneJpeg(64, 48))]), 'style.jpg');
      const style = await fetch(`${full.url}/api/styles`, { method: 'POST', body: form });
      expect(style.status).toBe(507);
      expect(await readdir(path.join(dataDir, 'jobs'))).toEqual(['0123456789abcdef']); // no new job
      await full.close();
      full = undefined;
      // Restarted on the full disk with that job pending: it cannot write the job back, and starts anyway.
      full = await startTestServer({ engine: 'passthrough', workers: 1, minFreeBytes: 0 }, { dataDir });
      expect((await fetch(`${full.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${full.url}/api/styles`)).status).toBe(200);
    } finally {
      await full?.close();
    }
  });
});

/** Without a small file system: a style upload whose file is /dev/full gets the kernel's ENOSPC. */
async function styleUploadOntoDevFull(): Promise<void> {
  const bytes = await sceneJpeg(64, 48);
  const id = `user-${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}`;
  await mkdir(path.join(server.dataDir, 'styles'), { recursive: true });
  await symlink('/dev/full', path.join(server.dataDir, 'styles', `${id}.png`));
  const form = new FormData();
  form.append('image', new Blob([new Uint8Array(bytes)]), 'style.jpg');
  const res = await fetch(`${server.url}/api/styles`, { method: 'POST', body: form });
  expect(res.status).toBe(507);
  expect((await errorOf(res)).code).toBe('NO_SPACE');
}
