/** A live stream's first frame through a real server: what its stats say about it. */
import { encodeFrame } from '../../server/live/protocol.js';
import type { TestServer } from './server.js';
import { connect } from './ws-client.js';

/**
 * Publishes one JPEG in a new room (after `style`, once the server has applied it) and returns
 * the stats message of that first frame.
 */
export async function firstFrameStats(server: TestServer, room: string, jpeg: Uint8Array, style?: string): Promise<Record<string, unknown>> {
  const publisher = await connect(await server.publishUrl(room));
  try {
    if (style) {
      publisher.socket.send(JSON.stringify({ type: 'config', style }));
      // The style is checked before it applies: the frame goes once the server says it has.
      await publisher.until(() => publisher.messages.some((m) => m.type === 'settings' && (m.config as { style?: string }).style === style), 30_000);
    }
    publisher.socket.send(encodeFrame({ seq: 1, timestampMs: 1 }, Buffer.from(jpeg)));
    await publisher.until(() => publisher.messages.some((m) => m.type === 'stats' && m.framesOut === 1), 120_000);
    return publisher.messages.find((m) => m.type === 'stats' && m.framesOut === 1)!;
  } finally {
    publisher.socket.close();
  }
}
