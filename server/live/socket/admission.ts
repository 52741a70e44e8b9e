/**
 * Who may open a live socket: the HTTP upgrade of `/ws?room=<name>&role=publish|view` is checked
 * (path, room name, role, Host and Origin, the room's token, one publisher per room cluster-wide,
 * a cap on connections per client address) and refused with a plain HTTP status before any
 * WebSocket exists. Admitted sockets are counted per address until they close.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket, { type WebSocketServer } from 'ws';
import { clientAddress } from '../../security/client-address.js';
import { ROOM_NAME } from '../room-directory.js';
import type { Room } from '../room.js';
import type { Role, SocketContext } from './socket-context.js';

export interface AdmissionOptions {
  context: SocketContext;
  rooms: ReadonlyMap<string, Room>;
  servers: Record<Role, WebSocketServer>;
  /** True once the server is closing: no one is admitted. */
  closing: () => boolean;
  /** An admitted socket, upgraded. */
  onConnection: (ws: WebSocket, room: string, role: Role, client: string) => void;
}

/** The 'upgrade' listener for the HTTP server. */
export function createAdmission(options: AdmissionOptions): (request: IncomingMessage, socket: Duplex, head: Buffer) => void {
  const perIp = new Map<string, number>();
  const { deps } = options.context;
  return (request, socket, head) => {
    admit(options, perIp, request, socket, head).catch((error: unknown) => {
      // The shared directory is unreachable (Redis away): try again later.
      deps.log.warn({ err: error }, 'could not check a WebSocket upgrade');
      reject(socket, 503, 'Service unavailable, try again');
    });
  };
}

interface Asked {
  room: string;
  role: Role;
  token: string | undefined;
}

/** The room and role asked for, or the refusal already sent. */
function readRequest(options: AdmissionOptions, request: IncomingMessage, socket: Duplex): Asked | undefined {
  const { origins } = options.context.deps;
  const url = new URL(request.url ?? '/', 'http://localhost');
  if (url.pathname !== '/ws') return reject(socket, 404, 'Not Found');
  if (options.closing()) return reject(socket, 503, 'Server shutting down');
  const room = url.searchParams.get('room') ?? '';
  const role = url.searchParams.get('role') ?? 'view';
  if (!ROOM_NAME.test(room)) return reject(socket, 400, 'room must be 1-64 letters, digits, - or _');
  if (role !== 'publish' && role !== 'view') return reject(socket, 400, 'role must be publish or view');
  if (!origins.hostAllowed(request.headers.host)) return reject(socket, 403, 'host not allowed');
  if (!origins.originAllowed(request.headers.origin, request.headers.host)) return reject(socket, 403, 'origin not allowed');
  return { room, role, token: url.searchParams.get('token') ?? headerValue(request.headers['x-stylize-token']) };
}

/** The room's token and its one publisher; true if allowed (else the refusal is sent). */
async function mayEnter(options: AdmissionOptions, { room, role, token }: Asked, socket: Duplex): Promise<boolean> {
  const { directory } = options.context.deps;
  const { gateway } = options.context;
  if (role === 'publish' && (await directory.canPublish(room, token)) !== 'ok') {
    return refuse(socket, 401, 'publishing needs the room\'s token (POST /api/rooms)');
  }
  if (role === 'view' && (await directory.canView(room, token)) !== 'ok') return refuse(socket, 401, 'this room is private');
  if (role === 'publish' && hasLivePublisher(options.rooms.get(room))) return refuse(socket, 409, 'room already has a publisher');
  if (role === 'publish' && !(await directory.claimPublisher(room, gateway))) return refuse(socket, 409, 'room already has a publisher (on another gateway)');
  return true;
}

async function admit(options: AdmissionOptions, perIp: Map<string, number>, request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  const { deps, gateway } = options.context;
  const asked = readRequest(options, request, socket);
  if (!asked || !(await mayEnter(options, asked, socket))) return;
  const { room, role } = asked;
  const ip = clientAddress(request, deps.trustProxy);
  if ((perIp.get(ip) ?? 0) >= deps.maxConnectionsPerIp) {
    if (role === 'publish' && !hasLivePublisher(options.rooms.get(room))) await deps.directory.releasePublisher(room, gateway);
    return reject(socket, 429, 'too many connections from this address');
  }
  if (options.closing() || socket.destroyed) return void socket.destroy();
  options.servers[role].handleUpgrade(request, socket, head, (ws) => {
    perIp.set(ip, (perIp.get(ip) ?? 0) + 1);
    ws.once('close', () => {
      const left = (perIp.get(ip) ?? 1) - 1;
      if (left > 0) perIp.set(ip, left);
      else perIp.delete(ip);
    });
    options.onConnection(ws, room, role, ip);
  });
}

/**
 * A publisher whose socket is closing does not hold the room: a page that reconnects (camera ↔
 * file) would otherwise be refused until the old TCP connection is fully gone.
 */
export function hasLivePublisher(room: Room | undefined): boolean {
  return room?.publisher?.socket.readyState === WebSocket.OPEN;
}

function reject(socket: Duplex, status: number, reason: string): undefined {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(reason)}\r\n\r\n${reason}`);
  return undefined;
}

function refuse(socket: Duplex, status: number, reason: string): false {
  reject(socket, status, reason);
  return false;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
