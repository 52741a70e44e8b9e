/**
 * Where style images come from: the built-in public-domain paintings (models/paintings/, the
 * first is the default), built-in patterns drawn by code, image files in the styles directory
 * (`--styles-dir`, default models/styles/), and images people upload (kept under the data
 * directory, so they survive a restart). Decoded pixels are cached per size.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { decodeImage, encodeImage, probeImage } from '../codec/image-codec.js';
import type { RgbImage } from '../engine/image.js';
import { StylizeError, ErrorCode } from '../errors.js';
import { PAINTINGS_DIR } from '../paths.js';
import { PAINTINGS } from './paintings.js';
import { drawMosaic, drawRipples, drawStrokes, drawSwirls } from './patterns.js';
import { makeRoomForUpload, recordOwner, sweepUploads, touchUpload, type UploadLimits } from './upload-quota.js';

export interface StyleInfo {
  id: string;
  name: string;
  /** Where the browser fetches the image. */
  url: string;
  source: 'built-in' | 'directory' | 'upload';
}

export class UnknownStyleError extends StylizeError {
  constructor(id: string) {
    super(ErrorCode.UNKNOWN_STYLE, `no style "${id}"; GET /api/styles lists them`);
  }
}

const BUILT_IN = [
  { id: 'swirls', name: 'Swirls', draw: drawSwirls },
  { id: 'strokes', name: 'Strokes', draw: drawStrokes },
  { id: 'ripples', name: 'Ripples', draw: drawRipples },
  { id: 'mosaic', name: 'Mosaic', draw: drawMosaic },
];
const BUILT_IN_SIZE = 512;

/** The ids of the built-in styles, paintings first (the first is the default): what `--style` takes besides files. */
export function builtInStyleIds(): string[] {
  return [...PAINTINGS.map((p) => p.id), ...BUILT_IN.map((b) => b.id)];
}
const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif']);
/** Uploads are stored at most this large (long side): plenty for a style at any working size. */
const MAX_STORED_SIDE = 1024;

export interface StyleLibraryOptions {
  stylesDir: string;
  uploadsDir: string;
  /** The one pixel limit for decoding an image (default: the server's). */
  maxImagePixels?: number;
  /** What uploads may keep of the disk (default: no limit). */
  uploads?: UploadLimits;
}

export interface StyleLibrary {
  list(): Promise<StyleInfo[]>;
  has(id: string): Promise<boolean>;
  /** The encoded image for the browser. */
  image(id: string): Promise<{ bytes: Buffer; contentType: string }>;
  /** Decoded for the engine: long side `longSide` pixels (short side at least `minShortSide`). */
  decoded(id: string, longSide: number, minShortSide: number): Promise<RgbImage>;
  /**
   * Validates and stores an uploaded image; returns its id (the same bytes give the same id).
   * `client` (an address) counts against its quota (upload-quota.ts).
   */
  add(bytes: Uint8Array, originalName?: string, client?: string): Promise<StyleInfo>;
  /** Deletes the uploads nobody painted with for the retention time; returns their ids. */
  sweep(): Promise<string[]>;
  readonly defaultId: string;
}

export function createStyleLibrary(options: StyleLibraryOptions): StyleLibrary {
  const builtInPng = new Map<string, Promise<Buffer>>();
  const decodedCache = new Map<string, Promise<RgbImage>>();

  async function all(): Promise<StyleEntry[]> {
    return [...paintings, ...patterns, ...(await filesIn(options.stylesDir, 'directory')), ...(await filesIn(options.uploadsDir, 'upload'))];
  }

  async function find(id: string): Promise<StyleEntry> {
    const style = (await all()).find((s) => s.id === id);
    if (!style) throw new UnknownStyleError(id);
    return style;
  }

  async function bytesOf(id: string): Promise<Buffer> {
    const style = await find(id);
    if (style.file) return readFile(style.file);
    let png = builtInPng.get(id);
    if (!png) {
      const draw = BUILT_IN.find((b) => b.id === id)!.draw;
      png = encodeImage(draw(BUILT_IN_SIZE, BUILT_IN_SIZE), 'png');
      builtInPng.set(id, png);
    }
    return png;
  }

  return {
    defaultId: paintings[0]!.id,
    list: async () => (await all()).map(({ id, name, url, source }) => ({ id, name, url, source })),
    has: async (id) => (await all()).some((s) => s.id === id),
    async image(id) {
      const style = await find(id);
      const ext = style.file ? path.extname(style.file).toLowerCase().slice(1) : 'png';
      const type = ext === 'jpg' ? 'jpeg' : ext === 'tif' ? 'tiff' : ext;
      return { bytes: await bytesOf(id), contentType: `image/${type}` };
    },
    decoded(id, longSide, minShortSide) {
      const key = `${id}@${longSide}/${minShortSide}`;
      // Painted with: an upload used now is the last to be deleted for room or age.
      if (id.startsWith('user-')) void find(id).then((s) => (s.file ? touchUpload(s.file) : undefined), () => undefined);
      let cached = decodedCache.get(key);
      if (!cached) {
        cached = bytesOf(id).then((bytes) => decodeImage(bytes, { longSide, minShortSide, label: `style ${id}`, maxPixels: options.maxImagePixels }));
        cached.catch(() => decodedCache.delete(key));
        if (decodedCache.size > 32) decodedCache.delete(decodedCache.keys().next().value!);
        decodedCache.set(key, cached);
      }
      return cached;
    },
    add: (bytes, originalName, client) => storeUpload(options, bytes, originalName, client),
    sweep: async () => (options.uploads ? sweepUploads(options.uploadsDir, options.uploads.retentionMs) : []),
  };
}

type StyleEntry = StyleInfo & { file?: string };

/** The built-in paintings (models/paintings/), the first is the default. */
const paintings: (StyleEntry & { file: string })[] = PAINTINGS.map((p) => ({
  id: p.id,
  name: p.name,
  url: `/api/styles/${p.id}/image`,
  source: 'built-in' as const,
  file: path.join(PAINTINGS_DIR, p.file),
}));
/** The built-in patterns, drawn by code. */
const patterns: StyleEntry[] = BUILT_IN.map((b) => ({ id: b.id, name: b.name, url: `/api/styles/${b.id}/image`, source: 'built-in' as const }));

/** The image files in `dir` as styles (none if it does not exist). */
async function filesIn(dir: string, source: StyleInfo['source']): Promise<(StyleInfo & { file: string })[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names
    .filter((n) => IMAGE_EXTENSIONS.has(path.extname(n).toLowerCase()))
    .sort()
    .map((n) => {
      const stem = path.basename(n, path.extname(n));
      const id = source === 'upload' ? stem : `dir-${slug(stem)}`;
      return { id, name: source === 'upload' ? 'Your style' : title(stem), url: `/api/styles/${id}/image`, source, file: path.join(dir, n) };
    });
}

/** Validates an uploaded image and stores it as PNG under its content hash; returns its style. */
async function storeUpload(options: StyleLibraryOptions, bytes: Uint8Array, originalName: string | undefined, client: string | undefined): Promise<StyleInfo> {
  const label = originalName ? `uploaded file ${originalName}` : 'the uploaded file';
  // Format (no SVG) and size from the header: a refused upload costs no decode.
  const { width, height } = await probeImage(bytes, label, options.maxImagePixels);
  const id = `user-${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}`;
  // Quota and room before any decode: a refused upload costs no pixels.
  if (options.uploads) await makeRoomForUpload(options.uploadsDir, id, client, options.uploads);
  // Stored re-encoded as PNG: what is on disk is always a clean image we made ourselves.
  const longSide = Math.min(MAX_STORED_SIDE, Math.max(width, height));
  const png = await encodeImage(await decodeImage(bytes, { longSide, label, probed: { width, height } }), 'png');
  await mkdir(options.uploadsDir, { recursive: true });
  await writeFile(path.join(options.uploadsDir, `${id}.png`), png);
  if (options.uploads) await recordOwner(options.uploadsDir, id, client);
  return { id, name: 'Your style', url: `/api/styles/${id}/image`, source: 'upload' };
}

function slug(stem: string): string {
  return stem.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'style';
}

function title(stem: string): string {
  return stem.replace(/[_-]+/g, ' ').replace(/\b\w/g, (c) => c.toUpperCase());
}
