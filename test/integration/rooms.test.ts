/**
 * Rooms, tokens and the socket's defences, with real `ws` clients on port 0. The fan-out tests
 * use the passthrough engine (frames returned as they came) so they measure delivery only.
 */
import net from 'node:net';
import sharp from 'sharp';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../server/live/protocol.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { connect } from '../helpers/ws-client.js';

let server: TestServer;
let frame: Buffer;

beforeAll(async () => {
  server = await startTestServer({ engine: 'passthrough' });
  // A noisy 640×360 JPEG: about the size a real camera frame is.
  const noise = Buffer.alloc(640 * 360 * 3);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
  frame = await sharp(noise, { raw: { width: 640, height: 360, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
});
afterAll(() => server?.close());

const rooms = (body: unknown): Promise<Response> =>
  fetch(`${server.url}/api/rooms`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('rooms and tokens', () => {
  it('creates rooms with unguessable tokens; names are unique', async () => {
    const res = await rooms({ room: 'class' });
    expect(res.status).toBe(201);
    const grant = (await res.json()) as { room: string; publishToken: string; viewUrl: string };
    expect(grant.room).toBe('class');
    expect(grant.publishToken).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(grant.viewUrl).toBe('/watch/class');
    expect((await rooms({ room: 'class' })).status).toBe(409);
    expect((await rooms({ room: 'bad name' })).status).toBe(400);
    expect((await rooms({ colour: 'red' })).status).toBe(400);
    const bad = await fetch(`${server.url}/api/rooms`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{nope' });
    expect(bad.status).toBe(400);
    const random = (await (await rooms({})).json()) as { room: string };
    expect(random.room).toMatch(/^[A-Za-z0-9]{8}$/);
  });

  it('refuses publishing without the right token (401), accepts it in the query or a header', async () => {
    const { publishToken } = (await (await rooms({ room: 'auth' })).json()) as { publishToken: string };
    await expect(connect(server.wsUrl('room=auth&role=publish'))).rejects.toMatchObject({ status: 401 });
    await expect(connect(server.wsUrl('room=auth&role=publish&token=guess'))).rejects.toMatchObject({ status: 401 });
    await expect(connect(server.wsUrl(`room=other&role=publish&token=${publishToken}`))).rejects.toMatchObject({ status: 401 });
    const viaHeader = new WebSocket(server.wsUrl('room=auth&role=publish'), { headers: { 'x-stylize-token': publishToken } });
    await new Promise((resolve, reject) => viaHeader.once('open', resolve).once('error', reject));
    viaHeader.close();
  });

  it('one publisher at a time (409), but a publisher that closes may reconnect at once', async () => {
    const url = await server.publishUrl('relay');
    const first = await connect(url);
    await expect(connect(url)).rejects.toMatchObject({ status: 409 });
    // What the page does when it switches camera ↔ file: close, then connect again straight away.
    first.socket.close(1000, 'bye');
    const second = await connect(url);
    await second.until(() => second.messages.some((m) => m.type === 'ready'));
    await expect(connect(url)).rejects.toMatchObject({ status: 409 });
    second.socket.close();
  });

  it('private rooms need the view token to watch', async () => {
    const grant = (await (await rooms({ room: 'secret', private: true })).json()) as { viewToken: string; viewUrl: string };
    expect(grant.viewUrl).toBe(`/watch/secret?token=${grant.viewToken}`);
    await expect(connect(server.wsUrl('room=secret&role=view'))).rejects.toMatchObject({ status: 401 });
    const viewer = await connect(server.wsUrl(`room=secret&role=view&token=${grant.viewToken}`));
    viewer.socket.close();
  });

  it('serves the viewer page for a room', async () => {
    const page = await fetch(`${server.url}/watch/class`);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<script type="module" src="\/watch.js">/);
  });
});

describe('defences', () => {
  it('refuses a foreign Origin (403) unless allow-listed; the page\'s own origin is fine', async () => {
    const url = server.wsUrl('room=o&role=view');
    await expect(new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { origin: 'https://evil.example' });
      ws.once('open', resolve).once('unexpected-response', (_q, res) => reject({ status: res.statusCode }));
    })).rejects.toMatchObject({ status: 403 });
    const own = new WebSocket(url, { origin: `http://127.0.0.1:${server.port}` });
    await new Promise((resolve, reject) => own.once('open', resolve).once('error', reject));
    own.close();
    const allowed = await startTestServer({ engine: 'passthrough', allowedOrigins: ['https://gallery.example'] });
    try {
      const ok = new WebSocket(allowed.wsUrl('room=o&role=view'), { origin: 'https://gallery.example' });
      await new Promise((resolve, reject) => ok.once('open', resolve).once('error', reject));
      ok.close();
    } finally {
      await allowed.close();
    }
  });

  it('caps connections per address (429)', async () => {
    const capped = await startTestServer({ engine: 'passthrough', maxConnectionsPerIp: 3 });
    try {
      const open = await Promise.all([1, 2, 3].map(() => connect(capped.wsUrl('room=cap&role=view'))));
      await expect(connect(capped.wsUrl('room=cap&role=view'))).rejects.toMatchObject({ status: 429 });
      open[0]!.socket.close();
      await open[0]!.closed;
      await sleep(50);
      const again = await connect(capped.wsUrl('room=cap&role=view'));
      for (const c of [again, ...open.slice(1)]) c.socket.close();
    } finally {
      await capped.close();
    }
  });

  it('caps a publisher\'s frame rate: frames over the cap are dropped and counted', async () => {
    const capped = await startTestServer({ engine: 'passthrough', maxPublishFps: 5 });
    try {
      const publisher = await connect(await capped.publishUrl('fast'));
      for (let seq = 0; seq < 30; seq++) publisher.socket.send(encodeFrame({ seq, timestampMs: seq }, frame));
      await publisher.until(() => publisher.messages.some((m) => m.type === 'stats' && m.framesIn === 30));
      const stats = publisher.messages.filter((m) => m.type === 'stats').at(-1)!;
      expect(stats.framesDropped as number).toBeGreaterThanOrEqual(25);
      expect(publisher.frames.length).toBeLessThanOrEqual(5);
      publisher.socket.close();
    } finally {
      await capped.close();
    }
  });
});

describe('fan-out', () => {
  it('one stalled viewer does not slow 20 others, memory stays bounded, and it is dropped', async () => {
    const fan = await startTestServer({ engine: 'passthrough', viewerStallMs: 1500 });
    try {
      // Clients count frames without keeping them: the memory measured is the server's.
      const publisher = await connect(await fan.publishUrl('fan'), { keepFrames: false });
      const viewers = await Promise.all(Array.from({ length: 20 }, () => connect(fan.wsUrl('room=fan&role=view'), { keepFrames: false })));
      const stalled = new WebSocket(fan.wsUrl('room=fan&role=view'));
      await new Promise((resolve) => stalled.once('open', resolve));
      stalled.pause(); // stops reading: its TCP window fills and the server's buffer for it grows
      const rssBefore = process.memoryUsage().rss;
      const sent = 150;
      for (let seq = 0; seq < sent; seq++) {
        publisher.socket.send(encodeFrame({ seq, timestampMs: seq }, frame));
        await sleep(1000 / 30);
      }
      await sleep(500);
      const received = viewers.map((v) => v.frameCount);
      // Every healthy viewer got (nearly) every frame the publisher's stream produced.
      const produced = publisher.frameCount;
      expect(produced).toBeGreaterThan(sent * 0.9);
      for (const n of received) expect(n).toBeGreaterThanOrEqual(produced * 0.95);
      // The stalled viewer was cut off: the others see 20 viewers in the room.
      await publisher.until(() => publisher.messages.some((m) => m.type === 'stats' && m.viewers === 20), 10_000);
      expect(process.memoryUsage().rss - rssBefore).toBeLessThan(100 * 1024 * 1024);
      const room = fan.sockets.rooms().get('fan')!;
      expect(room.viewers.size).toBe(20);
      expect(room.skipped).toBeGreaterThan(0); // the stalled one was skipped before being dropped
      stalled.terminate();
      for (const v of [publisher, ...viewers]) v.socket.close();
    } finally {
      await fan.close();
    }
  });
});

describe('fuzz', () => {
  it('survives thousands of random messages and malformed upgrades, and keeps serving a healthy publisher', async () => {
    const healthy = await connect(await server.publishUrl('healthy'));
    const victim = await connect(await server.publishUrl('fuzz'));
    let seed = 12345;
    const random = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));
    const texts = ['{', '[]', 'null', '{"type":"config","size":"x"}', '{"type":"config","style":{"a":1}}', '\u0000\uffff', '{"type":"x'.repeat(50)];
    for (let i = 0; i < 3000 && victim.socket.readyState === WebSocket.OPEN; i++) {
      const kind = random();
      if (kind < 0.4) victim.socket.send(bytes(Math.floor(random() * 64)));
      else if (kind < 0.6) victim.socket.send(Buffer.concat([bytes(8), Buffer.from([0xff, 0xd8]), bytes(Math.floor(random() * 200))]));
      else victim.socket.send(texts[Math.floor(random() * texts.length)]! + bytes(3).toString('latin1'));
      if (i % 100 === 0) await sleep(5);
    }
    // Malformed HTTP upgrades and plain garbage on the port.
    for (let i = 0; i < 50; i++) {
      await new Promise<void>((resolve) => {
        const s = net.connect(server.port, '127.0.0.1', () => {
          s.write(i % 2 ? `GET /ws?room=${bytes(20).toString('latin1')}&role=publish HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n` : bytes(300));
          setTimeout(() => s.destroy(), 20);
        });
        s.on('error', () => undefined);
        s.on('close', () => resolve());
      });
    }
    // The server is up and the healthy stream still flows.
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    healthy.socket.send(encodeFrame({ seq: 1, timestampMs: 1 }, frame));
    await healthy.until(() => healthy.frames.length >= 1, 5000);
    expect(victim.messages.filter((m) => m.type === 'error').length).toBeGreaterThan(0);
    healthy.socket.close();
    victim.socket.terminate();
  });
});
