/**
 * Who may publish to or watch a room. Creating a room (POST /api/rooms) hands out an unguessable
 * publish token; a private room also has a view token. Tokens are compared in constant time.
 * Rooms are bounded: at most `maxRooms` exist, and a room nobody is connected to is forgotten
 * (tokens and all) `idleMs` after its last connection left — or after its creation, if nobody
 * ever came. So neither a script creating rooms nor years of uptime can fill the table.
 *
 * `RoomDirectory` is what the socket server and routes use; its answers may come later (a
 * directory shared by several gateways lives in Redis: live/redis-room-directory.ts).
 * This file's in-memory directory answers at once and is the one a lone server uses.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { BusyError, ErrorCode, StylizeError } from '../errors.js';

export const ROOM_NAME = /^[A-Za-z0-9_-]{1,64}$/;

export interface RoomGrant {
  room: string;
  publishToken: string;
  /** Only for private rooms. */
  viewToken?: string;
}

export type Access = 'ok' | 'forbidden';

type Awaitable<T> = T | Promise<T>;

export interface RoomDirectory {
  create(request: { room?: string | undefined; private?: boolean | undefined }): Awaitable<RoomGrant>;
  canPublish(room: string, token: string | undefined): Awaitable<Access>;
  canView(room: string, token: string | undefined): Awaitable<Access>;
  has(room: string): Awaitable<boolean>;
  enter(room: string): Awaitable<void>;
  leave(room: string): Awaitable<void>;
  /**
   * One publisher per room across every gateway: true when `gateway` may hold the room's stream
   * (nobody holds it, or `gateway` already does — its own publisher rule then decides).
   */
  claimPublisher(room: string, gateway: string): Awaitable<boolean>;
  /** The stream of `room` on `gateway` ended. */
  releasePublisher(room: string, gateway: string): Awaitable<void>;
  /** This gateway has `local` viewers in the room; returns the room's viewers on every gateway. */
  reportViewers(room: string, gateway: string, local: number): Awaitable<number>;
  sweep(): Awaitable<number>;
  close(): Awaitable<void>;
}

/** The in-memory directory: every answer at once. */
export interface MemoryRoomDirectory extends RoomDirectory {
  create(request: { room?: string | undefined; private?: boolean | undefined }): RoomGrant;
  canPublish(room: string, token: string | undefined): Access;
  canView(room: string, token: string | undefined): Access;
  has(room: string): boolean;
  /** A socket joined the room (publisher or viewer): it does not expire while anyone is in. */
  enter(room: string): void;
  /** A socket left the room: its idle time starts when the last one leaves. */
  leave(room: string): void;
  /** Forgets idle rooms now (also runs on a timer); returns how many went. */
  sweep(): number;
  readonly size: number;
  /** Stops the sweep timer. */
  close(): void;
  /** One server: its own publisher rule is the only one. */
  claimPublisher(room: string, gateway: string): boolean;
  releasePublisher(room: string, gateway: string): void;
  reportViewers(room: string, gateway: string, local: number): number;
}

interface Entry {
  grant: RoomGrant;
  sockets: number;
  idleSince: number;
}

const token = (): string => randomBytes(24).toString('base64url');

function same(a: string, b: string | undefined): boolean {
  if (b === undefined) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface RoomDirectoryOptions {
  maxRooms?: number;
  idleMs?: number;
  now?: () => number;
  /** Called with each room forgotten for being idle (for the log). */
  onExpire?: (room: string) => void;
}

export function createRoomDirectory(options: RoomDirectoryOptions = {}): MemoryRoomDirectory {
  const maxRooms = options.maxRooms ?? 1000;
  const idleMs = options.idleMs ?? 10 * 60_000;
  const now = options.now ?? (() => Date.now());
  const rooms = new Map<string, Entry>();

  function sweep(): number {
    const t = now();
    let gone = 0;
    for (const [name, entry] of rooms) {
      if (entry.sockets === 0 && t - entry.idleSince >= idleMs) {
        rooms.delete(name);
        gone++;
        options.onExpire?.(name);
      }
    }
    return gone;
  }

  const timer = setInterval(sweep, Math.min(60_000, Math.max(1000, idleMs / 4)));
  timer.unref();

  return {
    create(request) {
      const room = request.room ?? randomBytes(6).toString('base64url').replace(/[^A-Za-z0-9]/g, 'x');
      if (!ROOM_NAME.test(room)) throw new StylizeError(ErrorCode.BAD_INPUT, 'room must be 1-64 letters, digits, - or _');
      if (rooms.has(room)) throw new StylizeError(ErrorCode.ROOM_TAKEN, `room "${room}" already exists; pick another name`);
      if (rooms.size >= maxRooms && sweep() === 0) {
        throw new BusyError(`this server has ${maxRooms} rooms, its limit; try again in a few minutes`, 60);
      }
      const grant: RoomGrant = { room, publishToken: token(), ...(request.private ? { viewToken: token() } : {}) };
      rooms.set(room, { grant, sockets: 0, idleSince: now() });
      return { ...grant };
    },
    canPublish(room, given) {
      const entry = rooms.get(room);
      return entry && same(entry.grant.publishToken, given) ? 'ok' : 'forbidden';
    },
    canView(room, given) {
      const entry = rooms.get(room);
      if (!entry?.grant.viewToken) return 'ok';
      return same(entry.grant.viewToken, given) || same(entry.grant.publishToken, given) ? 'ok' : 'forbidden';
    },
    has: (room) => rooms.has(room),
    enter(room) {
      const entry = rooms.get(room);
      if (entry) entry.sockets++;
    },
    leave(room) {
      const entry = rooms.get(room);
      if (!entry) return;
      entry.sockets = Math.max(0, entry.sockets - 1);
      if (entry.sockets === 0) entry.idleSince = now();
    },
    sweep,
    claimPublisher: () => true,
    releasePublisher: () => undefined,
    reportViewers: (_room, _gateway, local) => local,
    get size() {
      return rooms.size;
    },
    close() {
      clearInterval(timer);
    },
  };
}
