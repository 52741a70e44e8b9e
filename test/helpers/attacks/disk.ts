/**
 * 7. A full disk, for real: a small file system (tmpfs, or a loop-mounted ext4 image where tmpfs
 * cannot be mounted) that holds the server's --data-dir and is then filled to the last byte.
 * Mounting needs root (CAP_SYS_ADMIN); without it createSmallFilesystem throws and says so.
 */
import { execFile } from 'node:child_process';
import { open, mkdtemp, readFile, readdir, rm, statfs } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { type AttackResult, type Bounds, type HttpAnswer, type Target, answerKey, answerWithin, count, postMultipart } from './http.js';
import { sceneJpeg } from './media.js';

const run = promisify(execFile);

export interface SmallFilesystem {
  /** The mount point. */
  dir: string;
  kind: 'tmpfs' | 'ext4 loop image';
  /** Unmounts and deletes everything (safe to call twice). */
  remove(): Promise<void>;
}

export async function createSmallFilesystem(sizeMb = 64): Promise<SmallFilesystem> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stylize-small-fs-'));
  const image = `${dir}.img`;
  let removed = false;
  const make = (kind: SmallFilesystem['kind']): SmallFilesystem => ({
    dir,
    kind,
    async remove() {
      if (removed) return;
      removed = true;
      // A process still inside (a server that would not die) keeps it busy: detach it lazily then.
      await run('umount', [dir]).catch(() => run('umount', ['-l', dir]).catch(() => undefined));
      await rm(dir, { recursive: true, force: true });
      await rm(image, { force: true });
    },
  });
  const failures: string[] = [];
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir]);
    return make('tmpfs');
  } catch (error) {
    failures.push(`tmpfs: ${(error as { stderr?: string }).stderr?.trim() || String(error)}`);
  }
  try {
    await run('truncate', ['-s', `${sizeMb}M`, image]);
    await run('mkfs.ext4', ['-q', '-F', image]);
    await run('mount', ['-o', 'loop', image, dir]);
    return make('ext4 loop image');
  } catch (error) {
    failures.push(`loop ext4: ${(error as { stderr?: string }).stderr?.trim() || String(error)}`);
  }
  await rm(dir, { recursive: true, force: true });
  await rm(image, { force: true });
  throw new Error(`cannot mount a small file system here (root needed): ${failures.join('; ')}`);
}

/**
 * Writes `dir`/filler-N until only `leaveBytes` are free (0: until the file system says ENOSPC).
 * The bytes written.
 */
export async function fillFilesystem(dir: string, { leaveBytes = 0 }: { leaveBytes?: number } = {}): Promise<number> {
  const free = async (): Promise<number> => {
    const s = await statfs(dir);
    return s.bavail * s.bsize;
  };
  let written = 0;
  const block = Buffer.alloc(1024 * 1024, 0x55);
  const existing = (await readdir(dir)).filter((n) => n.startsWith('filler-')).length;
  const handle = await open(path.join(dir, `filler-${existing}`), 'w');
  try {
    // Big blocks first, then ever smaller ones, so the last free bytes go too.
    for (let size = block.length; size >= 1; ) {
      const room = (await free()) - leaveBytes;
      if (leaveBytes > 0 && room <= 0) break;
      const n = leaveBytes > 0 ? Math.min(size, room) : size;
      try {
        const { bytesWritten } = await handle.write(block, 0, n);
        written += bytesWritten;
        if (bytesWritten < n) size = Math.floor(size / 2);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
        size = Math.floor(size / 2);
      }
    }
    await handle.sync();
    return written;
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** Job states found under `<dataDir>/jobs/<id>/job.json` (what a restart will pick up). */
export async function jobsOnDisk(dataDir: string): Promise<Record<string, number>> {
  const states: Record<string, number> = {};
  const ids = await readdir(path.join(dataDir, 'jobs')).catch(() => [] as string[]);
  for (const id of ids) {
    const text = await readFile(path.join(dataDir, 'jobs', id, 'job.json'), 'utf8').catch(() => undefined);
    let status = 'no job.json';
    try {
      if (text !== undefined) status = (JSON.parse(text) as { status?: string }).status ?? 'no status';
    } catch {
      status = 'unreadable job.json';
    }
    states[status] = (states[status] ?? 0) + 1;
  }
  return states;
}

/**
 * 7. Fill the file system that holds the server's data dir, in two rounds: first up to the size
 * of `video` plus a little (the upload fits, the job's own files do not), upload it as a job;
 * then to the last byte, and upload a job and a style (a 256×256 JPEG). Then look at what the
 * failed uploads left under `dataDir` (what a restart will find).
 */
export async function fullDiskUploads(
  target: Target,
  { fsDir, dataDir, video, ...bounds }: Bounds & { fsDir: string; dataDir: string; video: string },
): Promise<AttackResult> {
  const answers = {};
  const timeoutMs = answerWithin(bounds);
  const from = target.from ? { from: target.from } : {};
  const videoBytes = await readFile(video);
  const uploadJob = (): Promise<HttpAnswer> =>
    postMultipart(`${target.baseUrl}/api/jobs`, [{ name: 'video', filename: 'clip.mp4', contentType: 'video/mp4', data: videoBytes }], { timeoutMs, ...from });
  const nearlyFull = await fillFilesystem(fsDir, { leaveBytes: videoBytes.length + 16 * 1024 });
  const first = await uploadJob();
  count(answers, `job upload, room for the upload only: ${answerKey(first)}`);
  const full = await fillFilesystem(fsDir);
  const second = await uploadJob();
  count(answers, `job upload, disk full: ${answerKey(second)}`);
  const style = await postMultipart(`${target.baseUrl}/api/styles`, [{ name: 'image', filename: 'style.jpg', contentType: 'image/jpeg', data: await sceneJpeg(256, 256) }], {
    timeoutMs,
    ...from,
  });
  count(answers, `style upload, disk full: ${answerKey(style)}`);
  return {
    attack: 'uploads on a full disk',
    answers,
    observed: {
      filledBytes: nearlyFull + full,
      messages: [...new Set([first, second, style].map((a) => a.body.slice(0, 200)))],
      jobsOnDisk: await jobsOnDisk(dataDir),
    },
  };
}
