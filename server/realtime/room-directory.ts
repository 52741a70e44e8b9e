/**
 * Who may publish to or watch a room. Creating a room (POST /api/rooms) hands out an unguessable
 * publish token; a private room also has a view token. Tokens are compared in constant time.
 * Rooms live as long as the server process (a restarted server hands out new ones).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { ErrorCode, StylizeError } from '../errors.js';

export const ROOM_NAME = /^[A-Za-z0-9_-]{1,64}$/;

export interface RoomGrant {
  room: string;
  publishToken: string;
  /** Only for private rooms. */
  viewToken?: string;
}

export type Access = 'ok' | 'forbidden';

export interface RoomDirectory {
  create(request: { room?: string | undefined; private?: boolean | undefined }): RoomGrant;
  canPublish(room: string, token: string | undefined): Access;
  canView(room: string, token: string | undefined): Access;
  has(room: string): boolean;
}

const token = (): string => randomBytes(24).toString('base64url');

function same(a: string, b: string | undefined): boolean {
  if (b === undefined) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function createRoomDirectory(maxRooms = 10_000): RoomDirectory {
  const rooms = new Map<string, RoomGrant>();
  return {
    create(request) {
      const room = request.room ?? randomBytes(6).toString('base64url').replace(/[^A-Za-z0-9]/g, 'x');
      if (!ROOM_NAME.test(room)) throw new StylizeError(ErrorCode.BAD_INPUT, 'room must be 1-64 letters, digits, - or _');
      if (rooms.has(room)) throw new StylizeError(ErrorCode.ROOM_TAKEN, `room "${room}" already exists; pick another name`);
      if (rooms.size >= maxRooms) throw new StylizeError(ErrorCode.TOO_LARGE, 'too many rooms on this server');
      const grant: RoomGrant = { room, publishToken: token(), ...(request.private ? { viewToken: token() } : {}) };
      rooms.set(room, grant);
      return { ...grant };
    },
    canPublish(room, given) {
      const grant = rooms.get(room);
      return grant && same(grant.publishToken, given) ? 'ok' : 'forbidden';
    },
    canView(room, given) {
      const grant = rooms.get(room);
      if (!grant?.viewToken) return 'ok';
      return same(grant.viewToken, given) || same(grant.publishToken, given) ? 'ok' : 'forbidden';
    },
    has: (room) => rooms.has(room),
  };
}
