/**
 * The only module that opens Redis connections (ioredis), and the names everything on the farm
 * shares in Redis. BullMQ gets its connections from here too. Connections retry forever with a
 * capped back-off, so a restarted Redis is simply reconnected to; `failFast` connections (the
 * gateway's answers to HTTP requests) queue nothing while Redis is away and bound every command,
 * so a request fails at once (503, RedisUnavailableError) instead of waiting for Redis.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Redis } from 'ioredis';
import { ErrorCode, RedisUnavailableError, StylizeError } from '../errors.js';
import type { Logger } from '../logger.js';

export type { Redis };

/** How long a process waits for its first contact with Redis before it gives up (gateway and worker). */
export const FIRST_CONTACT_MS = 10_000;
/** A fail-fast command that gets no answer within this fails (Redis stuck, or a network that drops packets). */
const FAIL_FAST_COMMAND_MS = 2000;

export interface RedisConnectOptions {
  /** What it is for, in CLIENT LIST and the log. */
  name: string;
  /** Commands fail after a few seconds without Redis instead of waiting for it (default false). */
  failFast?: boolean;
  log?: Logger;
}

export function connectRedis(url: string, options: RedisConnectOptions): Redis {
  const redis = new Redis(url, {
    connectionName: `stylize:${options.name}`,
    // BullMQ's blocking connections need null; for the others it means "wait for Redis to be back".
    maxRetriesPerRequest: options.failFast ? 1 : null,
    // Fail fast: no queue while Redis is away (a command then fails at once), and a bound on each.
    ...(options.failFast ? { enableOfflineQueue: false, commandTimeout: FAIL_FAST_COMMAND_MS, connectTimeout: FAIL_FAST_COMMAND_MS } : {}),
    enableReadyCheck: true,
    retryStrategy: (times) => Math.min(200 * times, 2000),
  });
  let down = false;
  redis.on('error', (error: Error) => {
    if (down) return; // once per outage in the log, not once per retry
    down = true;
    options.log?.warn({ err: error, redis: options.name }, 'Redis connection lost; retrying');
  });
  redis.on('ready', () => {
    if (down) options.log?.info({ redis: options.name }, 'Redis connection back');
    down = false;
  });
  return redis;
}

/** The connections one part of the farm opened, closed together by their owner. */
export interface RedisConnections {
  open(name: string, options?: { failFast?: boolean }): Redis;
  closeAll(): Promise<void>;
}

export function redisConnections(url: string, log?: Logger): RedisConnections {
  const opened: Redis[] = [];
  return {
    open(name, options = {}) {
      const redis = connectRedis(url, { name, ...(options.failFast ? { failFast: true } : {}), ...(log ? { log } : {}) });
      opened.push(redis);
      return redis;
    },
    closeAll: () => Promise.all(opened.splice(0).map(closeRedis)).then(() => undefined),
  };
}

/** Closes a connection, waiting for what it has sent; gives up on a Redis that is gone. */
export async function closeRedis(redis: Redis): Promise<void> {
  await Promise.race([redis.quit().catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
  redis.disconnect();
}

/**
 * Waits until the connection is ready (a fail-fast one refuses commands before that), or fails
 * with a clear BAD_CONFIG error after `timeoutMs`: a process that cannot reach Redis at start says
 * so and stops instead of waiting forever.
 */
export async function untilReady(redis: Redis, timeoutMs = FIRST_CONTACT_MS): Promise<void> {
  if (redis.status === 'ready') return;
  let lastError = 'no answer';
  const onError = (error: Error): void => {
    lastError = error.message || lastError;
  };
  redis.on('error', onError);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new StylizeError(ErrorCode.BAD_CONFIG, `cannot reach Redis at REDIS_URL within ${Math.round(timeoutMs / 1000)} s (${lastError}); start it or fix the URL`)), timeoutMs);
      timer.unref();
      redis.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  } finally {
    redis.off('error', onError);
  }
}

/** `command` with a bound: a promise that does not settle within `timeoutMs` is an error. */
export function withinMs<T>(command: Promise<T>, timeoutMs: number): Promise<T> {
  return Promise.race([command, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref())]);
}

export interface RedisHealth {
  ok: boolean;
  latencyMs?: number;
  error?: string;
  /** At its maxmemory (noeviction refuses every write then). */
  full?: boolean;
  usedMemory?: number;
  maxMemory?: number;
}

/** Round trip to Redis and its memory (INFO memory), for /healthz: a full Redis is not ok. */
export async function pingRedis(redis: Redis, timeoutMs = 1000): Promise<RedisHealth> {
  const started = performance.now();
  try {
    await withinMs(redis.ping(), timeoutMs);
    const latencyMs = Math.round((performance.now() - started) * 10) / 10;
    const memory = await withinMs(redis.info('memory'), timeoutMs).then(readMemory, () => undefined);
    if (memory?.full) return { ok: false, latencyMs, error: `Redis is full: ${memory.usedMemory} of its maxmemory ${memory.maxMemory} bytes used`, ...memory };
    return { ok: true, latencyMs, ...memory };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

function readMemory(info: string): { full: boolean; usedMemory: number; maxMemory: number } | undefined {
  const field = (name: string): number => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? NaN);
  const usedMemory = field('used_memory');
  const maxMemory = field('maxmemory');
  if (!Number.isFinite(usedMemory) || !Number.isFinite(maxMemory)) return undefined;
  const policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1] ?? 'noeviction';
  return { full: maxMemory > 0 && usedMemory >= maxMemory && policy === 'noeviction', usedMemory, maxMemory };
}

/** Redis refused a write for its memory limit ("OOM command not allowed…", also inside EXECABORT). */
export function isRedisFull(error: unknown): boolean {
  const e = error as { message?: unknown; previousErrors?: unknown } | undefined;
  if (typeof e?.message === 'string' && /^(ERR .*)?OOM\b|maxmemory/.test(e.message)) return true;
  return Array.isArray(e?.previousErrors) && e.previousErrors.some(isRedisFull);
}

/** ioredis's words for a Redis that is away (no connection, the retry or command bound ran out). */
function isRedisAway(error: unknown): boolean {
  const e = error as { name?: unknown; message?: unknown; code?: unknown } | undefined;
  if (e?.name === 'MaxRetriesPerRequestError') return true;
  if (typeof e?.code === 'string' && /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENOTFOUND)$/.test(e.code)) return true;
  return typeof e?.message === 'string' && /enableOfflineQueue|Connection is closed|Command timed out|Reached the max retries|LOADING Redis is loading/.test(e.message);
}

/** The request-facing error for a Redis failure (503 + Retry-After), or undefined for anything else. */
export function redisFailure(error: unknown): RedisUnavailableError | undefined {
  if (error instanceof RedisUnavailableError) return error;
  if (error instanceof StylizeError) return undefined;
  if (isRedisFull(error)) return new RedisUnavailableError(true, { cause: error });
  if (isRedisAway(error)) return new RedisUnavailableError(false, { cause: error });
  return undefined;
}

/**
 * The same object whose async methods turn Redis failures into RedisUnavailableError (the
 * Redis-backed adapters behind routes and sockets: a client hears 503 / 1013, not 500 / 1011).
 */
export function translatingRedisErrors<T extends object>(target: T): T {
  const wrapped = { ...target } as Record<string, unknown>;
  for (const [name, member] of Object.entries(target)) {
    if (typeof member !== 'function') continue;
    wrapped[name] = (...args: unknown[]): unknown => {
      const result: unknown = (member as (...a: unknown[]) => unknown).apply(target, args);
      if (!(result instanceof Promise)) return result;
      return result.catch((error: unknown) => {
        throw redisFailure(error) ?? error;
      });
    };
  }
  return wrapped as T;
}

/** Every key and channel the farm uses (one prefix, so a shared Redis stays tidy). */
export const KEYS = {
  chunkQueue: 'stylize-chunks',
  /** Each gateway assembles the jobs whose files it holds. */
  assembleQueue: (gateway: string) => `stylize-assemble-${gateway}`,
  job: (id: string) => `stylize:job:${id}`,
  jobPreview: (id: string) => `stylize:job:${id}:preview`,
  /** Hash: chunk index → the latest progress report of that chunk while it is painted. */
  jobProgress: (id: string) => `stylize:job:${id}:progress`,
  jobIndex: 'stylize:jobs',
  activeJobs: 'stylize:jobs:active',
  clientJobs: (client: string) => `stylize:jobs:client:${client}`,
  jobEvents: 'stylize:job-events',
  jobCancel: 'stylize:job-cancel',
  /** The secret workers show the gateways' blob endpoints. */
  farmSecret: 'stylize:farm:secret',
  workers: 'stylize:workers',
  room: (name: string) => `stylize:room:${name}`,
  roomIndex: 'stylize:rooms',
  roomPublisher: (name: string) => `stylize:room:${name}:publisher`,
  roomViewers: (name: string) => `stylize:room:${name}:viewers`,
  roomFrames: (name: string) => `stylize:frames:${name}`,
} as const;

/**
 * The farm's shared secret: the operator's (STYLIZE_FARM_SECRET, the same on every gateway and
 * worker) when set; else made by the first gateway and kept in Redis, read by everyone else.
 */
export async function farmSecret(redis: Redis, configured?: string): Promise<string> {
  if (configured) return configured;
  await redis.set(KEYS.farmSecret, randomBytes(32).toString('base64url'), 'NX');
  const secret = await redis.get(KEYS.farmSecret);
  if (!secret) throw new Error('the farm secret could not be read from Redis');
  return secret;
}

/**
 * This process's name on the farm, kept in its data directory: a gateway restarted on the same
 * disk is the same gateway (its jobs' files are there, its assembly queue is its own).
 */
export async function farmIdentity(dataDir: string, kind: 'gateway' | 'worker'): Promise<string> {
  const file = path.join(dataDir, `${kind}-id`);
  const known = await readFile(file, 'utf8').then((t) => t.trim(), () => '');
  if (/^[a-z0-9]{12}$/.test(known)) return known;
  const id = randomBytes(9).toString('base64url').toLowerCase().replace(/[^a-z0-9]/g, '0').slice(0, 12);
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, `${id}\n`);
  return id;
}
