/**
 * A publisher's connection: its stream is opened on the frame processor (or refused at the cap:
 * error BUSY, then close 1013), its frames and config messages go to its LiveSession, and what is
 * painted goes to the room and, on the frame bus, to the room's viewers on other gateways.
 */
import type { RawData } from 'ws';
import { ErrorCode, StylizeError } from '../../errors.js';
import { createLiveSession, type LiveSession } from '../live-session.js';
import { decodeFrame, isProtocolError, parseClientMessage, publicConfig } from '../protocol.js';
import { createFloodGuard, createRateCap, MAX_MESSAGES_PER_SECOND } from '../rate-guards.js';
import { broadcastFrame, sendJson } from '../room.js';
import { quietly, readyMessage, type Client, type SocketContext } from './socket-context.js';

/**
 * Starts the publisher's stream; returns what to do when its socket closes, or undefined when
 * it was refused (its socket is closing with the reason).
 */
export function startPublisher(context: SocketContext, client: Client): ((code: number) => void) | undefined {
  const { deps, bus, gateway } = context;
  const { ws, room, log } = client;
  if (room.publisher) {
    // The previous publisher is closing (the upgrade check let this one in): its stream ends now.
    room.publisher.session.close();
    room.publisher = undefined;
  }
  let stream;
  try {
    stream = deps.processor.open(room.name);
  } catch (e) {
    // At the cap on live streams: the handshake is done so that a browser can read why
    // (it cannot see an HTTP status): error BUSY, then close 1013 "try again later".
    log.info({ client: client.address }, 'publisher refused: live streams at the cap');
    quietly(deps.directory.releasePublisher(room.name, gateway));
    client.error(e instanceof StylizeError ? e.code : ErrorCode.INTERNAL, e instanceof Error ? e.message : String(e));
    return undefined;
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
      bus.publishFrame(room.name, frame.message);
    },
    onError: client.error,
  });
  room.publisher = { socket: ws, session };
  log.info({ client: client.address }, 'publisher started');
  ws.on('message', publisherMessages(session, client, deps.maxPublishFps));
  sendJson(ws, readyMessage(context, 'publish', room.name, session.settings()));
  return (code) => ended(context, client, code);
}

/** Frames (binary) and config messages (text), each checked; a flood closes the connection. */
function publisherMessages(session: LiveSession, client: Client, maxFps: number): (data: RawData, isBinary: boolean) => void {
  const { ws, error } = client;
  const flood = createFloodGuard();
  const frameRate = createRateCap(maxFps);
  return (data, isBinary) => {
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
  };
}

/** The publisher's socket closed: if it still holds the room, its stream ends everywhere. */
function ended({ deps, bus, gateway }: SocketContext, { ws, room, log }: Client, code: number): void {
  if (room.publisher?.socket !== ws) return;
  const stats = room.publisher.session.stats(room.viewers.size);
  room.publisher.session.close();
  room.publisher = undefined;
  room.latest = undefined;
  bus.publishEnded(room.name);
  quietly(deps.directory.releasePublisher(room.name, gateway));
  log.info({ code, framesIn: stats.framesIn, framesOut: stats.framesOut, framesDropped: stats.framesDropped }, 'publisher ended');
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
