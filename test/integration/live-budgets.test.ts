/**
 * A publisher asking for the most a server allows, with big frames, next to a healthy stream:
 * the healthy stream keeps its frames coming, the server's event loop stays free, the greedy
 * stream is told what it got (clamped settings) and paints within the others' frame time, and
 * memory stays bounded. Also: the cap on live streams, and frames whose header claims a huge
 * picture or a shape beyond the aspect bound, and a stream whose painter is stuck past its turn
 * (the others paint on). Real server, real stream processes (random-multiscale), real sockets.
 */
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drawScene } from '../../fixtures/draw.js';
import { turnEndsAfterMs } from '../../server/live/paint-turns.js';
import type { StreamProcessPool } from '../../server/live/stream-process-pool.js';
import { decodeFrame, encodeFrame, isProtocolError } from '../../server/live/protocol.js';
import { totalRss } from '../helpers/process-memory.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { connect, type RecordingClient } from '../helpers/ws-client.js';

let server: TestServer;
let small: Buffer;
let big: Buffer;

beforeAll(async () => {
  server = await startTestServer({ liveSize: 64, liveSteps: 2, maxLiveStreams: 3 });
  const scene = drawScene(256, 144);
  small = await sharp(scene.data, { raw: { width: 256, height: 144, channels: 3 } }).jpeg().toBuffer();
  const wide = drawScene(1820, 1024);
  big = await sharp(wide.data, { raw: { width: 1820, height: 1024, channels: 3 } }).jpeg().toBuffer();
});
afterAll(() => server?.close());

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Sends a frame and waits for the painted frame with its seq: the round trip, ms. */
async function roundTrip(client: RecordingClient, seq: number, jpeg: Buffer): Promise<number> {
  const started = performance.now();
  client.socket.send(encodeFrame({ seq, timestampMs: seq }, jpeg));
  await client.until(() => client.frames.some((f) => {
    const frame = decodeFrame(f);
    return !isProtocolError(frame) && frame.seq === seq;
  }), 60_000);
  return performance.now() - started;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

describe('a greedy publisher next to a healthy one', () => {
  it('is clamped and told so; the healthy stream keeps its pace; the loop stays free; memory stays bounded', async () => {
    const healthy = await connect(await server.publishUrl('healthy'));
    // Warm up (the painter's first frames at a new size), then the baseline.
    for (let seq = 1; seq <= 3; seq++) await roundTrip(healthy, seq, small);
    const baseline: number[] = [];
    for (let seq = 4; seq <= 10; seq++) baseline.push(await roundTrip(healthy, seq, small));

    const greedy = await connect(await server.publishUrl('greedy'));
    greedy.socket.send(JSON.stringify({ type: 'config', size: 1024, steps: 50 }));
    await greedy.until(() => greedy.messages.some((m) => m.type === 'settings'));
    expect(greedy.messages.find((m) => m.type === 'settings')).toMatchObject({
      config: { size: 360, steps: 10 },
      limited: { size: { asked: 1024, used: 360 }, steps: { asked: 50, used: 10 } },
    });
    expect(greedy.messages.find((m) => m.type === 'ready')).toMatchObject({ limits: { maxSize: 360, maxSteps: 10 } });

    const pool = server.processor as StreamProcessPool;
    const rssBefore = totalRss(pool.pids());
    let rssPeak = rssBefore;
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    let sending = true;
    const flood = (async () => {
      for (let seq = 1; sending; seq++) {
        greedy.socket.send(encodeFrame({ seq, timestampMs: seq }, big));
        rssPeak = Math.max(rssPeak, totalRss(pool.pids()));
        await sleep(200);
      }
    })();
    await greedy.until(() => greedy.frameCount >= 2, 90_000); // the greedy stream is painted too
    const during: number[] = [];
    const health: number[] = [];
    for (let seq = 11; seq <= 20; seq++) {
      during.push(await roundTrip(healthy, seq, small));
      const t = performance.now();
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      health.push(performance.now() - t);
    }
    sending = false;
    await flood;
    lag.disable();

    // Target: the healthy frame's round trip at most 2× its baseline; a test on a shared
    // machine allows 4×. Before painting left the event loop, it froze for minutes.
    expect(median(during)).toBeLessThan(4 * median(baseline) + 200);
    expect(Math.max(...health)).toBeLessThan(500);
    expect(lag.percentile(99) / 1e6).toBeLessThan(200);
    // The greedy stream paints within the healthy one's frame time: below its size, few steps.
    const stats = greedy.messages.filter((m) => m.type === 'stats').at(-1)!;
    expect(stats.width as number).toBeLessThan(640);
    expect(rssPeak - rssBefore).toBeLessThan(1024 ** 3);

    greedy.socket.close();
    await greedy.closed;
    healthy.socket.close();
    await healthy.closed;
    // The greedy painter went with its stream: its memory with it.
    for (let i = 0; i < 100 && (pool.streams > 0 || pool.processes > 1); i++) await sleep(100);
    expect(pool.streams).toBe(0);
    expect(pool.processes).toBeLessThanOrEqual(1); // only the one started ahead
  });
});

describe('frames and streams beyond the limits', () => {
  it('a frame whose header claims 16383×16383 is refused before decoding; the stream goes on', async () => {
    const publisher = await connect(await server.publishUrl('bomb'));
    const bomb = Buffer.from(await sharp(drawScene(64, 64).data, { raw: { width: 64, height: 64, channels: 3 } }).jpeg({ progressive: true }).toBuffer());
    // Patch the SOF2 (progressive frame header) height and width to 16383.
    const sof = bomb.indexOf(Buffer.from([0xff, 0xc2]));
    expect(sof).toBeGreaterThan(0);
    bomb.writeUInt16BE(16383, sof + 5);
    bomb.writeUInt16BE(16383, sof + 7);
    expect((await sharp(bomb).metadata()).width).toBe(16383);
    publisher.socket.send(encodeFrame({ seq: 1, timestampMs: 1 }, bomb));
    await publisher.until(() => publisher.messages.some((m) => m.type === 'error'));
    expect(publisher.messages.find((m) => m.type === 'error')).toMatchObject({ code: 'BAD_FRAME', message: expect.stringMatching(/16383×16383.*limit/) });
    await roundTrip(publisher, 2, small);
    publisher.socket.close();
    await publisher.closed;
  });

  it('a 10 000×16 frame is refused from its header with BAD_FRAME naming the aspect limit; the stream goes on (issue 20, item 2)', async () => {
    const publisher = await connect(await server.publishUrl('sliver'));
    try {
      const sliver = await sharp({ create: { width: 10_000, height: 16, channels: 3, background: { r: 200, g: 80, b: 40 } } }).jpeg().toBuffer();
      publisher.socket.send(encodeFrame({ seq: 1, timestampMs: 1 }, sliver));
      // Before: painted as a 40 000×64 stream with a 2 560 px style, given up after 30 s (FRAME_ABANDONED).
      await publisher.until(() => publisher.messages.some((m) => m.type === 'error'));
      expect(publisher.messages.find((m) => m.type === 'error')).toMatchObject({
        code: 'BAD_FRAME',
        message: 'frame 1 is 10000×16: its longest side may be at most 4 times its shortest',
      });
      expect(publisher.frameCount).toBe(0);
      await roundTrip(publisher, 2, small);
    } finally {
      publisher.socket.close();
      await publisher.closed;
    }
  });

  it('one publisher more than --max-live-streams is told BUSY and closed with 1013', async () => {
    const open: RecordingClient[] = [];
    for (let i = 0; i < 3; i++) open.push(await connect(await server.publishUrl(`cap-${i}`)));
    const extra = await connect(await server.publishUrl('cap-extra'));
    expect((await extra.closed).code).toBe(1013);
    expect(extra.messages.find((m) => m.type === 'error')).toMatchObject({ code: 'BUSY' });
    // A place frees when a stream ends.
    open.pop()!.socket.close();
    await sleep(300);
    const next = await connect(await server.publishUrl('cap-next'));
    await roundTrip(next, 1, small);
    for (const client of [...open, next]) client.socket.close();
    await Promise.all([...open, next].map((client) => client.closed));
    // The refused publisher left nothing behind: its room, its connection count.
    await sleep(200);
    expect(server.sockets.rooms().has('cap-extra')).toBe(false);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/stylize_connections\{role="publish"\} 0/);
  });
});

describe("one stream's frame never holds the others beyond its budget (issue 20, item 2)", () => {
  it("a healthy stream keeps its pace while another stream's painter is stuck past its turn; the stuck one goes on", async () => {
    const pool = server.processor as StreamProcessPool;
    const healthy = await connect(await server.publishUrl('steady'));
    healthy.socket.send(JSON.stringify({ type: 'config', targetFps: 10 }));
    await healthy.until(() => healthy.messages.some((m) => m.type === 'settings'));
    for (let seq = 1; seq <= 3; seq++) await roundTrip(healthy, seq, small);
    const baseline: number[] = [];
    for (let seq = 4; seq <= 10; seq++) baseline.push(await roundTrip(healthy, seq, small));

    const before = new Set(pool.pids());
    const stuck = await connect(await server.publishUrl('stuck'));
    try {
      await stuckStream(pool, before, healthy, stuck, baseline);
    } finally {
      for (const client of [stuck, healthy]) client.socket.close();
      await Promise.all([stuck.closed, healthy.closed]);
    }
  });
});

/** The stuck stream's painter stopped for 8 s while the healthy stream paints on (see the test above). */
async function stuckStream(pool: StreamProcessPool, before: Set<number>, healthy: RecordingClient, stuck: RecordingClient, baseline: number[]): Promise<void> {
  await roundTrip(stuck, 1, small);
  const pid = pool.pids().find((p) => !before.has(p));
  expect(pid).toBeDefined();
  expect(os.getPriority(pid!)).toBe(0);
  // The slowest frame there is: its painter stopped (SIGSTOP) while it has the frame, for 8 s
  // (the hard limit is 10 s). Before, the one turn stayed with it: the healthy stream froze.
  process.kill(pid!, 'SIGSTOP');
  const stallMs = 8000;
  const resume = setTimeout(() => process.kill(pid!, 'SIGCONT'), stallMs);
  try {
    stuck.socket.send(encodeFrame({ seq: 2, timestampMs: 2 }, small));
    const stallEnds = performance.now() + stallMs - 300;
    const during: number[] = [];
    let backgrounded = false;
    for (let seq = 11; performance.now() < stallEnds; seq++) {
      during.push(await roundTrip(healthy, seq, small));
      backgrounded ||= os.getPriority(pid!) === 19;
    }
    // The stuck stream's turn ends at its budget (the healthy stream's frame time, 100 ms, with
    // slack, 250 ms): the healthy stream's every frame comes within that and a few of its own
    // frames (the bounds are wide for a loaded 2-core machine; before, one frame took the stall).
    const allowed = turnEndsAfterMs(100) + 4 * median(baseline) + 1000;
    expect(Math.max(...during)).toBeLessThan(Math.min(allowed, stallMs / 2));
    expect(median(during)).toBeLessThan(3 * median(baseline) + 300);
    expect(during.length).toBeGreaterThanOrEqual(4);
    // The stuck painter was sent to the background (it goes on with what the others leave).
    expect(backgrounded).toBe(true);
  } finally {
    clearTimeout(resume);
    process.kill(pid!, 'SIGCONT');
  }
  // Its late answer is still shown, it is back at normal priority, and the stream goes on.
  const seqs = (): number[] => stuck.frames.flatMap((f) => {
    const frame = decodeFrame(f);
    return isProtocolError(frame) ? [] : [frame.seq];
  });
  await stuck.until(() => seqs().includes(2), 30_000);
  expect(os.getPriority(pid!)).toBe(0);
  await roundTrip(stuck, 3, small);
  expect(stuck.messages.filter((m) => m.type === 'error')).toEqual([]);
}
