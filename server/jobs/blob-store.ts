/**
 * A job's files addressed by keys instead of paths: `<job id>/input`, `<job id>/style-image`,
 * `<job id>/chunks/00003.mp4`, `<job id>/preview.jpg`, `<job id>/output.mp4`. The file store keeps
 * them under `<data-dir>/jobs/` (the layout job.json sits in); on the worker farm, workers reach
 * the gateway's file store through its authenticated endpoints (jobs/farm/http-blob-client.ts). Writes
 * are atomic (temp file + rename): a reader sees a whole blob or none.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export const BLOB = {
  input: (id: string) => `${id}/input`,
  style: (id: string) => `${id}/style-image`,
  chunk: (id: string, index: number) => `${id}/chunks/${String(index).padStart(5, '0')}.mp4`,
  preview: (id: string) => `${id}/preview.jpg`,
  output: (id: string) => `${id}/output.mp4`,
} as const;

/** Keys are ours, never a client's path: a job id, then plain names. */
const KEY = /^[a-z0-9]{16}(\/[a-z0-9][a-z0-9._-]{0,63}){1,2}$/;

export function isBlobKey(key: string): boolean {
  return KEY.test(key) && !key.includes('..');
}

/** A job id as the repositories make them (16 hex-ish lower-case letters and digits). */
export const JOB_ID = /^[a-z0-9]{16}$/;
/** Exactly the names BLOB makes: what another process of the farm may ask for or store. */
const KNOWN_KEY = /^[a-z0-9]{16}\/(input|style-image|preview\.jpg|output\.mp4|chunks\/\d{5}\.mp4)$/;

export function isKnownBlobKey(key: string): boolean {
  return KNOWN_KEY.test(key);
}

/** A chunk segment's key (the only blob a farm worker stores). */
export function isChunkKey(key: string): boolean {
  return isKnownBlobKey(key) && key.slice(17).startsWith('chunks/');
}

export interface BlobStore {
  put(key: string, data: Uint8Array): Promise<void>;
  /** Stores a local file as the blob (moved when it can be, else copied). */
  putFile(key: string, file: string): Promise<void>;
  putStream(key: string, body: Readable): Promise<void>;
  get(key: string): Promise<Buffer | undefined>;
  has(key: string): Promise<boolean>;
  size(key: string): Promise<number | undefined>;
  /** The file that holds the blob (ffmpeg reads and writes files). */
  path(key: string): string;
  stream(key: string): Readable;
  /** Deletes a blob, or every blob under a prefix (`<id>/chunks`, `<id>`). */
  remove(keyOrPrefix: string): Promise<void>;
  /** Leftovers of writes cut off by a crash, under a prefix. */
  removeTemporary(prefix: string): Promise<void>;
}

export function createFileBlobStore(root: string): BlobStore {
  const file = (key: string): string => {
    if (!isBlobKey(key) && !/^[a-z0-9]{16}(\/chunks)?$/.test(key)) throw new Error(`not a blob key: ${key.slice(0, 80)}`);
    return path.join(root, key);
  };
  let counter = 0;
  const tmpFor = (target: string): string => `${target}.${process.pid}.${counter++}.tmp`;
  return {
    async put(key, data) {
      const target = file(key);
      await mkdir(path.dirname(target), { recursive: true });
      const tmp = tmpFor(target);
      try {
        await writeFile(tmp, data);
        await rename(tmp, target);
      } catch (error) {
        await rm(tmp, { force: true });
        throw error;
      }
    },
    async putFile(key, source) {
      const target = file(key);
      await mkdir(path.dirname(target), { recursive: true });
      await rename(source, target).catch(async () => {
        // Another file system: copy through a temp file, so the blob appears whole.
        const tmp = tmpFor(target);
        try {
          await copyFile(source, tmp);
          await rename(tmp, target);
        } catch (error) {
          await rm(tmp, { force: true });
          throw error;
        }
      });
    },
    async putStream(key, body) {
      const target = file(key);
      await mkdir(path.dirname(target), { recursive: true });
      const tmp = tmpFor(target);
      try {
        await pipeline(body, createWriteStream(tmp));
        await rename(tmp, target);
      } catch (error) {
        await rm(tmp, { force: true });
        throw error;
      }
    },
    get: (key) => readFile(file(key)).catch(() => undefined),
    has: (key) => stat(file(key)).then((s) => s.isFile(), () => false),
    size: (key) => stat(file(key)).then((s) => s.size, () => undefined),
    path: file,
    stream: (key) => createReadStream(file(key)),
    remove: (key) => rm(file(key), { recursive: true, force: true }),
    async removeTemporary(prefix) {
      const dir = file(prefix);
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        if (name.endsWith('.tmp')) await rm(path.join(dir, name), { force: true });
      }
    },
  };
}
