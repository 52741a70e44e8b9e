/**
 * The attacker's HTTP side: node:http (not fetch) so a request can come from another loopback
 * address (`from`: 127.0.0.2 looks like a different client to the server's per-address caps)
 * and carry any bytes (malformed multipart), with every request bounded in time.
 */
import http from 'node:http';
import WebSocket from 'ws';

/** What an attacker saw, counted by kind: "HTTP 201", "HTTP 500 INTERNAL", "WS close 1009", … */
export type Answers = Record<string, number>;

export interface AttackResult {
  attack: string;
  answers: Answers;
  /** Other facts the attacker could see: counts, sizes, timings, job states. */
  observed: Record<string, unknown>;
}

export function count(answers: Answers, key: string, n = 1): void {
  answers[key] = (answers[key] ?? 0) + n;
}

/** Where the attacker aims, and from which local address. */
export interface Target {
  /** http://127.0.0.1:PORT */
  baseUrl: string;
  /** Local address to connect from (default the OS's choice, i.e. 127.0.0.1). */
  from?: string;
}

export const wsBase = (target: Target): string => target.baseUrl.replace(/^http/, 'ws');

export interface HttpAnswer {
  /** 0 when no HTTP answer came (see `failure`). */
  status: number;
  /** The `error.code` of a JSON error body. */
  code?: string;
  body: string;
  ms: number;
  /** "timeout", "ECONNRESET", … when no answer came. */
  failure?: string;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  timeoutMs?: number;
  from?: string;
  agent?: http.Agent;
  signal?: AbortSignal;
}

export function request(url: string, options: RequestOptions = {}): Promise<HttpAnswer> {
  const started = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const done = (answer: Omit<HttpAnswer, 'ms'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve({ ...answer, ms: performance.now() - started });
    };
    const body = options.body === undefined ? undefined : Buffer.from(options.body);
    const req = http.request(url, {
      method: options.method ?? 'GET',
      headers: { ...(body ? { 'Content-Length': String(body.length) } : {}), ...options.headers },
      agent: options.agent ?? false,
      ...(options.from ? { localAddress: options.from } : {}),
    });
    const timer = setTimeout(() => {
      done({ status: 0, body: '', failure: 'timeout' });
      req.destroy();
    }, options.timeoutMs ?? 30_000);
    const onAbort = (): void => {
      done({ status: 0, body: '', failure: 'aborted' });
      req.destroy();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        done({ status: res.statusCode ?? 0, body: text, ...errorCode(text) });
      });
      res.on('error', (e) => done({ status: res.statusCode ?? 0, body: '', failure: (e as NodeJS.ErrnoException).code ?? e.message }));
    });
    req.on('error', (e) => done({ status: 0, body: '', failure: (e as NodeJS.ErrnoException).code ?? e.message }));
    req.end(body);
  });
}

function errorCode(text: string): { code?: string } {
  try {
    const code = (JSON.parse(text) as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'string' ? { code } : {};
  } catch {
    return {};
  }
}

/** "HTTP 201", "HTTP 413 TOO_LARGE" or the failure ("timeout", "ECONNRESET"). */
export function answerKey(answer: HttpAnswer): string {
  if (answer.status === 0) return answer.failure ?? 'no answer';
  return `HTTP ${answer.status}${answer.code ? ` ${answer.code}` : ''}`;
}

export interface Part {
  name: string;
  /** A file part when set. */
  filename?: string;
  contentType?: string;
  data: Buffer | string;
}

/** A multipart/form-data body built by hand (so attacks control every byte). */
export function multipart(parts: Part[], boundary = 'stylize-abuse-boundary-7d1f'): { body: Buffer; contentType: string } {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename !== undefined ? `; filename="${part.filename}"` : ''}`;
    const type = part.contentType ?? (part.filename !== undefined ? 'application/octet-stream' : undefined);
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${type ? `Content-Type: ${type}\r\n` : ''}\r\n`));
    chunks.push(Buffer.from(part.data));
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

export function postMultipart(url: string, parts: Part[], options: Omit<RequestOptions, 'body' | 'method'> = {}): Promise<HttpAnswer> {
  const { body, contentType } = multipart(parts);
  return request(url, { ...options, method: 'POST', body, headers: { 'Content-Type': contentType, ...options.headers } });
}

export interface Room {
  room: string;
  publishToken: string;
  publishUrl: string;
}

/** POST /api/rooms; throws unless 201 (attacks that need a room to start from). */
export async function createRoom(target: Target, room?: string): Promise<Room> {
  const answer = await request(`${target.baseUrl}/api/rooms`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(room ? { room } : {}),
    timeoutMs: 10_000,
    ...(target.from ? { from: target.from } : {}),
  });
  if (answer.status !== 201) throw new Error(`POST /api/rooms: ${answerKey(answer)} ${answer.body.slice(0, 200)}`);
  const grant = JSON.parse(answer.body) as { room: string; publishToken: string };
  return { ...grant, publishUrl: `${wsBase(target)}/ws?room=${grant.room}&role=publish&token=${grant.publishToken}` };
}

/** A `ws` client from `from`, or the HTTP status that refused the upgrade ("WS upgrade 429"). */
export function openSocket(
  url: string,
  { from, headers, timeoutMs = 10_000 }: { from?: string | undefined; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<{ socket: WebSocket } | { refused: string }> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, { ...(from ? { localAddress: from } : {}), ...(headers ? { headers } : {}), handshakeTimeout: timeoutMs });
    socket.once('open', () => resolve({ socket }));
    socket.once('unexpected-response', (_req, res) => {
      resolve({ refused: `WS upgrade ${res.statusCode ?? 0}` });
      socket.terminate();
    });
    socket.once('error', (e) => resolve({ refused: (e as NodeJS.ErrnoException).code ?? e.message }));
  });
}

/** Sockets the attacker closed itself: their close is no answer from the server. */
const hungUp = new WeakSet<WebSocket>();

/** Close politely, then cut: a frozen server never completes the closing handshake. */
export function hangUp(socket: WebSocket): void {
  hungUp.add(socket);
  socket.close();
  setTimeout(() => socket.terminate(), 500).unref();
}

/** Whether the server (not the attacker) closed it. */
export const closedByServer = (socket: WebSocket): boolean => !hungUp.has(socket);

/** Counts what a socket receives: "WS error <code>", "WS frames", and "WS close <code>" at the end. */
export function recordSocket(socket: WebSocket, answers: Answers): { closed: Promise<number>; errorMessages: string[] } {
  const errorMessages: string[] = [];
  socket.on('message', (data, isBinary) => {
    if (isBinary) return count(answers, 'WS stylized frame');
    try {
      const message = JSON.parse(data.toString()) as { type?: string; code?: string; message?: string };
      if (message.type === 'error') {
        count(answers, `WS error ${message.code}`);
        if (errorMessages.length < 20) errorMessages.push(message.message ?? '');
      }
    } catch {
      count(answers, 'WS non-JSON text');
    }
  });
  socket.on('error', () => undefined);
  const closed = new Promise<number>((resolve) =>
    socket.once('close', (code) => {
      if (!hungUp.has(socket)) count(answers, `WS close ${code}`);
      resolve(code);
    }),
  );
  return { closed, errorMessages };
}

export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** Every attack is bounded: it stops after `durationMs` (or when `signal` aborts) and frees what it opened. */
export interface Bounds {
  durationMs: number;
  signal?: AbortSignal;
  /** See answerWithin (default: durationMs, at least a minute). */
  answerTimeoutMs?: number;
}

/**
 * How long one request the attack needs answered (a job submission, a handshake) may wait: a
 * server whose event loop is busy painting answers late but does answer, and the attack means
 * nothing if it gives up first. Floods are bounded by `durationMs` alone.
 */
export const answerWithin = (bounds: Bounds): number => bounds.answerTimeoutMs ?? Math.max(bounds.durationMs, 60_000);

/** A live frame as docs/protocol.md defines it: uint32 BE seq, uint32 BE timestamp (ms), JPEG. */
export function liveFrame(seq: number, jpeg: Uint8Array, timestampMs = Math.round(performance.now())): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(seq >>> 0, 0);
  header.writeUInt32BE(timestampMs >>> 0, 4);
  return Buffer.concat([header, jpeg]);
}
