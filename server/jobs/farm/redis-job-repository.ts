/**
 * Job records in Redis, shared by every gateway and worker of the farm. A record is one JSON
 * string; a change reads it, applies the same pure patch as the file store (applyPatch) and
 * writes it back only if nobody changed it meanwhile (compare-and-set in one Lua script, which
 * also keeps the quota counts and announces the change on a channel every process listens to).
 * So each status transition has one writer however many machines race for it.
 */
import { randomBytes } from 'node:crypto';
import { applyPatch, isFinal, quotaError, type JobEvent, type JobPatch, type JobQuotas, type JobRepository, type NewJob } from '../job-repository.js';
import type { ChunkProgress, ChunkReport } from '../job-progress.js';
import type { Job } from '../job-store.js';
import { KEYS, closeRedis, translatingRedisErrors, type Redis } from '../../farm/redis.js';

/** KEYS: job, index, active, client set. ARGV: id, json, createdAtMs, client, maxQueued, maxPerClient, channel, event. */
const CREATE = `
local max_queued = tonumber(ARGV[5])
local max_client = tonumber(ARGV[6])
local active = redis.call('HLEN', KEYS[3])
if max_queued >= 0 and active >= max_queued then return {'busy', active} end
if ARGV[4] ~= '' and max_client >= 0 then
  local mine = redis.call('SCARD', KEYS[4])
  if mine >= max_client then return {'client', mine} end
end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[4])
if ARGV[4] ~= '' then redis.call('SADD', KEYS[4], ARGV[1]) end
redis.call('PUBLISH', ARGV[7], ARGV[8])
return {'ok', 0}
`;

/** KEYS: job, active, client set. ARGV: id, expected json, new json, final (1/0), channel, event. */
const COMPARE_AND_SET = `
if redis.call('GET', KEYS[1]) ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[1], ARGV[3])
if ARGV[4] == '1' then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('SREM', KEYS[3], ARGV[1])
end
redis.call('PUBLISH', ARGV[5], ARGV[6])
return 1
`;

const NO_LIMIT = -1;
/** A job's chunk reports outlive a gateway or worker that is down for a while, not forever. */
const PROGRESS_TTL_S = 24 * 3600;

export interface RedisJobRepositoryOptions {
  /** Commands. */
  redis: Redis;
  /** Opens the connection that listens for changes (only when someone subscribes). */
  subscriber: () => Redis;
}

export function createRedisJobRepository(options: RedisJobRepositoryOptions): JobRepository {
  const { redis } = options;
  const events = createEventListeners(options.subscriber);
  const repo: JobRepository = {
    create: (fields: NewJob, quotas: JobQuotas = {}) => createJob(redis, fields, quotas),
    async checkQuotas(client, quotas) {
      const [active, mine] = await Promise.all([redis.hlen(KEYS.activeJobs), client !== undefined ? redis.scard(clientKey(client)) : Promise.resolve(0)]);
      if (quotas.maxQueuedJobs !== undefined && active >= quotas.maxQueuedJobs) throw quotaError('busy', active);
      if (quotas.maxJobsPerClient !== undefined && client !== undefined && mine >= quotas.maxJobsPerClient) throw quotaError('client', mine);
    },
    async get(id) {
      if (!/^[a-z0-9]{16}$/.test(id)) return undefined;
      return parse(await redis.get(KEYS.job(id)));
    },
    async all() {
      const ids = await redis.zrange(KEYS.jobIndex, 0, -1);
      if (ids.length === 0) return [];
      const raws = await redis.mget(ids.map(KEYS.job));
      return raws.map(parse).filter((j): j is Job => j !== undefined);
    },
    update: (id, patch: JobPatch) => updateJob(redis, id, patch),
    async remove(id) {
      const job = await repo.get(id);
      await redis
        .multi()
        .del(KEYS.job(id), KEYS.jobPreview(id), KEYS.jobProgress(id))
        .zrem(KEYS.jobIndex, id)
        .hdel(KEYS.activeJobs, id)
        .srem(clientKey(job?.client), id)
        .exec();
    },
    progress(id, chunk, report) {
      // Kept where every gateway reads it (GET /api/jobs/:id on any of them), then announced: one
      // connection runs them in order, so a reader woken by the notice finds the report stored.
      // A pipeline, not a transaction: a full Redis refusing the write still lets the notice through.
      void redis
        .pipeline()
        .hset(KEYS.jobProgress(id), String(chunk), JSON.stringify(report))
        .expire(KEYS.jobProgress(id), PROGRESS_TTL_S)
        .publish(KEYS.jobEvents, JSON.stringify({ type: 'progress', id, chunk, report } satisfies JobEvent))
        .exec()
        .catch(() => undefined);
    },
    async chunkProgress(id) {
      if (!/^[a-z0-9]{16}$/.test(id)) return new Map();
      return parseChunkProgress(await redis.hgetall(KEYS.jobProgress(id)));
    },
    subscribe: (listener) => events.add(listener),
    close: () => events.close(),
  };
  // Redis away or full: the routes answer 503 with Retry-After (RedisUnavailableError), not 500.
  return translatingRedisErrors(repo);
}

const clientKey = (client: string | undefined): string => KEYS.clientJobs(client ?? '-');

function parse(raw: string | null): Job | undefined {
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as Job;
  } catch {
    return undefined;
  }
}

/** The hash of chunk reports; a field that does not parse is left out. */
function parseChunkProgress(fields: Record<string, string>): ChunkProgress {
  const reports = new Map<number, ChunkReport>();
  for (const [chunk, raw] of Object.entries(fields)) {
    try {
      const report = JSON.parse(raw) as ChunkReport;
      if (Number.isInteger(Number(chunk)) && typeof report.kept === 'number') reports.set(Number(chunk), report);
    } catch {
      // a damaged field: that chunk's next report replaces it
    }
  }
  return reports;
}

async function createJob(redis: Redis, fields: NewJob, quotas: JobQuotas): Promise<Job> {
  const id = randomBytes(8).toString('hex');
  const now = new Date();
  const job: Job = { id, status: 'queued', createdAt: now.toISOString(), updatedAt: now.toISOString(), chunksDone: [], framesDone: 0, framesTotal: 0, ...fields };
  const [verdict, count] = (await redis.eval(
    CREATE,
    4,
    KEYS.job(id),
    KEYS.jobIndex,
    KEYS.activeJobs,
    clientKey(fields.client),
    id,
    JSON.stringify(job),
    String(now.getTime()),
    fields.client ?? '',
    String(quotas.maxQueuedJobs ?? NO_LIMIT),
    String(quotas.maxJobsPerClient ?? NO_LIMIT),
    KEYS.jobEvents,
    JSON.stringify({ type: 'job', job } satisfies JobEvent),
  )) as [string, number];
  if (verdict !== 'ok') throw quotaError(verdict === 'busy' ? 'busy' : 'client', count);
  return job;
}

async function updateJob(redis: Redis, id: string, patch: JobPatch): Promise<Job | undefined> {
  for (;;) {
    const raw = await redis.get(KEYS.job(id));
    const job = parse(raw);
    if (!job) return undefined;
    const next = applyPatch(job, patch);
    if (!next) return undefined;
    const written = await redis.eval(
      COMPARE_AND_SET,
      3,
      KEYS.job(id),
      KEYS.activeJobs,
      clientKey(job.client),
      id,
      raw!,
      JSON.stringify(next),
      isFinal(next) ? '1' : '0',
      KEYS.jobEvents,
      JSON.stringify({ type: 'job', job: next } satisfies JobEvent),
    );
    if (written === 1) return next;
    // Somebody else changed it first: read again and see whether the change still applies.
  }
}

/** Change notices from every process, through one connection opened on the first subscribe. */
function createEventListeners(subscriber: () => Redis): { add(listener: (event: JobEvent) => void): () => void; close(): Promise<void> } {
  let listening: Redis | undefined;
  const listeners = new Set<(event: JobEvent) => void>();
  const listen = (): void => {
    if (listening) return;
    listening = subscriber();
    listening.on('message', (_channel: string, message: string) => {
      let event: JobEvent;
      try {
        event = JSON.parse(message) as JobEvent;
      } catch {
        return;
      }
      for (const listener of listeners) listener(event);
    });
    void listening.subscribe(KEYS.jobEvents).catch(() => undefined);
  };
  return {
    add(listener) {
      listen();
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      listeners.clear();
      if (listening) await closeRedis(listening);
    },
  };
}
