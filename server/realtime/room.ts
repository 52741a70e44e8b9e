/**
 * A room: at most one publisher (its stream is a LiveSession) and any number of viewers. Each
 * stylized frame is encoded once and sent to everyone; per client, latest frame wins: a client
 * whose socket still holds more than about two frames is skipped for this one.
 */
import WebSocket from 'ws';
import type { StylizedFrame } from '../pipeline/frame.js';
import type { LiveSession } from './live-session.js';
import type { ServerMessage } from './protocol.js';

/** Skip a client for a frame while this many bytes are still queued on its socket. */
const BACKLOG_FRAMES = 2;

export interface Room {
  readonly name: string;
  publisher: { socket: WebSocket; session: LiveSession } | undefined;
  readonly viewers: Set<WebSocket>;
  /** The newest stylized frame, for viewers who join mid-stream. */
  latest: StylizedFrame | undefined;
  /** Frames not sent to some client because its socket was still busy. */
  skipped: number;
}

export function createRoom(name: string): Room {
  return { name, publisher: undefined, viewers: new Set(), latest: undefined, skipped: 0 };
}

export function clientsOf(room: Room): WebSocket[] {
  return [...(room.publisher ? [room.publisher.socket] : []), ...room.viewers];
}

export function broadcastFrame(room: Room, frame: StylizedFrame): void {
  room.latest = frame;
  const limit = frame.message.length * BACKLOG_FRAMES;
  for (const socket of clientsOf(room)) {
    if (socket.readyState !== WebSocket.OPEN) continue;
    if (socket.bufferedAmount > limit) {
      room.skipped++;
      continue;
    }
    socket.send(frame.message, { binary: true });
  }
}

export function sendJson(socket: WebSocket, message: ServerMessage): void {
  if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

export function broadcastJson(room: Room, message: ServerMessage): void {
  for (const socket of clientsOf(room)) sendJson(socket, message);
}
