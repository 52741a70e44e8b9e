/**
 * Once a second, each room's report: its viewer count into the (shared) room directory, and its
 * publisher's stats to everyone in the room, here and on the frame bus for other gateways.
 */
import type { Room } from '../room.js';
import { broadcastStats } from '../room.js';
import type { SocketContext } from './socket-context.js';

const STATS_INTERVAL_MS = 1000;

export function startRoomReports(context: SocketContext, rooms: ReadonlyMap<string, Room>): { stop(): void } {
  let reporting = false;
  const timer = setInterval(() => {
    // One round at a time: a slow shared directory must not pile rounds up.
    if (reporting) return;
    reporting = true;
    void Promise.all([...rooms.values()].map((room) => reportRoom(context, room))).finally(() => (reporting = false));
  }, STATS_INTERVAL_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/** Viewer counts into the directory; the publisher's stats to its room, here and on the bus. */
async function reportRoom({ deps, bus, gateway }: SocketContext, room: Room): Promise<void> {
  try {
    const viewers = await deps.directory.reportViewers(room.name, gateway, room.viewers.size);
    const publisher = room.publisher;
    if (!publisher) return;
    // Renews this gateway's hold on the room's stream (it lapses if the gateway dies).
    if (!(await deps.directory.claimPublisher(room.name, gateway))) deps.log.warn({ room: room.name }, 'another gateway holds this room\'s stream now');
    const stats = publisher.session.stats(viewers);
    broadcastStats(room, stats);
    bus.publishStatus(room.name, { stats, settings: publisher.session.settings() });
  } catch (error) {
    deps.log.debug({ err: error, room: room.name }, 'room report failed (shared directory away?)');
  }
}
