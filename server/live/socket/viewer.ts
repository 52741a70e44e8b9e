/**
 * A viewer's connection: it only receives. It gets the room's settings (its publisher's here or
 * on another gateway, else the defaults) and, mid-stream, the newest frame at once; anything it
 * sends is answered with an error, and after VIEWER_MAX_MESSAGES it is closed.
 */
import { ErrorCode } from '../../errors.js';
import { sendJson } from '../room.js';
import { readyMessage, type Client, type SocketContext } from './socket-context.js';

/** Viewers only receive: anything larger than this from one is closed with 1009. */
export const VIEWER_MAX_PAYLOAD = 1024;
/** Messages a viewer may send (each answered once with an error) before it is closed. */
const VIEWER_MAX_MESSAGES = 10;

export function startViewer(context: SocketContext, { ws, room, error }: Pick<Client, 'ws' | 'room' | 'error'>): void {
  room.viewers.add(ws);
  let messages = 0;
  ws.on('message', () => {
    messages++;
    if (messages > VIEWER_MAX_MESSAGES) return error(ErrorCode.FLOOD, 'viewers only receive');
    error(ErrorCode.BAD_MESSAGE, 'viewers only receive; connect with role=publish to send');
  });
  sendJson(ws, readyMessage(context, 'view', room.name, room.publisher?.session.settings() ?? room.remoteSettings ?? context.deps.defaults));
  // Joining mid-stream: the newest frame at once.
  if (room.latest) ws.send(room.latest.message, { binary: true });
}
