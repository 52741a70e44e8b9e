/**
 * Learned painters kept between runs: one file per style and settings in `<dataDir>/painters/`,
 * named by a key over everything that changes what the painter should paint (the style image's
 * bytes, the loss network, the content and style weights, colour preservation, the painter's
 * shape). A painter trained for a style is loaded at once the next time that style is painted,
 * and goes on learning. Capped: at most `maxFiles` painters, the least recently used go first.
 * A damaged file is a warning and the shipped painter (or a fresh one), never a crash; a path that
 * cannot be used at all (a directory there) is said once, not on every frame.
 */
import { mkdir, readdir, rm, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import { WeightsError } from '../errors.js';
import { createPainterNet, type PainterNet } from '../engine/painter-net/painter-net.js';
import { DEFAULT_PAINTER_SHAPE, PAINTER_EXTENSION, painterKey, type PainterFor } from '../engine/painter-net/painter-key.js';
import { loadPainter, readPainterFile, savePainter, type PainterMeta } from '../engine/painter-net/painter-store.js';

export const DEFAULT_MAX_PAINTERS = 32;

export { painterKey, type PainterFor } from '../engine/painter-net/painter-key.js';

export interface CachedPainter {
  painter: PainterNet;
  meta: PainterMeta;
  /** false: no painter was kept for this key (or it was damaged): a fresh one that paints the photo. */
  learned: boolean;
}

export interface PainterListing {
  key: string;
  file: string;
  bytes: number;
  modified: Date;
  meta?: PainterMeta;
  /** Why the file cannot be used (it is then replaced the next time its style is painted). */
  problem?: string;
}

export interface PainterCache {
  readonly dir: string;
  /** The kept painter for `what`, or a fresh one (a damaged file is reported to `warn`, then ignored). */
  open(what: PainterFor): Promise<CachedPainter>;
  /** Keeps `painter` for `what` (atomic write), then drops the least recently used beyond the cap. */
  save(what: PainterFor, painter: PainterNet, meta: PainterMeta): Promise<void>;
  list(): Promise<PainterListing[]>;
  /** Deletes every kept painter; resolves with how many. */
  clear(): Promise<number>;
}

const isFileSystemError = (error: unknown): boolean => typeof (error as NodeJS.ErrnoException | undefined)?.code === 'string' && /^E[A-Z]+$/.test((error as NodeJS.ErrnoException).code ?? '');

/** A painter that has learnt nothing for `what` (it paints the photo unchanged). */
export function freshPainter(what: PainterFor): CachedPainter {
  return {
    painter: createPainterNet(what.shape ?? DEFAULT_PAINTER_SHAPE),
    meta: { style: what.styleName, contentWeight: what.contentWeight, styleWeight: what.styleWeight, steps: 0, framesSeen: 0 },
    learned: false,
  };
}

/**
 * `shipped`: a read-only folder of painters that come with the project (models/painters, made by
 * `stylize painters train`), used when this cache has none for a key; what is learnt from one is
 * saved here, never there.
 */
export function createPainterCache(dir: string, options: { maxFiles?: number; warn?: (message: string) => void; shipped?: string } = {}): PainterCache {
  const maxFiles = options.maxFiles ?? DEFAULT_MAX_PAINTERS;
  const fileFor = (key: string): string => path.join(dir, `${key}${PAINTER_EXTENSION}`);

  /**
   * Keys whose file can be neither read nor written (a directory at its path, no permission):
   * said once, then nothing is kept for them until the server restarts — not a warning a frame.
   */
  const unusable = new Set<string>();
  function markUnusable(key: string, file: string, error: unknown): void {
    if (unusable.has(key)) return;
    unusable.add(key);
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    options.warn?.(`${file} cannot be used (${code}): nothing is kept for this style until the server restarts`);
  }

  const shippedFor = (what: PainterFor): Promise<CachedPainter | undefined> => shippedPainter(what, options.shipped, options.warn);
  const files = (): Promise<KeptFile[]> => keptFiles(dir);

  return {
    dir,
    async open(what) {
      const key = painterKey(what);
      const file = fileFor(key);
      const fallback = async (): Promise<CachedPainter> => (await shippedFor(what)) ?? freshPainter(what);
      if (unusable.has(key)) return fallback();
      try {
        const { painter, meta } = await loadPainter(file);
        const now = new Date();
        await utimes(file, now, now).catch(() => undefined); // recently used: kept longest
        return { painter, meta, learned: true };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return fallback();
        if (error instanceof WeightsError) {
          // A damaged kept painter: the shipped one (if any) paints, never a fresh one shadowing it.
          options.warn?.(`${error.message} (ignored: ${options.shipped ? 'the shipped painter, or ' : ''}a new painter paints instead)`);
          await rm(file, { force: true });
          return fallback();
        }
        markUnusable(key, file, error);
        return fallback();
      }
    },
    async save(what, painter, meta) {
      const key = painterKey(what);
      if (unusable.has(key)) return;
      try {
        await mkdir(dir, { recursive: true });
        await savePainter(fileFor(key), painter, meta);
      } catch (error) {
        if (!isFileSystemError(error)) throw error;
        markUnusable(key, fileFor(key), error);
        return;
      }
      for (const old of (await files()).slice(maxFiles)) await rm(old.file, { force: true });
    },
    async list() {
      const out: PainterListing[] = [];
      for (const f of await files()) {
        try {
          const { meta } = await readPainterFile(f.file);
          out.push({ ...f, meta });
        } catch (error) {
          out.push({ ...f, problem: (error as Error).message });
        }
      }
      return out;
    },
    async clear() {
      const all = await files();
      for (const f of all) await rm(f.file, { force: true });
      return all.length;
    },
  };
}

interface KeptFile {
  key: string;
  file: string;
  bytes: number;
  modified: Date;
}

/** The painters kept in `dir`, most recently used first. */
async function keptFiles(dir: string): Promise<KeptFile[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const out = [];
  for (const name of names.filter((n) => n.endsWith(PAINTER_EXTENSION))) {
    const file = path.join(dir, name);
    const s = await stat(file).catch(() => undefined);
    if (s) out.push({ key: name.slice(0, -PAINTER_EXTENSION.length), file, bytes: s.size, modified: s.mtime });
  }
  return out.sort((a, b) => b.modified.getTime() - a.modified.getTime());
}

/** The shipped painter for `what` in `shipped`, if there is a sound one. */
async function shippedPainter(what: PainterFor, shipped: string | undefined, warn: ((message: string) => void) | undefined): Promise<CachedPainter | undefined> {
  if (!shipped) return undefined;
  const file = path.join(shipped, `${painterKey(what)}${PAINTER_EXTENSION}`);
  try {
    const { painter, meta } = await loadPainter(file);
    return { painter, meta, learned: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') warn?.(`${(error as Error).message} (a shipped painter; ignored: a new painter learns instead)`);
    return undefined;
  }
}
