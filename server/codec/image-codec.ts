/**
 * The only module that imports sharp: decode any image sharp reads (JPEG, PNG, WebP, GIF, TIFF,
 * AVIF; greyscale, CMYK, 16-bit, alpha) into packed 8-bit sRGB, and encode RGB back out.
 */
import { access, writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import sharp, { type Metadata } from 'sharp';
import { BadInputError, FileNotFoundError, NotAnImageError } from '../errors.js';
import type { RgbImage } from '../engine/image.js';

export interface DecodeOptions {
  /** Resize so the longer side is this many pixels (aspect ratio kept). */
  longSide?: number;
  /** With longSide: never let the shorter side fall below this (a panorama grows instead). */
  minShortSide?: number;
  /** Resize to exactly this size (ignores aspect ratio); wins over longSide. */
  exact?: { width: number; height: number };
  /** How to name the input in errors. */
  label?: string;
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
  try {
    let pipeline = sharp(input, { failOn: 'error' })
      .rotate() // honour EXIF orientation
      .toColourspace('srgb')
      // Transparent pixels are laid on white, as a viewer would show them.
      .flatten({ background: { r: 255, g: 255, b: 255 } })
      .removeAlpha();
    if (options.exact) {
      pipeline = pipeline.resize(options.exact.width, options.exact.height, { fit: 'fill' });
    } else if (options.longSide) {
      const { width, height } = await orientedSize(input);
      const scale = Math.max(options.longSide / Math.max(width, height), (options.minShortSide ?? 0) / Math.min(width, height));
      pipeline = pipeline.resize(Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale)), { fit: 'fill' });
    }
    const { data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded ${info.channels} channels, expected 3`);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  } catch (error) {
    throw new NotAnImageError(label, { cause: error });
  }
}

/** Scaled so the shorter side is `shortSide`, in even dimensions (they survive 4:2:0 video). */
export function sizeForShortSide(size: { width: number; height: number }, shortSide: number): { width: number; height: number } {
  const scale = shortSide / Math.min(size.width, size.height);
  const even = (v: number): number => Math.max(2, 2 * Math.round((v * scale) / 2));
  return { width: even(size.width), height: even(size.height) };
}

/** Width and height as displayed (EXIF orientations 5–8 swap them). */
async function orientedSize(input: string | Uint8Array): Promise<{ width: number; height: number }> {
  return displayed(await sharp(input).metadata());
}

function displayed(meta: Metadata): { width: number; height: number } {
  if (!meta.width || !meta.height) throw new Error('no dimensions');
  return (meta.orientation ?? 1) >= 5 ? { width: meta.height, height: meta.width } : { width: meta.width, height: meta.height };
}

/** Dimensions and format without decoding the pixels; NotAnImageError if it is not an image. */
export async function probeImage(input: Uint8Array, label = 'the image'): Promise<{ width: number; height: number; format: string }> {
  try {
    // One header read per call: this runs on every live frame.
    const meta = await sharp(input).metadata();
    if (!meta.format) throw new Error('no format');
    return { ...displayed(meta), format: meta.format };
  } catch (error) {
    throw new NotAnImageError(label, { cause: error });
  }
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

export async function writeImage(image: RgbImage, path: string): Promise<void> {
  await writeFile(path, await encodeImage(image, formatForPath(path), 92));
}
