/**
 * What uploaded styles may take of the disk: each upload remembers who sent it (a small
 * `<id>.owner.json` beside its image) and when it was last painted with (the image's
 * modification time, touched on use). One client may keep `maxPerClient` uploads (more: 429);
 * the library keeps at most `maxTotal`, making room by deleting the least recently used upload
 * that nobody painted with lately (none such: 503); uploads unused for `retentionMs` are swept.
 */
import { readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { BusyError, RateLimitedError } from '../errors.js';

export interface UploadLimits {
  /** Uploads one client (address) may keep. */
  maxPerClient: number;
  /** Uploads the library keeps in all. */
  maxTotal: number;
  /** An upload nobody painted with for this long is deleted. */
  retentionMs: number;
}

/** An upload used this recently is never deleted to make room (a stream may be painting with it). */
export const IN_USE_MS = 10 * 60_000;

const OWNER_SUFFIX = '.owner.json';

interface StoredUpload {
  id: string;
  image: string;
  client: string | undefined;
  lastUsedMs: number;
}

export async function listUploads(dir: string): Promise<StoredUpload[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const out: StoredUpload[] = [];
  for (const name of names.filter((n) => n.startsWith('user-') && n.endsWith('.png'))) {
    const id = name.slice(0, -'.png'.length);
    const image = path.join(dir, name);
    const info = await stat(image).catch(() => undefined);
    if (!info) continue;
    const owner = await readFile(path.join(dir, `${id}${OWNER_SUFFIX}`), 'utf8').then((t) => (JSON.parse(t) as { client?: unknown }).client, () => undefined);
    out.push({ id, image, client: typeof owner === 'string' ? owner : undefined, lastUsedMs: info.mtimeMs });
  }
  return out.sort((a, b) => a.lastUsedMs - b.lastUsedMs);
}

/**
 * Before a new upload `id` from `client` is stored: refuses a client at its quota, and deletes
 * the least recently used uploads while the library is full. Returns the ids deleted.
 */
export async function makeRoomForUpload(dir: string, id: string, client: string | undefined, limits: UploadLimits, now = Date.now()): Promise<string[]> {
  const uploads = await listUploads(dir);
  if (uploads.some((u) => u.id === id)) return []; // the same image again: it takes no more room
  if (client !== undefined && uploads.filter((u) => u.client === client).length >= limits.maxPerClient) {
    throw new RateLimitedError(`this address already keeps ${limits.maxPerClient} uploaded styles, the most one client may; an upload nobody paints with for ${Math.round(limits.retentionMs / 86_400_000)} days is deleted`, 3600);
  }
  const deleted: string[] = [];
  for (let left = uploads.length; left >= limits.maxTotal; left -= 1) {
    const oldest = uploads.shift();
    if (!oldest || now - oldest.lastUsedMs < IN_USE_MS) {
      throw new BusyError(`the server keeps ${limits.maxTotal} uploaded styles and all were used in the last ${IN_USE_MS / 60_000} minutes; try again later`);
    }
    await deleteUpload(dir, oldest.id);
    deleted.push(oldest.id);
  }
  return deleted;
}

export async function recordOwner(dir: string, id: string, client: string | undefined): Promise<void> {
  if (client === undefined) return;
  await writeFile(path.join(dir, `${id}${OWNER_SUFFIX}`), JSON.stringify({ client }));
}

/** An upload was painted with: it is the last to go. */
export async function touchUpload(file: string): Promise<void> {
  const t = new Date();
  await utimes(file, t, t).catch(() => undefined);
}

/** Deletes the uploads nobody painted with for `retentionMs`; returns their ids. */
export async function sweepUploads(dir: string, retentionMs: number, now = Date.now()): Promise<string[]> {
  const old = (await listUploads(dir)).filter((u) => now - u.lastUsedMs > retentionMs);
  for (const u of old) await deleteUpload(dir, u.id);
  return old.map((u) => u.id);
}

async function deleteUpload(dir: string, id: string): Promise<void> {
  await rm(path.join(dir, `${id}.png`), { force: true });
  await rm(path.join(dir, `${id}${OWNER_SUFFIX}`), { force: true });
}
