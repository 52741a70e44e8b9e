/**
 * The rooms with a client on this gateway: made when the first client comes, forgotten when the
 * last one leaves. Each follows its room on the frame bus, so viewers here also receive what a
 * publisher on another gateway paints there.
 */
import type { StreamStatus } from '../frame-bus.js';
import { broadcastFrame, broadcastStats, createRoom, type Room } from '../room.js';
import { quietly, type SocketContext } from './socket-context.js';

export interface LocalRooms {
  readonly map: ReadonlyMap<string, Room>;
  /** The room `name` (made if new), following the frame bus. */
  enter(name: string): Room;
  /** Drops the room if nobody is left in it here. */
  forget(room: Room): void;
}

export function createLocalRooms(context: SocketContext): LocalRooms {
  const rooms = new Map<string, Room>();
  const { deps, bus, gateway } = context;

  function roomFor(name: string): Room {
    let room = rooms.get(name);
    if (!room) {
      room = createRoom(name, deps.viewerStallMs);
      rooms.set(name, room);
    }
    return room;
  }

  /** Frames and stats of a publisher on another gateway, for this gateway's viewers. */
  function follow(room: Room): void {
    room.unsubscribe ??= bus.subscribe(room.name, {
      frame: (message) => {
        if (!room.publisher) broadcastFrame(room, { message });
      },
      status: (status: StreamStatus) => {
        if (room.publisher) return;
        room.remoteSettings = status.settings;
        broadcastStats(room, status.stats);
      },
      ended: () => {
        if (room.publisher) return;
        room.latest = undefined;
        room.remoteSettings = undefined;
      },
    });
  }

  return {
    map: rooms,
    enter(name) {
      const room = roomFor(name);
      quietly(deps.directory.enter(name));
      follow(room);
      return room;
    },
    forget(room) {
      if (room.publisher || room.viewers.size > 0) return;
      rooms.delete(room.name);
      room.unsubscribe?.();
      // Nobody here any more: the cluster's count drops now, not when this gateway's lease runs out.
      quietly(deps.directory.reportViewers(room.name, gateway, 0));
    },
  };
}
