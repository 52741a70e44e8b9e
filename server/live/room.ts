/**
 * A room: at most one publisher (its stream is a LiveSession) and any number of viewers. Each
 * stylized frame is encoded once and the same buffer goes to everyone. Per client, latest frame
 * wins: a client whose socket still holds more than about two frames is skipped for this one
 * (counted); one that could not be sent anything for `stallMs` is disconnected, so a stalled
 * viewer never slows the others or grows the server's memory.
 */
import WebSocket from 'ws';
import { ErrorCode, WsClose } from '../errors.js';
import type { StylizedFrame } from './frame.js';
import type { LiveSettings } from './live-settings.js';
import type { LiveSession } from './live-session.js';
import type { ServerMessage, StatsMessage } from './protocol.js';

/** Skip a client for a frame while this many frames' worth of bytes are still queued on it. */
const BACKLOG_FRAMES = 2;
/**
 * Text replies (stats, errors) to a client with more than this still queued are dropped: a
 * client that sends and never reads must not make the server queue answers for it.
 */
const MAX_TEXT_BACKLOG = 64 * 1024;
/** Error texts are short and never carry much of what a client sent. */
const MAX_ERROR_TEXT = 200;

export interface ClientState {
  /** Frames not sent to this client because its socket was still busy. */
  skipped: number;
  sent: number;
  lastSentAt: number;
}

export interface Room {
  readonly name: string;
  publisher: { socket: WebSocket; session: LiveSession } | undefined;
  readonly viewers: Set<WebSocket>;
  readonly clients: WeakMap<WebSocket, ClientState>;
  /** The newest stylized frame, for viewers who join mid-stream. */
  latest: Pick<StylizedFrame, 'message'> | undefined;
  /** The settings of a publisher on another gateway (from its status on the frame bus). */
  remoteSettings?: LiveSettings | undefined;
  /** Stops following the room on the frame bus. */
  unsubscribe?: (() => void) | undefined;
  /** Frames skipped over all clients. */
  skipped: number;
  readonly stallMs: number;
}

export function createRoom(name: string, stallMs = 10_000): Room {
  return { name, publisher: undefined, viewers: new Set(), clients: new WeakMap(), latest: undefined, skipped: 0, stallMs };
}

export function clientsOf(room: Room): WebSocket[] {
  return [...(room.publisher ? [room.publisher.socket] : []), ...room.viewers];
}

export function track(room: Room, socket: WebSocket): ClientState {
  const state: ClientState = { skipped: 0, sent: 0, lastSentAt: performance.now() };
  room.clients.set(socket, state);
  return state;
}

/** `frame`: painted here, or by a publisher's gateway and received on the frame bus. */
export function broadcastFrame(room: Room, frame: Pick<StylizedFrame, 'message'>, now = performance.now()): void {
  room.latest = frame;
  const limit = frame.message.length * BACKLOG_FRAMES;
  for (const socket of clientsOf(room)) {
    if (socket.readyState !== WebSocket.OPEN) continue;
    const state = room.clients.get(socket) ?? track(room, socket);
    if (socket.bufferedAmount > limit) {
      state.skipped++;
      room.skipped++;
      if (now - state.lastSentAt > room.stallMs) {
        sendError(socket, ErrorCode.TOO_SLOW, `no frame could be sent for ${Math.round(room.stallMs / 1000)} s`);
        socket.close(WsClose.POLICY_VIOLATION, 'too slow to keep up');
        // A socket that does not even take the close frame is cut off.
        setTimeout(() => socket.terminate(), 1000).unref();
      }
      continue;
    }
    state.sent++;
    state.lastSentAt = now;
    socket.send(frame.message, { binary: true });
  }
}

/** Sends unless the client's connection is already backed up (then the message is dropped). */
export function sendJson(socket: WebSocket, message: ServerMessage): void {
  if (socket.readyState === WebSocket.OPEN && socket.bufferedAmount <= MAX_TEXT_BACKLOG) socket.send(JSON.stringify(message));
}

export function sendError(socket: WebSocket, code: string, message: string): void {
  sendJson(socket, { type: 'error', code, message: message.length > MAX_ERROR_TEXT ? `${message.slice(0, MAX_ERROR_TEXT - 1)}…` : message });
}

/** Stats to everyone, each with their own count of skipped frames. */
export function broadcastStats(room: Room, stats: StatsMessage): void {
  for (const socket of clientsOf(room)) {
    sendJson(socket, { ...stats, skipped: room.clients.get(socket)?.skipped ?? 0 });
  }
}
