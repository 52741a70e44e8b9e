/**
 * How a room's painted frames and stats reach its viewers on other gateways. The gateway a
 * publisher is connected to paints its frames and sends each to its own viewers and onto the bus;
 * every other gateway with viewers in that room takes it from the bus and sends it to them, each
 * viewer with its own latest-frame-wins (room.ts). A lone server has nobody to tell: the local
 * bus does nothing. The Redis bus is live/redis-frame-bus.ts.
 */
import type { LiveSettings } from './live-settings.js';
import type { StatsMessage } from './protocol.js';

/** What the publisher's gateway says about its stream once a second. */
export interface StreamStatus {
  stats: StatsMessage;
  settings: LiveSettings;
}

export interface RoomFeed {
  /** A painted frame (header + JPEG, ready to send). */
  frame(message: Buffer): void;
  status(status: StreamStatus): void;
  /** The stream ended (its publisher left). */
  ended(): void;
}

export interface FrameBus {
  publishFrame(room: string, message: Buffer): void;
  publishStatus(room: string, status: StreamStatus): void;
  publishEnded(room: string): void;
  /** What other gateways publish for `room` (never this gateway's own); returns the unsubscribe. */
  subscribe(room: string, feed: RoomFeed): () => void;
  close(): Promise<void>;
}

export function createLocalFrameBus(): FrameBus {
  return {
    publishFrame: () => undefined,
    publishStatus: () => undefined,
    publishEnded: () => undefined,
    subscribe: () => () => undefined,
    close: async () => undefined,
  };
}
