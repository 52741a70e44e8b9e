/**
 * Round 3's farm attacks (issue 20, items 9 and 13). The bench's target is a plain `stylize
 * serve`; these need a farm, so each starts its own: a real redis-server and a `stylize serve`
 * gateway on it (test/helpers/redis.ts, farm.ts), and stops them before it returns.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { startGateway, startWorker } from '../farm.js';
import { freePort, startRedis } from '../redis.js';
import { answerKey, count, multipart, request, type Answers, type AttackResult, type Bounds } from './http.js';

interface Farm {
  redisUrl: string;
  gatewayUrl: string;
  dataDir: string;
  kill(): Promise<void>;
  stop(): Promise<void>;
}

async function startFarm(): Promise<Farm> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'stylize-abuse-farm-'));
  const redis = await startRedis();
  const gateway = await startGateway(redis.url, { dataDir }).catch(async (error: unknown) => {
    await redis.stop();
    throw error;
  });
  return {
    redisUrl: redis.url,
    gatewayUrl: gateway.url,
    dataDir,
    kill: () => redis.kill(),
    async stop() {
      await gateway.kill();
      await redis.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A tiny MP4 job body (the bench's small video), as multipart. */
async function jobBody(video: string): Promise<{ body: Buffer; contentType: string }> {
  return multipart([
    { name: 'video', filename: 'small.mp4', contentType: 'video/mp4', data: await readFile(video) },
    { name: 'size', data: '32' },
  ]);
}

function slowest(ms: number[]): number {
  return Math.round(Math.max(0, ...ms));
}

/**
 * 20.9: Redis killed under a gateway, then full (maxmemory 1, noeviction): what job, room and
 * metrics routes answer and how fast, and whether a job goes through once Redis has room again.
 */
export async function redisAwayAndFull(options: Bounds & { video: string }): Promise<AttackResult> {
  const answers: Answers = {};
  const observed: Record<string, unknown> = {};
  const farm = await startFarm();
  const timeoutMs = 15_000;
  try {
    const job = await jobBody(options.video);
    const rounds = async (label: string): Promise<void> => {
      const ms: Record<string, number[]> = { rooms: [], job: [], submit: [], metrics: [] };
      for (let i = 0; i < 5 && !options.signal?.aborted; i++) {
        const room = await request(`${farm.gatewayUrl}/api/rooms`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', timeoutMs });
        count(answers, `${label} rooms ${answerKey(room)}`);
        ms.rooms!.push(room.ms);
        const status = await request(`${farm.gatewayUrl}/api/jobs/0123456789abcdef`, { timeoutMs });
        count(answers, `${label} job ${answerKey(status)}`);
        ms.job!.push(status.ms);
        const submit = await request(`${farm.gatewayUrl}/api/jobs`, { method: 'POST', headers: { 'content-type': job.contentType }, body: job.body, timeoutMs });
        count(answers, `${label} submit ${answerKey(submit)}`);
        ms.submit!.push(submit.ms);
        const metrics = await request(`${farm.gatewayUrl}/metrics`, { timeoutMs });
        count(answers, `${label} metrics ${answerKey(metrics)}`);
        ms.metrics!.push(metrics.ms);
      }
      observed[`${label}SlowestMs`] = Object.fromEntries(Object.entries(ms).map(([route, list]) => [route, slowest(list)]));
      const health = await request(`${farm.gatewayUrl}/healthz`, { timeoutMs });
      observed[`${label}Healthz`] = health.status;
    };

    const control = new Redis(farm.redisUrl, { maxRetriesPerRequest: 1 });
    try {
      await control.config('SET', 'maxmemory-policy', 'noeviction');
      await control.config('SET', 'maxmemory', '1');
      await rounds('full');
      observed.queuedWhileFull = await control.hlen('stylize:jobs:active');
      await control.config('SET', 'maxmemory', '0');
      await new Promise((r) => setTimeout(r, 1000));
      const after = await request(`${farm.gatewayUrl}/api/jobs`, { method: 'POST', headers: { 'content-type': job.contentType }, body: job.body, timeoutMs });
      count(answers, `room again submit ${answerKey(after)}`);
    } finally {
      control.disconnect();
    }
    await farm.kill();
    await new Promise((r) => setTimeout(r, 300));
    await rounds('away');
  } finally {
    await farm.stop();
  }
  // A worker with a dead REDIS_URL: exits (how long) or hangs.
  const workerDir = await mkdtemp(path.join(os.tmpdir(), 'stylize-abuse-worker-'));
  const worker = startWorker(`redis://127.0.0.1:${await freePort()}`, { dataDir: workerDir });
  const t0 = performance.now();
  const exit = await Promise.race([
    new Promise<number | null>((resolve) => worker.child.once('exit', (code) => resolve(code))),
    new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 30_000)),
  ]);
  observed.deadRedisWorker = exit === 'hung' ? 'still running after 30 s' : `exit ${exit} after ${((performance.now() - t0) / 1000).toFixed(1)} s`;
  await worker.kill();
  await rm(workerDir, { recursive: true, force: true });
  return { attack: 'Redis full, then away, under a gateway; a worker with a dead REDIS_URL', answers, observed };
}

/**
 * 20.13: a holder of the farm secret stores `evil.sh` and a segment for a job that does not exist;
 * the operator's STYLIZE_FARM_SECRET is (or is not) the one the gateway takes.
 */
export async function farmBlobNames(options: Bounds & { video: string }): Promise<AttackResult> {
  const answers: Answers = {};
  const observed: Record<string, unknown> = {};
  const configured = 'operator-chosen-farm-secret-0123456789';
  process.env.STYLIZE_FARM_SECRET = configured;
  let farm: Farm;
  try {
    farm = await startFarm();
  } finally {
    delete process.env.STYLIZE_FARM_SECRET;
  }
  try {
    const job = await jobBody(options.video);
    const submitted = await request(`${farm.gatewayUrl}/api/jobs`, { method: 'POST', headers: { 'content-type': job.contentType }, body: job.body, timeoutMs: 60_000 });
    const id = (JSON.parse(submitted.body || '{}') as { id?: string }).id ?? '0000000000000000';
    const control = new Redis(farm.redisUrl, { maxRetriesPerRequest: 1 });
    const kept = (await control.get('stylize:farm:secret').finally(() => control.disconnect())) ?? '';
    const put = (url: string, secret: string): ReturnType<typeof request> =>
      request(url, { method: 'PUT', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/octet-stream' }, body: 'echo pwned', timeoutMs: 10_000 });
    const withConfigured = await request(`${farm.gatewayUrl}/internal/blobs/${id}/input`, { headers: { authorization: `Bearer ${configured}` } });
    count(answers, `GET input, operator's secret: ${answerKey(withConfigured)}`);
    // Whichever secret the gateway took, the attacker holds it from here on.
    const secret = withConfigured.status === 200 ? configured : kept;
    count(answers, `PUT chunks/evil.sh: ${answerKey(await put(`${farm.gatewayUrl}/internal/blobs/${id}/chunks/evil.sh`, secret))}`);
    count(answers, `PUT a segment of a job that does not exist: ${answerKey(await put(`${farm.gatewayUrl}/internal/blobs/ffffffffffffffff/chunks/00000.mp4`, secret))}`);
    observed.evilFileWritten = existsSync(path.join(farm.dataDir, 'jobs', id, 'chunks', 'evil.sh'));
    observed.ghostFolderMade = existsSync(path.join(farm.dataDir, 'jobs', 'ffffffffffffffff'));
  } finally {
    await farm.stop();
  }
  return { attack: 'farm secret holder writes evil.sh and folders for unknown jobs; operator-set secret', answers, observed };
}

/**
 * 20.10: a two-worker farm, one worker killed -9 mid-job: does the survivor's log say what it
 * did, chunk by chunk (taken, finished with frames and ms, handed on)? Counts its lines at info.
 */
export async function silentWorker(options: Bounds & { video: string }): Promise<AttackResult> {
  const answers: Answers = {};
  const farm = await startFarm();
  const workers = [startWorker(farm.redisUrl, { dataDir: path.join(farm.dataDir, 'w1') }), startWorker(farm.redisUrl, { dataDir: path.join(farm.dataDir, 'w2') })];
  try {
    const { body, contentType } = await jobBody(options.video);
    const submit = await request(`${farm.gatewayUrl}/api/jobs`, { method: 'POST', body, headers: { 'content-type': contentType }, timeoutMs: 60_000 });
    count(answers, `submit: ${answerKey(submit)}`);
    const id = (JSON.parse(submit.body) as { id?: string }).id;
    const statusOf = async (): Promise<{ status?: string; framesDone?: number }> => JSON.parse((await request(`${farm.gatewayUrl}/api/jobs/${id}`, { timeoutMs: 10_000 })).body) as { status?: string; framesDone?: number };
    const until = Date.now() + Math.max(options.durationMs, 180_000);
    let job = await statusOf();
    while (id && !(job.framesDone && job.framesDone > 0) && job.status !== 'done' && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 200));
      job = await statusOf();
    }
    await workers[0]!.kill();
    while (id && !['done', 'failed', 'canceled'].includes(job.status ?? '') && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 500));
      job = await statusOf();
    }
    const lines = workers[1]!.log().split('\n').filter((l) => l.includes(`"job":"${id}"`));
    const said = (msg: string): number => lines.filter((l) => l.includes(`"msg":"${msg}"`)).length;
    return {
      attack: 'a farm worker says nothing about the chunks it paints',
      answers,
      observed: { job: job.status, survivorTaken: said('chunk taken'), survivorFinished: said('chunk finished'), survivorHandedOn: said('chunk handed on: BullMQ retries it here or on another worker'), survivorLinesAboutJob: lines.length },
    };
  } finally {
    await Promise.all(workers.map((w) => w.kill()));
    await farm.stop();
  }
}
