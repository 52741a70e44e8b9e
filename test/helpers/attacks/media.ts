/**
 * The files the attacks send, all made by code (deterministic, nothing downloaded): real-looking
 * JPEGs, a pixel-bomb JPEG, a filter-bomb SVG, small test videos, an MKV that lies about its
 * length and a video whose final assembly makes ffmpeg fail.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { drawScene } from '../../../fixtures/draw.js';

const run = promisify(execFile);

async function ffmpeg(args: string[]): Promise<void> {
  await run('ffmpeg', ['-v', 'error', '-y', ...args], { maxBuffer: 16 * 1024 * 1024 });
}

/** The landscape scene of fixtures/draw.ts as a baseline JPEG (what a webcam page sends). */
export async function sceneJpeg(width: number, height: number, quality = 80): Promise<Buffer> {
  const image = drawScene(width, height);
  return sharp(Buffer.from(image.data), { raw: { width, height, channels: 3 } }).jpeg({ quality }).toBuffer();
}

/** Width and height a JPEG's frame header (SOF0…SOF15, not DHT/JPG/DAC) claims, and where they sit. */
export function jpegFrameHeader(jpeg: Uint8Array): { offset: number; width: number; height: number; marker: number } {
  let i = 2; // after SOI
  while (i + 4 <= jpeg.length) {
    if (jpeg[i] !== 0xff) throw new Error(`no marker at byte ${i}`);
    const marker = jpeg[i + 1]!;
    const length = (jpeg[i + 2]! << 8) | jpeg[i + 3]!;
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      // FFCn, length, precision, height (2), width (2)
      const height = (jpeg[i + 5]! << 8) | jpeg[i + 6]!;
      const width = (jpeg[i + 7]! << 8) | jpeg[i + 8]!;
      return { offset: i, width, height, marker };
    }
    i += 2 + length;
  }
  throw new Error('no frame header in the JPEG');
}

/**
 * A few hundred bytes of progressive JPEG whose SOF2 header claims `claimed`×`claimed` pixels
 * (16383² is exactly sharp's default limitInputPixels, so sharp does not refuse it up front).
 * Made by encoding a tiny 8×8 progressive JPEG and patching the header's height and width: the
 * scans then hold far less data than the header promises, and a decoder that trusts the header
 * allocates for the whole claimed image.
 */
export async function pixelBombJpeg(claimed = 16383): Promise<Buffer> {
  const tiny = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 90, g: 140, b: 200 } } })
    .jpeg({ progressive: true, quality: 50, chromaSubsampling: '4:4:4' })
    .toBuffer();
  const header = jpegFrameHeader(tiny);
  if (header.marker !== 0xc2) throw new Error(`expected a progressive (SOF2) JPEG, got marker 0x${header.marker.toString(16)}`);
  const bomb = Buffer.from(tiny);
  bomb.writeUInt16BE(claimed, header.offset + 5);
  bomb.writeUInt16BE(claimed, header.offset + 7);
  return bomb;
}

/**
 * An SVG of `size`×`size` whose one filter chains `primitives` expensive primitives
 * (turbulence, blurs, convolution, morphology, lighting): tiny to send, minutes of rasterising.
 * About 73 bytes per primitive: 4250 primitives ≈ 310 KB.
 */
export function filterBombSvg({ primitives = 4250, size = 6000 }: { primitives?: number; size?: number } = {}): Buffer {
  const kinds = [
    (i: number) => `<feTurbulence baseFrequency="0.0${(i % 9) + 1}" numOctaves="9" result="r${i}"/>`,
    (i: number) => `<feGaussianBlur in="r${i - 1}" stdDeviation="${40 + (i % 50)}" result="r${i}"/>`,
    (i: number) => `<feMorphology in="r${i - 1}" operator="dilate" radius="60" result="r${i}"/>`,
    (i: number) => `<feConvolveMatrix in="r${i - 1}" order="3" kernelMatrix="${'1 '.repeat(9).trim()}" result="r${i}"/>`,
    (i: number) => `<feDiffuseLighting in="r${i - 1}" result="r${i}"><feDistantLight/></feDiffuseLighting>`,
  ];
  const body: string[] = [];
  for (let i = 0; i < primitives; i++) body.push(kinds[i === 0 ? 0 : i % kinds.length]!(i));
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}">` +
    `<filter id="f" x="0" y="0" width="100%" height="100%" filterUnits="userSpaceOnUse">${body.join('')}</filter>` +
    `<rect width="${size}" height="${size}" fill="#4a7" filter="url(#f)"/></svg>`;
  return Buffer.from(svg);
}

/** A small valid H.264 video (lavfi testsrc) with an optional sine audio track. */
export async function makeSmallVideo(
  file: string,
  { seconds = 1, width = 64, height = 36, fps = 10, audio = false }: { seconds?: number; width?: number; height?: number; fps?: number; audio?: boolean } = {},
): Promise<string> {
  const audioArgs = audio ? ['-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}`, '-c:a', 'aac', '-shortest'] : [];
  await ffmpeg([
    '-f', 'lavfi', '-i', `testsrc=size=${width}x${height}:rate=${fps}:duration=${seconds}`,
    ...audioArgs,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', file,
  ]);
  return file;
}

/**
 * Matroska whose Segment Info Duration says `claimedSeconds` but which holds `frames` frames
 * (108 000 = an hour at 30 fps). Tiny picture, so even an hour is a few MB and ~10 s to make.
 */
export async function makeLyingDurationMkv(file: string, { frames, fps = 30, claimedSeconds = 10 }: { frames: number; fps?: number; claimedSeconds?: number }): Promise<string> {
  await ffmpeg([
    '-f', 'lavfi', '-i', `testsrc=size=32x32:rate=${fps}`,
    '-frames:v', String(frames), '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '300', '-pix_fmt', 'yuv420p', '-f', 'matroska', file,
  ]);
  await writeFile(file, patchMatroskaDuration(await readFile(file), claimedSeconds));
  return file;
}

/**
 * Rewrites the Segment Info Duration (EBML ID 0x4489, a float in TimecodeScale units, ms by
 * default) and every per-track "DURATION" tag ("HH:MM:SS.nnnnnnnnn", same length) to `seconds`.
 */
export function patchMatroskaDuration(mkv: Buffer, seconds: number): Buffer {
  const out = Buffer.from(mkv);
  const scaleAt = out.indexOf(Buffer.from([0x2a, 0xd7, 0xb1]));
  let timecodeScale = 1_000_000;
  if (scaleAt >= 0) {
    const size = out[scaleAt + 3]! & 0x7f; // one-byte size descriptor (0x8n) as ffmpeg writes it
    timecodeScale = out.readUIntBE(scaleAt + 4, size);
  }
  const durationAt = out.indexOf(Buffer.from([0x44, 0x89]));
  if (durationAt < 0) throw new Error('no Duration element in the Matroska file');
  const size = out[durationAt + 2]! & 0x7f;
  const units = (seconds * 1e9) / timecodeScale;
  if (size === 8) out.writeDoubleBE(units, durationAt + 3);
  else if (size === 4) out.writeFloatBE(units, durationAt + 3);
  else throw new Error(`unexpected Duration size ${size}`);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const text = `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${s.toFixed(9).padStart(12, '0')}`;
  for (let at = out.indexOf('DURATION'); at >= 0; at = out.indexOf('DURATION', at + 8)) {
    // SimpleTag: TagName "DURATION" then TagString (0x4487, size, "HH:MM:SS.nnnnnnnnn").
    const stringAt = out.indexOf(Buffer.from([0x44, 0x87]), at);
    if (stringAt < 0 || stringAt > at + 16) continue;
    // ffmpeg reserves 20 bytes for the text (NUL-padded).
    const length = out[stringAt + 2]! & 0x7f;
    if (length < text.length) continue;
    out.fill(0, stringAt + 3, stringAt + 3 + length);
    out.write(text, stringAt + 3, 'latin1');
  }
  return out;
}

/**
 * An AVI that ffprobe accepts (a video stream, 64×36, 10 fps) but ffmpeg cannot decode: its
 * codec is ffmpeg's encoder-only "a64multi" (Commodore 64 charset), so a job's decoding fails
 * with "Decoder (codec none) not found".
 */
export async function makeFfmpegFailingVideo(file: string): Promise<string> {
  // Four frames make one packet, and the AVI header then declares one frame, as ffprobe counts.
  await ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=64x36:rate=10', '-frames:v', '4', '-c:v', 'a64multi', '-f', 'avi', file]);
  return file;
}
