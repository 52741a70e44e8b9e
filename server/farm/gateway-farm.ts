/**
 * What makes `stylize serve` a gateway of a worker farm (REDIS_URL): video jobs on BullMQ, rooms
 * and the frame bus in Redis, under this gateway's persistent id. `startServer` asks for this
 * instead of the in-process pieces; routes, sockets and page do not know the difference.
 */
import type { ServerOptions } from '../config.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { FrameBus } from '../live/frame-bus.js';
import type { RoomDirectory } from '../live/room-directory.js';
import type { VideoLimits } from '../video/ffmpeg.js';
import { createFarmJobQueue, type FarmJobQueue } from '../jobs/farm/farm-job-queue.js';
import { createRedisFrameBus } from '../live/redis-frame-bus.js';
import { createRedisRoomDirectory } from '../live/redis-room-directory.js';
import { closeRedis, connectRedis, farmIdentity, untilReady } from './redis.js';

export interface GatewayFarm {
  gateway: string;
  jobs: FarmJobQueue;
  directory: RoomDirectory;
  bus: FrameBus;
  close(): Promise<void>;
}

export async function joinFarm(options: ServerOptions & { redisUrl: string }, deps: { log: Logger; metrics: Metrics; limits: VideoLimits; home: () => string }): Promise<GatewayFarm> {
  const { log } = deps;
  const gateway = await farmIdentity(options.dataDir, 'gateway');
  const rooms = connectRedis(options.redisUrl, { name: 'gateway-rooms', failFast: true, log });
  const framesOut = connectRedis(options.redisUrl, { name: 'gateway-frames-out', failFast: true, log });
  const framesIn = connectRedis(options.redisUrl, { name: 'gateway-frames-in', log });
  // Fail-fast connections take no command before they are ready: wait for them (or say Redis is not there).
  await Promise.all([rooms, framesOut].map((redis) => untilReady(redis))).catch(async (error: unknown) => {
    await Promise.all([rooms, framesOut, framesIn].map(closeRedis));
    throw error;
  });
  const jobs = await createFarmJobQueue({
    redisUrl: options.redisUrl,
    dataDir: options.dataDir,
    gateway,
    home: deps.home,
    limits: deps.limits,
    log,
    metrics: deps.metrics.jobs,
    maxJobCost: options.maxJobCost,
    maxJobsPerClient: options.maxJobsPerClient,
    maxQueuedJobs: options.maxQueuedJobs,
    retentionS: options.jobRetentionS,
    farmSecret: options.farmSecret,
  }).catch(async (error: unknown) => {
    await Promise.all([rooms, framesOut, framesIn].map(closeRedis));
    throw error;
  });
  const directory = createRedisRoomDirectory({ redis: rooms, maxRooms: options.maxRooms, idleMs: options.roomIdleMs });
  const bus = createRedisFrameBus({ publisher: framesOut, subscriber: framesIn, gateway });
  log.info({ gateway }, 'gateway of a worker farm: jobs and rooms in Redis');
  return {
    gateway,
    jobs,
    directory,
    bus,
    async close() {
      await directory.close();
      await Promise.all([jobs.close(), bus.close()]);
      await closeRedis(rooms);
    },
  };
}
