/**
 * The only module that imports sharp: decode the raster images we accept (JPEG, PNG, WebP, GIF,
 * TIFF, AVIF; greyscale, CMYK, 16-bit, alpha) into packed 8-bit sRGB, and encode RGB back out.
 *
 * Every decode is bounded before any pixel is decoded: the format is sniffed from the first bytes
 * (SVG, PDF and anything else sharp could load are refused, so no client can make librsvg render
 * a filter bomb), the dimensions are read from the header and checked against one pixel limit,
 * and at most a few sharp operations run at once in this process, so image work can never take
 * the whole libuv thread pool from file and socket work (more waiting than that is refused).
 */
import { access, open, writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import sharp, { type Metadata } from 'sharp';
import { SERVER_DEFAULTS } from '../config.js';
import { BadInputError, BusyError, ErrorCode, FileNotFoundError, NotAnImageError, StylizeError } from '../errors.js';
import type { RgbImage } from '../engine/image.js';

/** The raster formats we decode, as sharp names them. */
export const DECODABLE_FORMATS = ['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif'] as const;
export type DecodableFormat = (typeof DECODABLE_FORMATS)[number];

/** sharp operations at once in this process, and how many may wait for a turn. */
const SHARP_CONCURRENCY = 2;
const SHARP_MAX_WAITING = 64;

export class ImageTooLargeError extends StylizeError {
  constructor(label: string, width: number, height: number, maxPixels: number) {
    super(
      ErrorCode.TOO_LARGE,
      `${label} is ${width}×${height} (${(width * height / 1e6).toFixed(1)} megapixels); the limit is ${(maxPixels / 1e6).toFixed(1)} megapixels`,
    );
  }
}

export interface DecodeOptions {
  /** Resize so the longer side is this many pixels (aspect ratio kept). */
  longSide?: number;
  /** With longSide: never let the shorter side fall below this (a panorama grows instead). */
  minShortSide?: number;
  /** Resize to exactly this size (ignores aspect ratio); wins over longSide. */
  exact?: { width: number; height: number };
  /** How to name the input in errors. */
  label?: string;
  /** Refuse images with more pixels than this (read from the header, before decoding). */
  maxPixels?: number;
  /** What probeImage() already said of this input (skips reading the header twice). */
  probed?: { width: number; height: number };
}

/**
 * The format by its first bytes, or undefined for anything we do not decode (SVG, PDF, HEIC…).
 * sharp would otherwise pick a loader itself, including ones that render vector documents.
 */
export function sniffImageFormat(head: Uint8Array): DecodableFormat | undefined {
  const at = (offset: number, ascii: string): boolean =>
    head.length >= offset + ascii.length && [...ascii].every((c, i) => head[offset + i] === c.charCodeAt(0));
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  if (head[0] === 0x89 && at(1, 'PNG\r\n\x1a\n')) return 'png';
  if (at(0, 'RIFF') && at(8, 'WEBP')) return 'webp';
  if (at(0, 'GIF87a') || at(0, 'GIF89a')) return 'gif';
  if (at(0, 'II*\0') || at(0, 'MM\0*')) return 'tiff';
  if (at(4, 'ftyp') && (at(8, 'avif') || at(8, 'avis'))) return 'avif';
  return undefined;
}

async function headOf(input: string | Uint8Array): Promise<Uint8Array> {
  if (typeof input !== 'string') return input.subarray(0, 32);
  const file = await open(input, 'r');
  try {
    const head = new Uint8Array(32);
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

// ---- a small gate in front of sharp -------------------------------------------------------------

let running = 0;
const waiting: (() => void)[] = [];

/** Runs `work` when fewer than SHARP_CONCURRENCY sharp operations are running; BusyError if too many wait. */
async function withSharp<T>(work: () => Promise<T>): Promise<T> {
  if (running >= SHARP_CONCURRENCY) {
    if (waiting.length >= SHARP_MAX_WAITING) throw new BusyError('too many images are being processed; try again shortly', 5);
    await new Promise<void>((resolve) => waiting.push(resolve));
  }
  running++;
  try {
    return await work();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

/** Decodes a file path or an in-memory encoded image. */
export async function decodeImage(input: string | Uint8Array, options: DecodeOptions = {}): Promise<RgbImage> {
  const label = options.label ?? (typeof input === 'string' ? input : 'the image');
  if (typeof input === 'string') {
    try {
      await access(input);
    } catch {
      throw new FileNotFoundError(input);
    }
  }
  const maxPixels = options.maxPixels ?? SERVER_DEFAULTS.maxImagePixels;
  // Format and size from the header only: nothing is decoded for a refused image.
  const { width, height } = options.probed ?? (await probeImage(input, label, maxPixels));
  return withSharp(async () => {
    try {
      let pipeline = sharp(input, { failOn: 'error', limitInputPixels: maxPixels })
        .rotate() // honour EXIF orientation
        .toColourspace('srgb')
        // Transparent pixels are laid on white, as a viewer would show them.
        .flatten({ background: { r: 255, g: 255, b: 255 } })
        .removeAlpha();
      if (options.exact) {
        pipeline = pipeline.resize(options.exact.width, options.exact.height, { fit: 'fill' });
      } else if (options.longSide) {
        const scale = Math.max(options.longSide / Math.max(width, height), (options.minShortSide ?? 0) / Math.min(width, height));
        pipeline = pipeline.resize(Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale)), { fit: 'fill' });
      }
      const { data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
      if (info.channels !== 3) throw new Error(`decoded ${info.channels} channels, expected 3`);
      return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
    } catch (error) {
      throw new NotAnImageError(label, { cause: error });
    }
  });
}

/** Scaled so the shorter side is `shortSide`, in even dimensions (they survive 4:2:0 video). */
export function sizeForShortSide(size: { width: number; height: number }, shortSide: number): { width: number; height: number } {
  const scale = shortSide / Math.min(size.width, size.height);
  const even = (v: number): number => Math.max(2, 2 * Math.round((v * scale) / 2));
  return { width: even(size.width), height: even(size.height) };
}

/** Width and height as displayed (EXIF orientations 5–8 swap them). */
function displayedOrUndefined(meta: Metadata): { width: number; height: number } | undefined {
  if (!meta.width || !meta.height) return undefined;
  return (meta.orientation ?? 1) >= 5 ? { width: meta.height, height: meta.width } : { width: meta.width, height: meta.height };
}

/**
 * Dimensions and format from the header, without decoding the pixels. NotAnImageError for
 * anything that is not one of DECODABLE_FORMATS (checked on the first bytes, before sharp sees
 * it); ImageTooLargeError when it has more than `maxPixels` pixels.
 */
export async function probeImage(
  input: string | Uint8Array,
  label = 'the image',
  maxPixels: number = SERVER_DEFAULTS.maxImagePixels,
): Promise<{ width: number; height: number; format: DecodableFormat }> {
  let meta: Metadata;
  let format: DecodableFormat | undefined;
  try {
    format = sniffImageFormat(await headOf(input));
    if (!format) throw new Error('not a format we decode');
    // One header read per call: this runs on every live frame.
    meta = await sharp(input, { limitInputPixels: false }).metadata();
  } catch (error) {
    throw new NotAnImageError(label, { cause: error });
  }
  const size = displayedOrUndefined(meta);
  if (!size || meta.format !== (format === 'avif' ? 'heif' : format)) {
    throw new NotAnImageError(label, { cause: new Error(`header says ${meta.format ?? 'nothing'}, bytes say ${format}`) });
  }
  if (size.width * size.height > maxPixels) throw new ImageTooLargeError(label, size.width, size.height, maxPixels);
  return { ...size, format };
}

export type ImageFormat = 'png' | 'jpeg' | 'webp';

/** The formats we write, by file extension: the one list every writer and the CLI check use. */
export const WRITABLE_IMAGE_EXTENSIONS: Readonly<Record<string, ImageFormat>> = {
  '.png': 'png',
  '.jpg': 'jpeg',
  '.jpeg': 'jpeg',
  '.webp': 'webp',
};

/**
 * The output format a file name asks for. An extension we cannot write is refused rather than
 * guessed: PNG bytes in a file named .gif would be a silent lie.
 */
export function formatForPath(file: string): ImageFormat {
  const ext = extname(file).toLowerCase();
  const format = WRITABLE_IMAGE_EXTENSIONS[ext];
  if (format) return format;
  const names = Object.keys(WRITABLE_IMAGE_EXTENSIONS);
  const choices = `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;
  throw new BadInputError(
    `cannot write ${file}: ${ext ? `${ext} is not an image format stylize writes` : 'the name has no extension'}; end it in ${choices}`,
  );
}

export async function encodeImage(
  image: RgbImage,
  format: ImageFormat,
  quality = 90,
  resizeTo?: { width: number; height: number },
): Promise<Buffer> {
  return withSharp(() => encodeWith(image, format, quality, resizeTo));
}

function encodeWith(image: RgbImage, format: ImageFormat, quality: number, resizeTo: { width: number; height: number } | undefined): Promise<Buffer> {
  let pipeline = sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } });
  if (resizeTo && (resizeTo.width !== image.width || resizeTo.height !== image.height)) {
    pipeline = pipeline.resize(resizeTo.width, resizeTo.height, { fit: 'fill', kernel: 'lanczos3' });
  }
  switch (format) {
    case 'jpeg':
      return pipeline.jpeg({ quality }).toBuffer();
    case 'webp':
      return pipeline.webp({ quality }).toBuffer();
    case 'png':
      return pipeline.png().toBuffer();
  }
}

/** sharp's resampling kernels, for resizeImage. */
export type ResizeKernel = 'linear' | 'cubic' | 'lanczos3';

/**
 * Raw RGB resized to exactly width × height (aspect ratio not kept): a live frame decoded once at
 * the stream size gives its working-size copy this way; benches use it for plain upscales.
 */
export async function resizeImage(image: RgbImage, size: { width: number; height: number }, kernel: ResizeKernel = 'lanczos3'): Promise<RgbImage> {
  if (size.width === image.width && size.height === image.height) return image;
  return withSharp(async () => {
    const { data, info } = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
      .resize(size.width, size.height, { fit: 'fill', kernel })
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  });
}

export async function writeImage(image: RgbImage, path: string): Promise<void> {
  await writeFile(path, await encodeImage(image, formatForPath(path), 92));
}
