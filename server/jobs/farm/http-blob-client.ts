/**
 * How farm workers (and other gateways) reach a job's files: the blob endpoints of the gateway
 * that holds them (server/http/blob-routes.ts), with the farm's secret. A gateway that does not
 * answer (restarting, say) is tried again with a growing pause for up to `patienceMs`; a clear
 * refusal (4xx) is not retried.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export class BlobTransferError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BlobTransferError';
  }
}

export interface BlobClient {
  /** Fetches `key` from the gateway at `home` into `file` (whole or not at all). */
  download(home: string, key: string, file: string, signal?: AbortSignal): Promise<number>;
  upload(home: string, key: string, file: string, signal?: AbortSignal): Promise<number>;
  /** The blob as a stream (a gateway passing another gateway's output through). */
  open(home: string, key: string): Promise<{ stream: Readable; size: number | undefined } | undefined>;
  delete(home: string, jobId: string): Promise<void>;
}

interface Endpoint {
  headers: { authorization: string };
  url(home: string, key: string): string;
  /** Runs `attempt` until it works, a 4xx says no, or patience runs out. */
  patiently<T>(what: string, attempt: () => Promise<T>, signal?: AbortSignal): Promise<T>;
}

export function createBlobClient(options: { secret: string; patienceMs: number }): BlobClient {
  const endpoint: Endpoint = {
    headers: { authorization: `Bearer ${options.secret}` },
    url: (home, key) => `${home.replace(/\/$/, '')}/internal/blobs/${key}`,
    patiently: (what, attempt, signal) => patiently(options.patienceMs, what, attempt, signal),
  };
  return {
    download: (home, key, file, signal) => download(endpoint, home, key, file, signal),
    upload: (home, key, file, signal) => upload(endpoint, home, key, file, signal),
    async open(home, key) {
      const res = await endpoint.patiently(`fetching ${key.split('/').pop()}`, async () => {
        const r = await fetch(endpoint.url(home, key), { headers: endpoint.headers });
        if (r.status === 404) return r;
        check(r, key);
        return r;
      });
      if (res.status === 404 || !res.body) return undefined;
      const length = Number(res.headers.get('content-length'));
      return { stream: Readable.fromWeb(res.body as never), size: Number.isFinite(length) && length > 0 ? length : undefined };
    },
    async delete(home, jobId) {
      await endpoint.patiently('deleting the job\'s files', async () => {
        const res = await fetch(endpoint.url(home, jobId), { method: 'DELETE', headers: endpoint.headers });
        check(res, 'deleting the job\'s files');
      });
    },
  };
}

async function patiently<T>(patienceMs: number, what: string, attempt: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  const until = performance.now() + patienceMs;
  for (let pause = 250; ; pause = Math.min(pause * 2, 5000)) {
    signal?.throwIfAborted();
    try {
      return await attempt();
    } catch (error) {
      if (error instanceof BlobTransferError || signal?.aborted || performance.now() + pause > until) {
        throw error instanceof BlobTransferError ? error : new BlobTransferError(`${what}: the gateway could not be reached`, { cause: error });
      }
      await new Promise((r) => setTimeout(r, pause));
    }
  }
}

/** 5xx and network errors are worth another try; 4xx are final. */
function check(res: Response, what: string): void {
  if (res.ok) return;
  if (res.status >= 500) throw new Error(`HTTP ${res.status}`);
  throw new BlobTransferError(`${what}: the gateway answered ${res.status}`);
}

function download(endpoint: Endpoint, home: string, key: string, file: string, signal?: AbortSignal): Promise<number> {
  const what = `fetching ${key.split('/').pop()}`;
  return endpoint.patiently(
    what,
    async () => {
      const res = await fetch(endpoint.url(home, key), { headers: endpoint.headers, ...(signal ? { signal } : {}) });
      check(res, what);
      await mkdir(path.dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      try {
        await pipeline(Readable.fromWeb(res.body! as never), createWriteStream(tmp));
        await rename(tmp, file);
      } catch (error) {
        await rm(tmp, { force: true });
        throw error;
      }
      return (await stat(file)).size;
    },
    signal,
  );
}

function upload(endpoint: Endpoint, home: string, key: string, file: string, signal?: AbortSignal): Promise<number> {
  const what = `storing ${key.split('/').pop()}`;
  return endpoint.patiently(
    what,
    async () => {
      const { size } = await stat(file);
      const res = await fetch(endpoint.url(home, key), {
        method: 'PUT',
        headers: { ...endpoint.headers, 'content-type': 'application/octet-stream', 'content-length': String(size) },
        body: Readable.toWeb(createReadStream(file)) as never,
        duplex: 'half',
        ...(signal ? { signal } : {}),
      } as RequestInit);
      check(res, what);
      await res.body?.cancel();
      return size;
    },
    signal,
  );
}
