/**
 * Resumable download with a checksum: bytes go to `<dest>.part`; an interrupted download
 * continues with an HTTP Range request; the file is renamed into place only once its MD5 (the
 * hash Keras publishes for its weight files) matches.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ChecksumError, DownloadError } from '../engine-errors.js';

export interface DownloadOptions {
  /** Expected MD5 of the whole file, hex. */
  md5?: string | undefined;
  onProgress?: (received: number, total: number | undefined) => void;
  /** Abort when no byte arrives for this long (ms). */
  idleTimeoutMs?: number;
}

export interface DownloadResult {
  path: string;
  bytes: number;
  /** Bytes that were already on disk from an earlier, interrupted attempt. */
  resumedFrom: number;
}

export async function downloadFile(url: string, dest: string, options: DownloadOptions = {}): Promise<DownloadResult> {
  const part = `${dest}.part`;
  await mkdir(path.dirname(dest), { recursive: true });
  const already = (await stat(part).catch(() => undefined))?.size ?? 0;
  const controller = new AbortController();
  const idleMs = options.idleTimeoutMs ?? 30_000;
  let idle = setTimeout(() => controller.abort(), idleMs);
  const touch = (): void => {
    clearTimeout(idle);
    idle = setTimeout(() => controller.abort(), idleMs);
  };
  const host = safeHost(url);
  try {
    let response: Response;
    try {
      response = await fetch(url, {
        headers: already > 0 ? { Range: `bytes=${already}-` } : {},
        signal: controller.signal,
        redirect: 'follow',
      });
    } catch (error) {
      throw new DownloadError(
        `could not reach ${host} (${describe(error)}). Offline? Download the file on another machine and use \`stylize models import\`.`,
        { cause: error },
      );
    }
    const resuming = already > 0 && response.status === 206;
    if (!response.ok || !response.body) {
      if (response.status === 416 && already > 0) {
        // The part file is already complete (or larger than the file): start over cleanly.
        await rm(part, { force: true });
        return downloadFile(url, dest, options);
      }
      throw new DownloadError(`${host} answered ${response.status} ${response.statusText} for ${url}`);
    }
    const length = Number(response.headers.get('content-length') ?? Number.NaN);
    const total = Number.isFinite(length) ? length + (resuming ? already : 0) : undefined;
    let received = resuming ? already : 0;
    options.onProgress?.(received, total);
    const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
    body.on('data', (chunk: Buffer) => {
      touch();
      received += chunk.length;
      options.onProgress?.(received, total);
    });
    try {
      await pipeline(body, createWriteStream(part, { flags: resuming ? 'a' : 'w' }));
    } catch (error) {
      throw new DownloadError(
        `download from ${host} broke off after ${received} bytes (${describe(error)}); run the same command again to resume`,
        { cause: error },
      );
    }
    if (total !== undefined && received !== total) {
      throw new DownloadError(`download from ${host} ended at ${received} of ${total} bytes; run the same command again to resume`);
    }
    if (options.md5) {
      const actual = await md5File(part);
      if (actual !== options.md5.toLowerCase()) {
        await rm(part, { force: true });
        throw new ChecksumError(path.basename(dest), options.md5, actual);
      }
    }
    await rename(part, dest);
    return { path: dest, bytes: received, resumedFrom: resuming ? already : 0 };
  } finally {
    clearTimeout(idle);
  }
}

export async function md5File(file: string): Promise<string> {
  const hash = createHash('md5');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    throw new DownloadError(`not a URL: ${url}`);
  }
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}
