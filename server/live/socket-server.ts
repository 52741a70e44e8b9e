/**
 * The WebSocket endpoint `/ws?room=<name>&role=publish|view` on the HTTP server's port
 * (ws in noServer mode, upgraded here). Publishers send JPEG frames and config messages;
 * everyone receives stylized frames and stats. Client bytes never crash the server: bad input
 * gets {"type":"error"} (recoverable) or a close code (abuse), as docs/protocol.md says.
 *
 * With several gateways (the worker farm), the room directory and a frame bus are shared in
 * Redis: a publish token works on any gateway, one publisher per room cluster-wide (another
 * gateway answers 409), viewer counts are the cluster's, and viewers here receive the frames a
 * publisher on another gateway has painted there. Alone, both are this process's own.
 *
 * Nothing a client does can grow this process without bound: messages are capped by size
 * (viewers may send next to nothing), replies to a client that does not read are dropped like
 * frames, error texts are short and never echo input, and painting happens elsewhere (the
 * FrameProcessor: a stream process per stream, at most `maxLiveStreams`).
 *
 * The parts, in socket/: admission (the upgrade checks), heartbeat, local-rooms (rooms and the
 * frame bus), room-reports (stats once a second), publisher and viewer (each connection's role).
 */
import type { Server } from 'node:http';
import WebSocket, { WebSocketServer } from 'ws';
import { WsClose, wsCloseFor } from '../errors.js';
import { createLocalFrameBus } from './frame-bus.js';
import { clientsOf, sendError, track, type Room } from './room.js';
import { createAdmission } from './socket/admission.js';
import { startHeartbeat } from './socket/heartbeat.js';
import { createLocalRooms, type LocalRooms } from './socket/local-rooms.js';
import { startPublisher } from './socket/publisher.js';
import { startRoomReports } from './socket/room-reports.js';
import { quietly, type Role, type SocketContext, type SocketServerDeps } from './socket/socket-context.js';
import { startViewer, VIEWER_MAX_PAYLOAD } from './socket/viewer.js';

export type { SocketServerDeps } from './socket/socket-context.js';

export interface SocketServer {
  /** Attach to an HTTP server's 'upgrade' event. */
  attach(server: Server): void;
  rooms(): ReadonlyMap<string, Room>;
  /** Closes every socket with 1001 and stops every stream. Safe to call twice. */
  close(): Promise<void>;
}

export function createSocketServer(deps: SocketServerDeps): SocketServer {
  const servers: Record<Role, WebSocketServer> = {
    publish: new WebSocketServer({ noServer: true, maxPayload: deps.maxFrameBytes, perMessageDeflate: false }),
    view: new WebSocketServer({ noServer: true, maxPayload: VIEWER_MAX_PAYLOAD, perMessageDeflate: false }),
  };
  const context: SocketContext = { deps, bus: deps.bus ?? createLocalFrameBus(), gateway: deps.gateway ?? 'local' };
  const rooms = createLocalRooms(context);
  const reports = startRoomReports(context, rooms.map);
  const heartbeat = startHeartbeat([servers.publish, servers.view]);
  let closing: Promise<void> | undefined;

  const onConnection = (ws: WebSocket, roomName: string, role: Role, address: string): void => {
    heartbeat.watch(ws);
    connect(context, rooms, { ws, roomName, role, address });
  };
  const onUpgrade = createAdmission({ context, rooms: rooms.map, servers, closing: () => closing !== undefined, onConnection });

  return {
    attach(server) {
      server.on('upgrade', onUpgrade);
    },
    rooms: () => rooms.map,
    close() {
      closing ??= (async () => {
        reports.stop();
        heartbeat.stop();
        await closeAll(rooms.map, Object.values(servers));
      })();
      return closing;
    },
  };
}

/** An admitted socket: into its room, as publisher or viewer, until it closes. */
function connect(context: SocketContext, rooms: LocalRooms, { ws, roomName, role, address }: { ws: WebSocket; roomName: string; role: Role; address: string }): void {
  const { deps } = context;
  deps.metrics.connections.inc({ role });
  const room = rooms.enter(roomName);
  track(room, ws);
  const log = deps.log.child({ room: roomName, role });
  const error = (code: string, message: string): void => {
    sendError(ws, code, message);
    const close = wsCloseFor(code);
    if (close !== undefined) ws.close(close, message.slice(0, 120));
  };
  const client = { ws, room, log, address, error };
  let publisherEnded: ((code: number) => void) | undefined;
  // Registered first, whatever the role's start does: a publisher refused at the live-stream cap
  // closes too, and its count, its directory entry and its room must go with it.
  ws.on('error', (e) => log.debug({ err: e }, 'socket error'));
  ws.on('close', (code) => {
    deps.metrics.connections.dec({ role });
    quietly(deps.directory.leave(roomName));
    publisherEnded?.(code);
    room.viewers.delete(ws);
    rooms.forget(room);
    log.debug({ code }, 'closed');
  });
  if (role === 'publish') publisherEnded = startPublisher(context, client);
  else startViewer(context, client);
}

/** Every socket closed with 1001 (cut off after 2 s), every stream stopped, the servers closed. */
async function closeAll(rooms: ReadonlyMap<string, Room>, servers: readonly WebSocketServer[]): Promise<void> {
  const sockets = [...rooms.values()].flatMap(clientsOf);
  for (const room of rooms.values()) room.publisher?.session.close();
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve();
          ws.once('close', () => resolve());
          ws.close(WsClose.GOING_AWAY, 'server shutting down');
          setTimeout(() => {
            ws.terminate();
            resolve();
          }, 2000).unref();
        }),
    ),
  );
  await Promise.all(servers.map((wss) => new Promise<void>((resolve) => wss.close(() => resolve()))));
  for (const room of rooms.values()) room.unsubscribe?.();
}
