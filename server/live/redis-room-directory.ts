/**
 * The room directory of a farm's gateways, in Redis: a room created on one gateway (its tokens,
 * its privacy) is known to all, the one-publisher rule holds across them, and viewer counts add
 * up every gateway's. The same bounds as the in-memory directory: at most `maxRooms`, and a room
 * nobody is connected to anywhere is forgotten `idleMs` after its last connection left (each
 * gateway keeps renewing the rooms it has sockets in; Redis expires the rest).
 *
 * A gateway that dies without a word leaves nothing stuck: its hold on a room's stream and its
 * viewer counts are leases that run out within seconds.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { BusyError, ErrorCode, StylizeError } from '../errors.js';
import { ROOM_NAME, type Access, type RoomDirectory, type RoomGrant } from './room-directory.js';
import { KEYS, translatingRedisErrors, type Redis } from '../farm/redis.js';

/** A gateway holds a room's stream this long past its last renewal (renewed every second). */
const PUBLISHER_LEASE_MS = 10_000;
/** A gateway's viewer count in a room counts this long past its last report (once a second). */
const VIEWERS_LEASE_MS = 5_000;

/** KEYS: room, index. ARGV: name, now, idleMs, maxRooms, publishToken, viewToken (or ''). */
const CREATE = `
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[2])
if redis.call('EXISTS', KEYS[1]) == 1 then return 'taken' end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then return 'full' end
redis.call('HSET', KEYS[1], 'publishToken', ARGV[5])
if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'viewToken', ARGV[6]) end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], tonumber(ARGV[2]) + tonumber(ARGV[3]), ARGV[1])
return 'ok'
`;

/** KEYS: room, index. ARGV: name, now, idleMs. The room lives idleMs from now (if it still exists). */
const TOUCH = `
if redis.call('PEXPIRE', KEYS[1], ARGV[3]) == 1 then
  redis.call('ZADD', KEYS[2], tonumber(ARGV[2]) + tonumber(ARGV[3]), ARGV[1])
end
return 1
`;

/** KEYS: publisher. ARGV: gateway, leaseMs. */
const CLAIM = `
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`;

/** KEYS: publisher. ARGV: gateway. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`;

/** KEYS: viewers. ARGV: gateway, count, now, leaseMs. Returns the sum of the live counts. */
const REPORT_VIEWERS = `
if tonumber(ARGV[2]) > 0 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. (tonumber(ARGV[3]) + tonumber(ARGV[4])))
  redis.call('PEXPIRE', KEYS[1], ARGV[4] * 4)
else
  redis.call('HDEL', KEYS[1], ARGV[1])
end
local total = 0
local entries = redis.call('HGETALL', KEYS[1])
for i = 1, #entries, 2 do
  local count, expires = string.match(entries[i + 1], '^(%d+):(%d+)$')
  if count and tonumber(expires) >= tonumber(ARGV[3]) then total = total + tonumber(count)
  else redis.call('HDEL', KEYS[1], entries[i]) end
end
return total
`;

const token = (): string => randomBytes(24).toString('base64url');

function same(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface RedisRoomDirectoryOptions {
  redis: Redis;
  maxRooms: number;
  idleMs: number;
  now?: () => number;
}

export function createRedisRoomDirectory(options: RedisRoomDirectoryOptions): RoomDirectory {
  const { redis, maxRooms, idleMs } = options;
  const now = options.now ?? (() => Date.now());
  /** Sockets this gateway has in each room: those rooms are kept alive from here. */
  const local = new Map<string, number>();
  const touch = (room: string): Promise<unknown> => redis.eval(TOUCH, 2, KEYS.room(room), KEYS.roomIndex, room, String(now()), String(idleMs));
  const renewer = setInterval(() => {
    for (const room of local.keys()) void touch(room).catch(() => undefined);
  }, Math.max(1000, Math.min(60_000, idleMs / 4)));
  renewer.unref();

  // Redis away or full: the route answers 503 and the socket closes 1013 (try again), never a 500.
  return translatingRedisErrors<RoomDirectory>({
    async create(request) {
      const room = request.room ?? randomBytes(6).toString('base64url').replace(/[^A-Za-z0-9]/g, 'x');
      if (!ROOM_NAME.test(room)) throw new StylizeError(ErrorCode.BAD_INPUT, 'room must be 1-64 letters, digits, - or _');
      const grant: RoomGrant = { room, publishToken: token(), ...(request.private ? { viewToken: token() } : {}) };
      const verdict = await redis.eval(CREATE, 2, KEYS.room(room), KEYS.roomIndex, room, String(now()), String(idleMs), String(maxRooms), grant.publishToken, grant.viewToken ?? '');
      if (verdict === 'taken') throw new StylizeError(ErrorCode.ROOM_TAKEN, `room "${room}" already exists; pick another name`);
      if (verdict === 'full') throw new BusyError(`this server has ${maxRooms} rooms, its limit; try again in a few minutes`, 60);
      return grant;
    },
    async canPublish(room, given): Promise<Access> {
      return same(await redis.hget(KEYS.room(room), 'publishToken') ?? undefined, given) ? 'ok' : 'forbidden';
    },
    async canView(room, given): Promise<Access> {
      const [publishToken, viewToken] = await redis.hmget(KEYS.room(room), 'publishToken', 'viewToken');
      if (!viewToken) return 'ok';
      return same(viewToken, given) || same(publishToken ?? undefined, given) ? 'ok' : 'forbidden';
    },
    has: async (room) => (await redis.exists(KEYS.room(room))) === 1,
    async enter(room) {
      local.set(room, (local.get(room) ?? 0) + 1);
      await touch(room);
    },
    async leave(room) {
      const left = (local.get(room) ?? 1) - 1;
      if (left > 0) local.set(room, left);
      else local.delete(room);
      // Its idle time starts now (unless another gateway keeps renewing it).
      await touch(room);
    },
    async claimPublisher(room, gateway) {
      return (await redis.eval(CLAIM, 1, KEYS.roomPublisher(room), gateway, String(PUBLISHER_LEASE_MS))) === 1;
    },
    async releasePublisher(room, gateway) {
      await redis.eval(RELEASE, 1, KEYS.roomPublisher(room), gateway);
    },
    async reportViewers(room, gateway, count) {
      return Number(await redis.eval(REPORT_VIEWERS, 1, KEYS.roomViewers(room), gateway, String(count), String(now()), String(VIEWERS_LEASE_MS)));
    },
    async sweep() {
      return Number(await redis.zremrangebyscore(KEYS.roomIndex, '-inf', String(now())));
    },
    close() {
      clearInterval(renewer);
    },
  });
}
