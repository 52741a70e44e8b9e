/**
 * The live endpoint end to end: a real server on port 0, real `ws` clients, a real photo.
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../../server/codec/image-codec.js';
import { decodeFrame, encodeFrame, isProtocolError } from '../../server/live/protocol.js';
import path from 'node:path';
import { CAT, FIXTURES } from '../helpers/paths.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { connect } from '../helpers/ws-client.js';

let server: TestServer;
let catJpeg: Buffer;

beforeAll(async () => {
  server = await startTestServer({ liveSize: 64, liveSteps: 2 });
  catJpeg = await sharp(await readFile(CAT)).resize(160, 106).jpeg().toBuffer();
});
afterAll(() => server?.close());

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('publishing a stream', () => {
  it('stylizes a stream of 30 real JPEG frames: seqs come back, frames decode and differ from the input', async () => {
    const publisher = await connect(await server.publishUrl('cat'));
    await publisher.until(() => publisher.messages.some((m) => m.type === 'ready'));
    expect(publisher.messages[0]).toMatchObject({ type: 'ready', role: 'publish', room: 'cat', model: 'random-multiscale', backend: 'wasm' });
    const sent = new Set<number>();
    for (let seq = 1; seq <= 30; seq++) {
      publisher.socket.send(encodeFrame({ seq, timestampMs: 1000 + seq }, catJpeg));
      sent.add(seq);
      await sleep(30);
    }
    await publisher.until(() => publisher.frames.length >= 2);
    const frame = decodeFrame(publisher.frames.at(-1)!);
    if (isProtocolError(frame)) throw new Error(frame.message);
    expect(sent.has(frame.seq)).toBe(true);
    expect(frame.timestampMs).toBe(1000 + frame.seq); // the source frame's header, echoed
    const out = await decodeImage(frame.jpeg);
    expect(Math.min(out.width, out.height)).toBe(64);
    const input = await decodeImage(catJpeg, { exact: { width: out.width, height: out.height } });
    let diff = 0;
    for (let i = 0; i < out.data.length; i++) diff += Math.abs(out.data[i]! - input.data[i]!);
    expect(diff / out.data.length).toBeGreaterThan(3);

    // Latest frame wins: 30 frames at ~30 fps into a stylizer that is slower than that.
    await publisher.until(() => publisher.messages.some((m) => m.type === 'stats' && (m.framesIn as number) === 30));
    const stats = publisher.messages.filter((m) => m.type === 'stats').at(-1)!;
    expect(stats).toMatchObject({ model: 'random-multiscale', style: 'starry-night', framesIn: 30 });
    expect((stats.framesOut as number) + (stats.framesDropped as number)).toBeLessThanOrEqual(30);
    expect(stats.framesDropped as number).toBeGreaterThan(0);
    publisher.socket.close();
    await publisher.closed;
  });

  it('answers a corrupt frame with an error and keeps the stream going', async () => {
    const publisher = await connect(await server.publishUrl('bad'));
    // Starts like a JPEG (FF D8) but is not one: it fails in the decoder.
    publisher.socket.send(encodeFrame({ seq: 1, timestampMs: 1 }, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 5])));
    publisher.socket.send(encodeFrame({ seq: 2, timestampMs: 2 }, Buffer.from('not a jpeg at all')));
    await publisher.until(() => publisher.messages.filter((m) => m.type === 'error').length >= 2);
    const errors = publisher.messages.filter((m) => m.type === 'error');
    expect(errors.map((e) => e.code).sort()).toEqual(['BAD_FRAME', 'BAD_FRAME']);
    publisher.socket.send(encodeFrame({ seq: 3, timestampMs: 3 }, catJpeg));
    await publisher.until(() => publisher.frames.length >= 1);
    expect((decodeFrame(publisher.frames[0]!) as { seq: number }).seq).toBe(3);
    publisher.socket.close();
  });

  it('applies config messages; rejects an unknown style and bad values without closing', async () => {
    const publisher = await connect(await server.publishUrl('cfg'));
    publisher.socket.send(JSON.stringify({ type: 'config', style: 'mosaic', steps: 1, size: 48, preserveColors: true, motion: 'flow', temporalWeight: 1e4 }));
    publisher.socket.send(JSON.stringify({ type: 'config', style: 'no-such-style' }));
    publisher.socket.send(JSON.stringify({ type: 'config', steps: -3 }));
    publisher.socket.send(JSON.stringify({ type: 'config', motion: 'sideways' }));
    publisher.socket.send(JSON.stringify({ type: 'hello' }));
    publisher.socket.send('{not json');
    await publisher.until(() => publisher.messages.filter((m) => m.type === 'error').length >= 5);
    const codes = publisher.messages.filter((m) => m.type === 'error').map((m) => m.code);
    expect(codes).toEqual(expect.arrayContaining(['UNKNOWN_STYLE', 'BAD_MESSAGE', 'UNKNOWN_TYPE', 'BAD_MESSAGE']));
    publisher.socket.send(encodeFrame({ seq: 9, timestampMs: 9 }, catJpeg));
    await publisher.until(() => publisher.frames.length >= 1);
    // A second frame is warm-started along the flow with the temporal loss on.
    publisher.socket.send(encodeFrame({ seq: 10, timestampMs: 10 }, catJpeg));
    await publisher.until(() => publisher.frames.length >= 2);
    const out = await decodeImage((decodeFrame(publisher.frames[0]!) as { jpeg: Uint8Array }).jpeg);
    expect(Math.min(out.width, out.height)).toBe(48);
    await publisher.until(() => publisher.messages.some((m) => m.type === 'stats' && m.style === 'mosaic' && m.stepsPerFrame === 1));
    publisher.socket.close();
  });
});

describe('viewers and the socket rules', () => {
  it('sends the stylized stream to viewers; a late viewer gets the latest frame at once', async () => {
    const publisher = await connect(await server.publishUrl('show'));
    const early = await connect(server.wsUrl('room=show&role=view'));
    publisher.socket.send(encodeFrame({ seq: 7, timestampMs: 7 }, catJpeg));
    await early.until(() => early.frames.length >= 1);
    const late = await connect(server.wsUrl('room=show&role=view'));
    await late.until(() => late.frames.length >= 1, 2000);
    expect((decodeFrame(late.frames[0]!) as { seq: number }).seq).toBe(7);
    await publisher.until(() => publisher.messages.some((m) => m.type === 'stats' && m.viewers === 2));
    for (const c of [publisher, early, late]) c.socket.close();
  });

  it('refuses a second publisher, bad rooms and roles at the upgrade', async () => {
    const url = await server.publishUrl('solo');
    const first = await connect(url);
    await expect(connect(url)).rejects.toMatchObject({ status: 409 });
    await expect(connect(server.wsUrl('room=bad%20name&role=view'))).rejects.toMatchObject({ status: 400 });
    await expect(connect(server.wsUrl('room=x&role=admin'))).rejects.toMatchObject({ status: 400 });
    await expect(connect(`ws://127.0.0.1:${server.port}/other`)).rejects.toMatchObject({ status: 404 });
    first.socket.close();
  });

  it('closes with 1009 on an oversize message and keeps serving others', async () => {
    const big = await startTestServer({ maxFrameBytes: 4096 });
    try {
      const url = await big.publishUrl('big');
      const publisher = await connect(url);
      publisher.socket.send(encodeFrame({ seq: 1, timestampMs: 1 }, Buffer.alloc(10_000, 0xff)));
      expect((await publisher.closed).code).toBe(1009);
      const again = await connect(url);
      again.socket.close();
    } finally {
      await big.close();
    }
  });

  it('closes a flooding publisher with 1008', async () => {
    const publisher = await connect(await server.publishUrl('flood'));
    for (let i = 0; i < 500; i++) publisher.socket.send('{"type":"config"}');
    const closed = await publisher.closed;
    expect(closed.code).toBe(1008);
    expect(publisher.messages.some((m) => m.type === 'error' && m.code === 'FLOOD')).toBe(true);
  });

  it('rejects binary from a viewer with an error message', async () => {
    const viewer = await connect(server.wsUrl('room=v&role=view'));
    viewer.socket.send(Buffer.from([1, 2, 3]));
    await viewer.until(() => viewer.messages.some((m) => m.type === 'error'));
    expect(viewer.messages.find((m) => m.type === 'error')).toMatchObject({ code: 'BAD_MESSAGE' });
    viewer.socket.close();
  });
});

describe('HTTP', () => {
  it('serves health, styles, uploads, metrics and the page', async () => {
    const base = `http://127.0.0.1:${server.port}`;
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ ok: true, backend: 'wasm', model: 'random-multiscale' });
    const styles = (await (await fetch(`${base}/api/styles`)).json()) as { id: string; name: string; url: string }[];
    // The public-domain paintings shipped in models/paintings first (the first is the default), then the drawn patterns.
    expect(styles.map((s) => s.id)).toEqual([
      'starry-night', 'great-wave', 'the-scream', 'composition-vii', 'shipwreck', 'japanese-footbridge', 'circus-sideshow',
      'swirls', 'strokes', 'ripples', 'mosaic',
    ]);
    expect(styles[0]!.name).toBe('The Starry Night, Vincent van Gogh, 1889');
    for (const style of styles) {
      const image = await fetch(`${base}${style.url}`);
      expect(image.status, style.id).toBe(200);
      const meta = await sharp(Buffer.from(await image.arrayBuffer())).metadata();
      expect(image.headers.get('content-type')).toBe(`image/${meta.format}`);
      expect(Math.max(meta.width, meta.height), style.id).toBe(512);
    }

    const form = new FormData();
    form.append('image', new Blob([new Uint8Array(catJpeg)], { type: 'image/jpeg' }), 'cat.jpg');
    const created = await fetch(`${base}/api/styles`, { method: 'POST', body: form });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    expect(((await (await fetch(`${base}/api/styles`)).json()) as { id: string }[]).map((s) => s.id)).toContain(id);

    const bad = new FormData();
    bad.append('image', new Blob(['hello'], { type: 'image/jpeg' }), 'fake.jpg');
    const refused = await fetch(`${base}/api/styles`, { method: 'POST', body: bad });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('NOT_AN_IMAGE');
    expect((await fetch(`${base}/api/styles`, { method: 'POST' })).status).toBe(400);
    expect((await fetch(`${base}/api/styles/nope/image`)).status).toBe(404);

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/stylize_frames_in_total \d+/);
    expect(metrics).toMatch(/stylize_frame_seconds_bucket/);
    const page = await fetch(`${base}/`);
    expect(await page.text()).toMatch(/<canvas id="output"/);
  });

  it('keeps uploaded styles across a restart (same data directory)', async () => {
    const first = await startTestServer();
    let second: TestServer | undefined;
    try {
      const form = new FormData();
      form.append('image', new Blob([new Uint8Array(catJpeg)], { type: 'image/jpeg' }), 'cat.jpg');
      const { id } = (await (await fetch(`http://127.0.0.1:${first.port}/api/styles`, { method: 'POST', body: form })).json()) as { id: string };
      await first.sockets.close();
      second = await startTestServer({ dataDir: first.dataDir });
      const ids = ((await (await fetch(`http://127.0.0.1:${second.port}/api/styles`)).json()) as { id: string }[]).map((s) => s.id);
      expect(ids).toContain(id);
    } finally {
      await second?.close();
      await first.close();
    }
  });

  it('offers the images of --styles-dir besides the built-in styles', async () => {
    const withDir = await startTestServer({ stylesDir: path.join(FIXTURES, 'styles') });
    try {
      const styles = (await (await fetch(`http://127.0.0.1:${withDir.port}/api/styles`)).json()) as { id: string; name: string }[];
      expect(styles).toEqual(expect.arrayContaining([{ id: 'dir-starry-night', name: 'Starry Night', url: '/api/styles/dir-starry-night/image' }]));
      expect(styles).toHaveLength(7 + 4 + 2);
    } finally {
      await withDir.close();
    }
  });

  it('rejects an upload over the size limit with 413', async () => {
    const small = await startTestServer({ maxUploadBytes: 2048 });
    try {
      const form = new FormData();
      form.append('image', new Blob([new Uint8Array(catJpeg)], { type: 'image/jpeg' }), 'cat.jpg');
      const res = await fetch(`http://127.0.0.1:${small.port}/api/styles`, { method: 'POST', body: form });
      expect(res.status).toBe(413);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('TOO_LARGE');
    } finally {
      await small.close();
    }
  });
});
