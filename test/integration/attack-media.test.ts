/**
 * The abuse drivers' own files are what they claim to be (the attacks measure nothing if the
 * bomb is not a bomb): checked with sharp and ffprobe, as the server would see them.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  filterBombSvg,
  jpegFrameHeader,
  liveFrame,
  longestWait,
  makeFfmpegFailingVideo,
  makeLyingDurationMkv,
  multipart,
  pixelBombJpeg,
  sceneJpeg,
  windowStats,
} from '../helpers/attacks.js';
import { tempDir } from '../helpers/paths.js';

const run = promisify(execFile);
let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir('stylize-attack-media-')));
afterAll(() => cleanup());

describe('attack files', () => {
  it('the pixel bomb is ~500 bytes of progressive JPEG whose header claims 16383×16383', async () => {
    const bomb = await pixelBombJpeg();
    expect(bomb.length).toBeLessThan(600);
    const meta = await sharp(bomb).metadata();
    expect([meta.format, meta.width, meta.height, meta.isProgressive]).toEqual(['jpeg', 16383, 16383, true]);
    expect(jpegFrameHeader(bomb).marker).toBe(0xc2);
  });

  it('the filter-bomb SVG is ~310 KB and 6000×6000', async () => {
    const svg = filterBombSvg();
    expect(svg.length).toBeGreaterThan(290_000);
    expect(svg.length).toBeLessThan(330_000);
    const meta = await sharp(svg).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['svg', 6000, 6000]);
  });

  it('the lying MKV says 10 s to ffprobe but holds every frame', async () => {
    const file = await makeLyingDurationMkv(path.join(dir, 'lie.mkv'), { frames: 900 });
    const { stdout } = await run('ffprobe', ['-v', 'error', '-count_packets', '-show_entries', 'format=duration:stream=nb_read_packets', '-of', 'json', file]);
    const data = JSON.parse(stdout) as { format: { duration: string }; streams: { nb_read_packets: string }[] };
    expect(Number(data.format.duration)).toBe(10);
    expect(Number(data.streams[0]!.nb_read_packets)).toBe(900);
  });

  it('the failing video probes as a video but does not decode', async () => {
    const file = await makeFfmpegFailingVideo(path.join(dir, 'fail.avi'));
    const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', file]);
    expect(stdout.trim()).toBe('64,36');
    await expect(run('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-'])).rejects.toThrow(/Decoder .* not found/);
  });
});

describe('attack helpers', () => {
  it('a live frame is the 8-byte header then the JPEG', async () => {
    const jpeg = await sceneJpeg(64, 36);
    const frame = liveFrame(7, jpeg, 1234);
    expect([frame.readUInt32BE(0), frame.readUInt32BE(4)]).toEqual([7, 1234]);
    expect(frame.subarray(8).equals(jpeg)).toBe(true);
    expect(jpegFrameHeader(jpeg)).toMatchObject({ width: 64, height: 36 });
  });

  it('multipart bodies name their parts and end with the closing boundary', () => {
    const { body, contentType } = multipart([{ name: 'style', data: 'swirls' }, { name: 'video', filename: 'a.mp4', data: Buffer.from([1, 2]) }], 'B');
    expect(contentType).toBe('multipart/form-data; boundary=B');
    const text = body.toString('latin1');
    expect(text).toContain('Content-Disposition: form-data; name="style"\r\n\r\nswirls\r\n');
    expect(text).toContain('name="video"; filename="a.mp4"\r\nContent-Type: application/octet-stream');
    expect(text.endsWith('--B--\r\n')).toBe(true);
  });

  it('window statistics count an unanswered sample with its age so far', () => {
    const samples = [{ sentAt: 0, ms: 100 }, { sentAt: 10, ms: 300 }, { sentAt: 20 }, { sentAt: 500, ms: 1, status: 0 }];
    const stats = windowStats(samples, 0, 100, 1020);
    expect(stats).toEqual({ n: 3, unanswered: 1, failed: 0, p50: 300, p99: 1000, max: 1000 });
    expect(windowStats(samples, 400, 600, 1020).failed).toBe(1);
    expect(longestWait(samples, 0, 2000, 1020)).toBe(1000);
  });
});
