/**
 * The only module that opens Redis connections (ioredis), and the names everything on the farm
 * shares in Redis. BullMQ gets its connections from here too. Connections retry forever with a
 * capped back-off, so a restarted Redis is simply reconnected to; `failFast` connections (the
 * gateway's answers to HTTP requests) give up on a command after a few retries instead of
 * holding the request while Redis is away.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';

export type { Redis };

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
    maxRetriesPerRequest: options.failFast ? 3 : null,
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

/** Round trip to Redis, for /healthz. */
export async function pingRedis(redis: Redis, timeoutMs = 1000): Promise<{ ok: boolean; latencyMs?: number; error?: string }> {
  const started = performance.now();
  try {
    await Promise.race([
      redis.ping(),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref()),
    ]);
    return { ok: true, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

/** Every key and channel the farm uses (one prefix, so a shared Redis stays tidy). */
export const KEYS = {
  chunkQueue: 'stylize-chunks',
  /** Each gateway assembles the jobs whose files it holds. */
  assembleQueue: (gateway: string) => `stylize-assemble-${gateway}`,
  job: (id: string) => `stylize:job:${id}`,
  jobPreview: (id: string) => `stylize:job:${id}:preview`,
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

/** The farm's shared secret: made by the first gateway, read by everyone else. */
export async function farmSecret(redis: Redis): Promise<string> {
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
