/**
 * Pings every socket every `intervalMs`; one that has not answered the previous ping by then is
 * cut off (a peer gone without closing would otherwise hold its room and its memory forever).
 */
import type WebSocket from 'ws';
import type { WebSocketServer } from 'ws';

export const HEARTBEAT_MS = 30_000;

export interface Heartbeat {
  /** Counts `socket` alive now and on each pong. */
  watch(socket: WebSocket): void;
  stop(): void;
}

export function startHeartbeat(servers: readonly WebSocketServer[], intervalMs = HEARTBEAT_MS): Heartbeat {
  const alive = new WeakSet<WebSocket>();
  const timer = setInterval(() => {
    for (const socket of servers.flatMap((server) => [...server.clients])) {
      if (!alive.has(socket)) {
        socket.terminate();
        continue;
      }
      alive.delete(socket);
      socket.ping();
    }
  }, intervalMs);
  timer.unref();
  return {
    watch(socket) {
      alive.add(socket);
      socket.on('pong', () => alive.add(socket));
    },
    stop: () => clearInterval(timer),
  };
}
