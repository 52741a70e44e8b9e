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
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer, type RawData } from 'ws';
import { ErrorCode, StylizeError, WsClose, wsCloseFor } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { FrameProcessor } from './frame-processor.js';
import type { LiveSettings } from './live-settings.js';
import { clientAddress, type TrustFunction } from '../security/client-address.js';
import type { OriginPolicy } from '../security/origin-policy.js';
import type { StyleLibrary } from '../styles/style-library.js';
import { createLocalFrameBus, type FrameBus, type StreamStatus } from './frame-bus.js';
import { createLiveSession, type LiveLimits } from './live-session.js';
import { decodeFrame, isProtocolError, parseClientMessage, publicConfig } from './protocol.js';
import { ROOM_NAME, type RoomDirectory } from './room-directory.js';
import { broadcastFrame, broadcastStats, clientsOf, createRoom, sendError, sendJson, track, type Room } from './room.js';
import { createFloodGuard, createRateCap, MAX_MESSAGES_PER_SECOND } from './rate-guards.js';

const STATS_INTERVAL_MS = 1000;
const HEARTBEAT_MS = 30_000;
/** Viewers only receive: anything larger than this from one is closed with 1009. */
const VIEWER_MAX_PAYLOAD = 1024;
/** Messages a viewer may send (each answered once with an error) before it is closed. */
const VIEWER_MAX_MESSAGES = 10;

export interface SocketServerDeps {
  processor: FrameProcessor;
  styles: StyleLibrary;
  metrics: Metrics;
  log: Logger;
  defaults: LiveSettings;
  limits: LiveLimits;
  maxFrameBytes: number;
  directory: RoomDirectory;
  origins: OriginPolicy;
  trustProxy: TrustFunction;
  maxConnectionsPerIp: number;
  maxPublishFps: number;
  viewerStallMs: number;
  /** Other gateways' frames (default: none, a lone server). */
  bus?: FrameBus;
  /** This gateway's name in the shared directory (default 'local'). */
  gateway?: string;
}

export interface SocketServer {
  /** Attach to an HTTP server's 'upgrade' event. */
  attach(server: Server): void;
  rooms(): ReadonlyMap<string, Room>;
  /** Closes every socket with 1001 and stops every stream. Safe to call twice. */
  close(): Promise<void>;
}

type Role = 'publish' | 'view';

export function createSocketServer(deps: SocketServerDeps): SocketServer {
  const publishers = new WebSocketServer({ noServer: true, maxPayload: deps.maxFrameBytes, perMessageDeflate: false });
  const viewers = new WebSocketServer({ noServer: true, maxPayload: VIEWER_MAX_PAYLOAD, perMessageDeflate: false });
  const rooms = new Map<string, Room>();
  const alive = new WeakSet<WebSocket>();
  const perIp = new Map<string, number>();
  let closing: Promise<void> | undefined;

  const bus = deps.bus ?? createLocalFrameBus();
  const gateway = deps.gateway ?? 'local';
  let reporting = false;
  const statsTimer = setInterval(() => {
    // One round at a time: a slow shared directory must not pile rounds up.
    if (reporting) return;
    reporting = true;
    void Promise.all([...rooms.values()].map(reportRoom)).finally(() => (reporting = false));
  }, STATS_INTERVAL_MS);
  statsTimer.unref();

  /** Viewer counts into the directory; the publisher's stats to its room, here and on the bus. */
  async function reportRoom(room: Room): Promise<void> {
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

  const heartbeat = setInterval(() => {
    for (const socket of [...publishers.clients, ...viewers.clients]) {
      if (!alive.has(socket)) {
        socket.terminate();
        continue;
      }
      alive.delete(socket);
      socket.ping();
    }
  }, HEARTBEAT_MS);
  heartbeat.unref();

  function reject(socket: Duplex, status: number, reason: string): void {
    socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(reason)}\r\n\r\n${reason}`);
  }

  function onUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    admit(request, socket, head).catch((error: unknown) => {
      // The shared directory is unreachable (Redis away): try again later.
      deps.log.warn({ err: error }, 'could not check a WebSocket upgrade');
      reject(socket, 503, 'Service unavailable, try again');
    });
  }

  async function admit(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== '/ws') return reject(socket, 404, 'Not Found');
    if (closing) return reject(socket, 503, 'Server shutting down');
    const room = url.searchParams.get('room') ?? '';
    const role = url.searchParams.get('role') ?? 'view';
    if (!ROOM_NAME.test(room)) return reject(socket, 400, 'room must be 1-64 letters, digits, - or _');
    if (role !== 'publish' && role !== 'view') return reject(socket, 400, 'role must be publish or view');
    if (!deps.origins.hostAllowed(request.headers.host)) return reject(socket, 403, 'host not allowed');
    if (!deps.origins.originAllowed(request.headers.origin, request.headers.host)) return reject(socket, 403, 'origin not allowed');
    const token = url.searchParams.get('token') ?? headerValue(request.headers['x-stylize-token']);
    if (role === 'publish' && (await deps.directory.canPublish(room, token)) !== 'ok') {
      return reject(socket, 401, 'publishing needs the room\'s token (POST /api/rooms)');
    }
    if (role === 'view' && (await deps.directory.canView(room, token)) !== 'ok') return reject(socket, 401, 'this room is private');
    if (role === 'publish' && hasLivePublisher(rooms.get(room))) return reject(socket, 409, 'room already has a publisher');
    if (role === 'publish' && !(await deps.directory.claimPublisher(room, gateway))) return reject(socket, 409, 'room already has a publisher (on another gateway)');
    const ip = clientAddress(request, deps.trustProxy);
    if ((perIp.get(ip) ?? 0) >= deps.maxConnectionsPerIp) {
      if (role === 'publish' && !hasLivePublisher(rooms.get(room))) await deps.directory.releasePublisher(room, gateway);
      return reject(socket, 429, 'too many connections from this address');
    }
    if (closing || socket.destroyed) return void socket.destroy();
    const server = role === 'publish' ? publishers : viewers;
    server.handleUpgrade(request, socket, head, (ws) => {
      perIp.set(ip, (perIp.get(ip) ?? 0) + 1);
      ws.once('close', () => {
        const left = (perIp.get(ip) ?? 1) - 1;
        if (left > 0) perIp.set(ip, left);
        else perIp.delete(ip);
      });
      onConnection(ws, room, role, ip);
    });
  }

  function roomFor(name: string): Room {
    let room = rooms.get(name);
    if (!room) {
      room = createRoom(name, deps.viewerStallMs);
      rooms.set(name, room);
    }
    return room;
  }

  /**
   * A publisher whose socket is closing does not hold the room: a page that reconnects (camera ↔
   * file) would otherwise be refused until the old TCP connection is fully gone.
   */
  function hasLivePublisher(room: Room | undefined): boolean {
    return room?.publisher?.socket.readyState === WebSocket.OPEN;
  }

  function forget(room: Room): void {
    if (room.publisher || room.viewers.size > 0) return;
    rooms.delete(room.name);
    room.unsubscribe?.();
    // Nobody here any more: the cluster's count drops now, not when this gateway's lease runs out.
    void Promise.resolve(deps.directory.reportViewers(room.name, gateway, 0)).catch(() => undefined);
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

  function onConnection(ws: WebSocket, roomName: string, role: Role, client: string): void {
    alive.add(ws);
    ws.on('pong', () => alive.add(ws));
    deps.metrics.connections.inc({ role });
    const room = roomFor(roomName);
    void Promise.resolve(deps.directory.enter(roomName)).catch(() => undefined);
    follow(room);
    track(room, ws);
    const log = deps.log.child({ room: roomName, role });
    const error = (code: string, message: string): void => {
      sendError(ws, code, message);
      const close = wsCloseFor(code);
      if (close !== undefined) ws.close(close, message.slice(0, 120));
    };

    if (role === 'publish') {
      if (room.publisher) {
        // The previous publisher is closing (the upgrade check let this one in): its stream ends now.
        room.publisher.session.close();
        room.publisher = undefined;
      }
      let stream;
      try {
        stream = deps.processor.open(roomName);
      } catch (e) {
        // At the cap on live streams: the handshake is done so that a browser can read why
        // (it cannot see an HTTP status): error BUSY, then close 1013 "try again later".
        log.info({ client }, 'publisher refused: live streams at the cap');
        void Promise.resolve(deps.directory.releasePublisher(roomName, gateway)).catch(() => undefined);
        return error(e instanceof StylizeError ? e.code : ErrorCode.INTERNAL, e instanceof Error ? e.message : String(e));
      }
      const session = createLiveSession({
        stream,
        model: deps.processor.model,
        styles: deps.styles,
        metrics: deps.metrics,
        log,
        defaults: deps.defaults,
        limits: deps.limits,
        onFrame: (frame) => {
          broadcastFrame(room, frame);
          bus.publishFrame(roomName, frame.message);
        },
        onError: error,
      });
      room.publisher = { socket: ws, session };
      log.info({ client }, 'publisher started');
      const flood = createFloodGuard();
      const frameRate = createRateCap(deps.maxPublishFps);
      ws.on('message', (data: RawData, isBinary: boolean) => {
        if (flood.tooMany()) return error(ErrorCode.FLOOD, `more than ${MAX_MESSAGES_PER_SECOND} messages a second`);
        const bytes = toBuffer(data);
        if (isBinary) {
          const frame = decodeFrame(bytes);
          if (isProtocolError(frame)) return error(frame.code, frame.message);
          // Over the per-publisher frame-rate cap: dropped on arrival, like any frame that loses.
          if (!frameRate.allow()) return session.drop();
          session.push({ ...frame, receivedAt: performance.now() });
          return;
        }
        const message = parseClientMessage(bytes.toString('utf8'));
        if (isProtocolError(message)) return error(message.code, message.message);
        session.configure(message).then(
          ({ settings, limited }) => sendJson(ws, { type: 'settings', config: publicConfig(settings), limited }),
          (e: unknown) => error(e instanceof StylizeError ? e.code : ErrorCode.BAD_MESSAGE, e instanceof Error ? e.message : String(e)),
        );
      });
      sendJson(ws, ready('publish', roomName, session.settings()));
    } else {
      room.viewers.add(ws);
      let messages = 0;
      ws.on('message', () => {
        messages++;
        if (messages > VIEWER_MAX_MESSAGES) return error(ErrorCode.FLOOD, 'viewers only receive');
        error(ErrorCode.BAD_MESSAGE, 'viewers only receive; connect with role=publish to send');
      });
      sendJson(ws, ready('view', roomName, room.publisher?.session.settings() ?? room.remoteSettings ?? deps.defaults));
      // Joining mid-stream: the newest frame at once.
      if (room.latest) ws.send(room.latest.message, { binary: true });
    }

    ws.on('error', (e) => log.debug({ err: e }, 'socket error'));
    ws.on('close', (code) => {
      deps.metrics.connections.dec({ role });
      void Promise.resolve(deps.directory.leave(roomName)).catch(() => undefined);
      if (role === 'publish' && room.publisher?.socket === ws) {
        const stats = room.publisher.session.stats(room.viewers.size);
        room.publisher.session.close();
        room.publisher = undefined;
        room.latest = undefined;
        bus.publishEnded(roomName);
        void Promise.resolve(deps.directory.releasePublisher(roomName, gateway)).catch(() => undefined);
        log.info({ code, framesIn: stats.framesIn, framesOut: stats.framesOut, framesDropped: stats.framesDropped }, 'publisher ended');
      }
      room.viewers.delete(ws);
      forget(room);
      log.debug({ code }, 'closed');
    });
  }

  function ready(role: Role, room: string, settings: LiveSettings) {
    return {
      type: 'ready' as const,
      role,
      room,
      model: deps.processor.model,
      backend: deps.processor.backend,
      config: publicConfig(settings),
      limits: { maxSize: deps.limits.maxSize, maxSteps: deps.limits.maxSteps },
    };
  }

  return {
    attach(server) {
      server.on('upgrade', onUpgrade);
    },
    rooms: () => rooms,
    close() {
      closing ??= (async () => {
        clearInterval(statsTimer);
        clearInterval(heartbeat);
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
        await Promise.all([publishers, viewers].map((wss) => new Promise<void>((resolve) => wss.close(() => resolve()))));
        for (const room of rooms.values()) room.unsubscribe?.();
      })();
      return closing;
    },
  };
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
