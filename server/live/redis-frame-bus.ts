/**
 * The frame bus of a farm's gateways on Redis pub/sub: one channel per room. A message is one
 * byte of kind, this gateway's id (so it ignores its own), then the frame (header + JPEG, sent to
 * viewers as it is) or the stream's status as JSON. Pub/sub keeps nothing: a gateway that is not
 * listening misses frames, which for live video is what latest-frame-wins wants anyway.
 *
 * Never a backlog: when Redis has not yet taken this gateway's last few frames, newer ones are
 * dropped here (counted), as a slow viewer is skipped.
 */
import type { FrameBus, RoomFeed, StreamStatus } from './frame-bus.js';
import { KEYS, closeRedis, type Redis } from '../farm/redis.js';

const FRAME = 0;
const STATUS = 1;
const ENDED = 2;
/** Frames of this gateway that Redis may not have taken yet before newer ones are dropped. */
const MAX_IN_FLIGHT = 4;

export interface RedisFrameBus extends FrameBus {
  /** Frames dropped because Redis did not keep up. */
  readonly dropped: number;
}

export function createRedisFrameBus(options: { publisher: Redis; subscriber: Redis; gateway: string }): RedisFrameBus {
  const { publisher, subscriber } = options;
  const origin = Buffer.from(options.gateway.padEnd(16, ' ').slice(0, 16), 'latin1');
  const feeds = new Map<string, Set<RoomFeed>>();
  let inFlight = 0;
  let dropped = 0;

  subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => {
    if (message.length < 17 || message.subarray(1, 17).equals(origin)) return;
    const room = channel.toString().slice(KEYS.roomFrames('').length);
    const body = message.subarray(17);
    for (const feed of feeds.get(room) ?? []) {
      if (message[0] === FRAME) feed.frame(body);
      else if (message[0] === STATUS) {
        try {
          feed.status(JSON.parse(body.toString('utf8')) as StreamStatus);
        } catch {
          // not ours to understand: ignored
        }
      } else if (message[0] === ENDED) feed.ended();
    }
  });

  const send = (room: string, kind: number, body: Uint8Array): Promise<unknown> =>
    publisher.publish(KEYS.roomFrames(room), Buffer.concat([Buffer.of(kind), origin, body]));

  return {
    get dropped() {
      return dropped;
    },
    publishFrame(room, message) {
      if (inFlight >= MAX_IN_FLIGHT) {
        dropped++;
        return;
      }
      inFlight++;
      void send(room, FRAME, message)
        .catch(() => undefined)
        .finally(() => inFlight--);
    },
    publishStatus(room, status) {
      void send(room, STATUS, Buffer.from(JSON.stringify(status))).catch(() => undefined);
    },
    publishEnded(room) {
      void send(room, ENDED, new Uint8Array(0)).catch(() => undefined);
    },
    subscribe(room, feed) {
      let set = feeds.get(room);
      if (!set) {
        set = new Set();
        feeds.set(room, set);
        void subscriber.subscribe(KEYS.roomFrames(room)).catch(() => undefined);
      }
      set.add(feed);
      return () => {
        const current = feeds.get(room);
        if (!current?.delete(feed) || current.size > 0) return;
        feeds.delete(room);
        void subscriber.unsubscribe(KEYS.roomFrames(room)).catch(() => undefined);
      };
    },
    async close() {
      feeds.clear();
      await Promise.all([closeRedis(publisher), closeRedis(subscriber)]);
    },
  };
}
