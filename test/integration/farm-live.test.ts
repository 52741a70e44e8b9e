/**
 * Live rooms across two gateways of a farm: two real servers (in this process, each on port 0
 * with its own data directory) sharing a real redis-server. The publisher's frames are painted
 * by the gateway it is connected to (A); viewers on the other gateway (B) get them through
 * Redis; the one-publisher rule and the viewer count hold for the cluster, not per gateway.
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../../server/codec/image-codec.js';
import { decodeFrame, encodeFrame, isProtocolError } from '../../server/live/protocol.js';
import { CAT } from '../helpers/paths.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { connect, type RecordingClient } from '../helpers/ws-client.js';

let catJpeg: Buffer;
let started: { redis: TestRedis[]; servers: TestServer[]; clients: RecordingClient[] } = { redis: [], servers: [], clients: [] };

beforeAll(async () => {
  catJpeg = await sharp(await readFile(CAT)).resize(96, 64).jpeg().toBuffer();
});
// Whatever a test started is stopped, also when it failed half-way.
afterEach(async () => {
  for (const c of started.clients) c.socket.terminate();
  await Promise.all(started.servers.map((s) => s.close()));
  await Promise.all(started.redis.map((r) => r.stop()));
  started = { redis: [], servers: [], clients: [] };
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function gateway(redisUrl: string): Promise<TestServer> {
  const server = await startTestServer({ redisUrl, liveSize: 32, liveSteps: 1 });
  started.servers.push(server);
  return server;
}

async function client(url: string): Promise<RecordingClient> {
  const c = await connect(url);
  started.clients.push(c);
  return c;
}

const latestStats = (c: RecordingClient): Record<string, unknown> | undefined => c.messages.filter((m) => m.type === 'stats').at(-1);

describe('live rooms on two gateways', () => {
  it('viewers on gateway B get the frames painted on A; a second publisher on B gets 409; viewer counts are the cluster\'s', async () => {
    const redis = await startRedis();
    started.redis.push(redis);
    const [a, b] = [await gateway(redis.url), await gateway(redis.url)];

    // The room is created on A; its publish token is good on B too (shown by B's 409 below: not 401).
    const publishOnA = await a.publishUrl('farm');
    const publishOnB = publishOnA.replace(`:${a.port}/`, `:${b.port}/`);
    const publisher = await client(publishOnA);
    await publisher.until(() => publisher.messages.some((m) => m.type === 'ready'));
    const viewersOnB = [await client(b.wsUrl('room=farm&role=view')), await client(b.wsUrl('room=farm&role=view'))];
    const viewerOnA = await client(a.wsUrl('room=farm&role=view'));

    // One publisher per room in the cluster: B refuses a second one while A holds the stream.
    await expect(connect(publishOnB)).rejects.toMatchObject({ status: 409 });

    // Frames until every viewer has a couple (the painter is slow here: latest frame wins).
    const sent = new Set<number>();
    const everyone = [...viewersOnB, viewerOnA];
    for (let seq = 1; seq <= 600 && everyone.some((v) => v.frames.length < 2); seq++) {
      publisher.socket.send(encodeFrame({ seq, timestampMs: 1000 + seq }, catJpeg));
      sent.add(seq);
      await sleep(100);
    }
    for (const v of everyone) expect(v.frames.length).toBeGreaterThanOrEqual(2);

    // What B's viewers get is A's painting: a sent frame's header, the live size, not the input.
    for (const viewer of viewersOnB) {
      const frame = decodeFrame(viewer.frames.at(-1)!);
      if (isProtocolError(frame)) throw new Error(frame.message);
      expect(sent.has(frame.seq)).toBe(true);
      expect(frame.timestampMs).toBe(1000 + frame.seq);
      const out = await decodeImage(frame.jpeg);
      expect(Math.min(out.width, out.height)).toBe(32);
      const input = await decodeImage(catJpeg, { exact: { width: out.width, height: out.height } });
      let diff = 0;
      for (let i = 0; i < out.data.length; i++) diff += Math.abs(out.data[i]! - input.data[i]!);
      expect(diff / out.data.length).toBeGreaterThan(3);
    }

    // The publisher on A counts all 3 viewers (2 of them on B); B's viewers see the same count.
    await publisher.until(() => latestStats(publisher)?.viewers === 3, 30_000);
    await viewersOnB[0]!.until(() => latestStats(viewersOnB[0]!)?.viewers === 3, 30_000);
    // One viewer on B leaves: the cluster's count drops to 2.
    viewersOnB[1]!.socket.close();
    await viewersOnB[1]!.closed;
    await publisher.until(() => latestStats(publisher)?.viewers === 2, 30_000);

    // The publisher leaves A: the stream is free, and the same token now publishes on B.
    publisher.socket.close();
    await publisher.closed;
    let again: RecordingClient | undefined;
    for (let i = 0; i < 100 && !again; i++) {
      again = await client(publishOnB).catch(async (error: { status?: number }) => {
        if (error.status !== 409) throw error;
        await sleep(200);
        return undefined;
      });
    }
    expect(again).toBeDefined();
    await again!.until(() => again!.messages.some((m) => m.type === 'ready'));
  });
});
