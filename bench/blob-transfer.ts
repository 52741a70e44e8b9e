/**
 * How a painted segment should travel from a farm worker to its gateway: the gateway's own
 * authenticated blob endpoints (what the farm does: server/http/blob-routes.ts through
 * server/jobs/farm/http-blob-client.ts, PUT then GET) against Redis (SET then GET on the farm's own
 * redis-server). Both go file → store → file, as a segment does (the worker's encoder writes a
 * file, the gateway's ffmpeg reads one). Sizes: two real chunk segments (one chunk's frames,
 * `defaultChunkFrames`, encoded as workers encode them: H.264 CRF 20 at 144 px from the Bunny
 * clip and at 360 px from the cockatoo clip; unpainted, painted ones are larger) and random
 * buffers. Prints per size the median milliseconds of a round trip (and of each half) over
 * `--repeats` runs after 2 warm-up runs, and how much Redis memory one stored segment takes.
 *
 *   npm run bench -- blob-transfer [--sizes 50k,200k,1m,5m] [--repeats 15]
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createBlobClient } from '../server/jobs/farm/http-blob-client.js';
import { closeRedis, connectRedis, farmSecret, type Redis } from '../server/farm/redis.js';
import { defaultChunkFrames } from '../server/jobs/chunk-plan.js';
import { BURN_IN_FRAMES } from '../server/jobs/job-queue.js';
import { decodeRgbFrames, encodeH264, probeVideo } from '../server/video/ffmpeg.js';
import { BBB_MP4, COCKATOO, tempDir } from '../test/helpers/paths.js';
import { startRedis } from '../test/helpers/redis.js';
import { startServe } from './process.js';

const round = (x: number, digits = 1): number => Number(x.toFixed(digits));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(text.trim());
  if (!match) throw new Error(`--sizes: "${text}" is not a size like 50k or 1m`);
  return Math.round(Number(match[1]) * ({ '': 1, k: 1024, m: 1024 * 1024 }[match[2]!.toLowerCase()] ?? 1));
}

/** One chunk of `clip` as a worker would store it: its first chunk's frames, H.264 at `short` px. */
async function realSegment(clip: string, short: number, file: string): Promise<number> {
  const info = await probeVideo(clip);
  const scale = short / Math.min(info.width, info.height);
  const size = { width: Math.round((info.width * scale) / 2) * 2, height: Math.round((info.height * scale) / 2) * 2 };
  const frames = defaultChunkFrames(info.fps, BURN_IN_FRAMES);
  const sink = encodeH264(file, info, size, size);
  for await (const rgb of decodeRgbFrames(clip, info, size, { start: 0, end: Math.min(frames, info.frames) })) await sink.write(rgb);
  await sink.finish();
  return frames;
}

async function redisUsedBytes(redis: Redis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? Number.NaN);
}

/** Redis memory for `count` copies of a segment held at once (a job's chunks waiting for assembly). */
async function redisHolding(redis: Redis, file: string, count: number): Promise<{ perKey: number; usedFor: number }> {
  const data = await readFile(file);
  const keys = Array.from({ length: count }, (_, i) => `stylize:bench:held:${i}`);
  const before = await redisUsedBytes(redis);
  for (const key of keys) await redis.set(key, data);
  const after = await redisUsedBytes(redis);
  const perKey = Number(await redis.call('MEMORY', 'USAGE', keys[0]!));
  await redis.del(...keys);
  return { perKey, usedFor: after - before };
}

export async function runBlobTransferBench(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { sizes: { type: 'string', default: '50k,200k,1m,5m' }, repeats: { type: 'string', default: '15' } } });
  const repeats = Number(values.repeats);
  const redisServer = await startRedis();
  const { dir, cleanup } = await tempDir('stylize-bench-blobs-');
  let gateway: Awaited<ReturnType<typeof startServe>> | undefined;
  const redis = connectRedis(redisServer.url, { name: 'bench-blobs' });
  try {
    gateway = await startServe(['--log-level', 'warn', '--data-dir', path.join(dir, 'gateway')], { REDIS_URL: redisServer.url });
    const home = `http://127.0.0.1:${gateway.port}`;
    const blobs = createBlobClient({ secret: await farmSecret(redis), patienceMs: 10_000 });
    const jobId = 'benchblobs000000';

    const inputs: { label: string; file: string }[] = [];
    for (const [clip, short] of [[BBB_MP4, 144], [COCKATOO, 360]] as const) {
      const file = path.join(dir, `segment-${short}.mp4`);
      const frames = await realSegment(clip, short, file);
      inputs.push({ label: `chunk segment: ${frames} frames, ${short} px, ${path.basename(clip)}`, file });
    }
    for (const text of values.sizes.split(',')) {
      const file = path.join(dir, `random-${text}`);
      await writeFile(file, randomBytes(parseSize(text)));
      inputs.push({ label: `random ${text}`, file });
    }

    const received = path.join(dir, 'received');
    for (const { label, file } of inputs) {
      const bytes = (await stat(file)).size;
      const http = { put: [] as number[], get: [] as number[], total: [] as number[] };
      const viaRedis = { set: [] as number[], get: [] as number[], total: [] as number[] };
      for (let i = 0; i < repeats + 2; i++) {
        const key = `${jobId}/chunks/${String(i).padStart(5, '0')}.mp4`;
        const t0 = performance.now();
        await blobs.upload(home, key, file);
        const t1 = performance.now();
        await blobs.download(home, key, received);
        const t2 = performance.now();
        // The same segment through Redis: read the encoder's file, SET, GET, write it for ffmpeg.
        const redisKey = `stylize:bench:segment:${i}`;
        const t3 = performance.now();
        await redis.set(redisKey, await readFile(file));
        const t4 = performance.now();
        await writeFile(received, (await redis.getBuffer(redisKey))!);
        const t5 = performance.now();
        await redis.del(redisKey);
        if (i < 2) continue; // warm-up: connections, page cache, JIT
        http.put.push(t1 - t0);
        http.get.push(t2 - t1);
        http.total.push(t2 - t0);
        viaRedis.set.push(t4 - t3);
        viaRedis.get.push(t5 - t4);
        viaRedis.total.push(t5 - t3);
      }
      await blobs.delete(home, jobId);
      const held = await redisHolding(redis, file, 10);
      console.log(
        JSON.stringify({
          bench: 'blob-transfer',
          segment: label,
          kB: round(bytes / 1024),
          repeats,
          httpRoundTripMs: round(median(http.total), 2),
          httpPutGetMs: [round(median(http.put), 2), round(median(http.get), 2)],
          redisRoundTripMs: round(median(viaRedis.total), 2),
          redisSetGetMs: [round(median(viaRedis.set), 2), round(median(viaRedis.get), 2)],
          redisMbPerStoredSegment: round(held.perKey / 1024 / 1024, 3),
          redisUsedMbFor10Held: round(held.usedFor / 1024 / 1024, 2),
          loadAvg1: round(os.loadavg()[0]!),
        }),
      );
    }
    const peak = Number(/used_memory_peak:(\d+)/.exec(await redis.info('memory'))?.[1] ?? Number.NaN);
    console.log(JSON.stringify({ bench: 'blob-transfer', redisUsedMemoryPeakMb: round(peak / 1024 / 1024), note: 'segments through Redis sit in its memory until the gateway takes them' }));
  } finally {
    await closeRedis(redis);
    await gateway?.stop();
    await redisServer.stop();
    await cleanup();
  }
}
