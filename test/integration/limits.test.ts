/**
 * What one client can make the server do, over HTTP and WebSocket: rooms (JSON only, a rate per
 * client, a cap, expiry), the Origin and Host policy (DNS rebinding), per-client limits behind a
 * trusted proxy, and viewers or publishers that send junk and never read. Real server on port 0,
 * real sockets; the passthrough engine, since nothing here needs painting.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { connect } from '../helpers/ws-client.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ engine: 'passthrough', roomsPerMinute: 5, maxRooms: 12, roomIdleMs: 1500 });
});
afterAll(() => server?.close());

/** A raw HTTP request, so Host and Origin can be anything (fetch will not forge Host). */
function request(
  port: number,
  options: { method?: string; path: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: options.method ?? 'GET', path: options.path, headers: options.headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const createRoom = (port: number, headers: Record<string, string> = {}, body = '{}') =>
  request(port, { method: 'POST', path: '/api/rooms', headers: { 'content-type': 'application/json', ...headers }, body });

/** Status of a WebSocket upgrade (101 when it opened). */
function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', () => resolve(0));
  });
}

describe('rooms', () => {
  it('takes JSON only (415 otherwise), so a page on another site cannot make rooms with a simple POST', async () => {
    const res = await request(server.port, { method: 'POST', path: '/api/rooms', headers: { 'content-type': 'text/plain' }, body: '{}' });
    expect(res.status).toBe(415);
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
    const foreign = await createRoom(server.port, { origin: 'http://evil.example' });
    expect(foreign.status).toBe(403);
    expect(JSON.parse(foreign.body)).toMatchObject({ error: { code: 'FORBIDDEN' } });
  });

  it('limits rooms per client a minute (429 with Retry-After) and in all (503)', async () => {
    const capped = await startTestServer({ engine: 'passthrough', roomsPerMinute: 5, maxRooms: 7, trustProxy: 'loopback' });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) statuses.push((await createRoom(capped.port, { 'x-forwarded-for': '203.0.113.1' })).status);
      expect(statuses).toEqual([201, 201, 201, 201, 201, 429, 429, 429]);
      const limited = await createRoom(capped.port, { 'x-forwarded-for': '203.0.113.1' });
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      // Another client (behind the same trusted proxy) has its own allowance, until the server is full.
      expect((await createRoom(capped.port, { 'x-forwarded-for': '203.0.113.2' })).status).toBe(201);
      expect((await createRoom(capped.port, { 'x-forwarded-for': '203.0.113.2' })).status).toBe(201);
      const full = await createRoom(capped.port, { 'x-forwarded-for': '203.0.113.3' });
      expect(full.status).toBe(503);
      expect(JSON.parse(full.body)).toMatchObject({ error: { code: 'BUSY' } });
      expect(full.headers['retry-after']).toBeDefined();
    } finally {
      await capped.close();
    }
  });

  it('forgets a room nobody used for the idle time, tokens and all', async () => {
    const res = await createRoom(server.port, {}, JSON.stringify({ room: 'short-lived' }));
    expect(res.status).toBe(201);
    const { publishToken } = JSON.parse(res.body) as { publishToken: string };
    const url = server.wsUrl(`room=short-lived&role=publish&token=${publishToken}`);
    // While someone is in it, it stays.
    const publisher = await connect(url);
    await new Promise((r) => setTimeout(r, 2500));
    expect(server.sockets.rooms().has('short-lived')).toBe(true);
    publisher.socket.close();
    await publisher.closed;
    await new Promise((r) => setTimeout(r, 2500));
    expect(await upgradeStatus(url)).toBe(401);
    // The name is free again.
    expect((await createRoom(server.port, {}, JSON.stringify({ room: 'short-lived' }))).status).toBe(201);
  });
});

describe('Origin and Host', () => {
  it('with --allowed-hosts, refuses other Hosts (HTTP and WebSocket): DNS rebinding gets 403', async () => {
    const guarded = await startTestServer({ engine: 'passthrough', allowedHosts: ['127.0.0.1', 'localhost'] });
    try {
      const evil = `evil.example:${guarded.port}`;
      expect((await request(guarded.port, { path: '/', headers: { host: evil } })).status).toBe(403);
      expect((await request(guarded.port, { path: '/api/styles', headers: { host: evil } })).status).toBe(403);
      // A rebinding page: its Host and Origin are both its own name.
      expect((await createRoom(guarded.port, { host: evil, origin: `http://${evil}` })).status).toBe(403);
      expect(await upgradeStatus(guarded.wsUrl('room=r1&role=view'), { host: evil, origin: `http://${evil}` })).toBe(403);
      // The real names work; health checks by address too.
      expect((await request(guarded.port, { path: '/api/styles', headers: { host: `localhost:${guarded.port}` } })).status).toBe(200);
      expect(await upgradeStatus(guarded.wsUrl('room=r1&role=view'))).toBe(101);
      expect((await request(guarded.port, { path: '/healthz', headers: { host: evil } })).status).toBe(200);
    } finally {
      await guarded.close();
    }
  });
});

describe('per-client caps behind a reverse proxy', () => {
  it('without --trust-proxy everyone is the proxy; with it, each forwarded client has its own cap', async () => {
    for (const trustProxy of ['false', 'loopback']) {
      const proxied = await startTestServer({ engine: 'passthrough', maxConnectionsPerIp: 2, trustProxy });
      try {
        const open: WebSocket[] = [];
        const statuses: number[] = [];
        for (const client of ['198.51.100.1', '198.51.100.1', '198.51.100.2', '198.51.100.3']) {
          const status = await new Promise<number>((resolve) => {
            const ws = new WebSocket(proxied.wsUrl('room=lobby&role=view'), { headers: { 'x-forwarded-for': client } });
            ws.once('open', () => (open.push(ws), resolve(101)));
            ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
            ws.once('error', () => resolve(0));
          });
          statuses.push(status);
        }
        expect(statuses).toEqual(trustProxy === 'false' ? [101, 101, 429, 429] : [101, 101, 101, 101]);
        for (const ws of open) ws.close();
      } finally {
        await proxied.close();
      }
    }
  });
});

describe('clients that send junk and never read', () => {
  it('a viewer is answered a few times, then closed (1008); a big message from it is closed (1009)', async () => {
    const viewer = await connect(server.wsUrl('room=junk&role=view'));
    // Stop reading: whatever the server sends now stays in its buffers (or is dropped).
    (viewer.socket as unknown as { _socket: { pause(): void } })._socket.pause();
    const one = Buffer.alloc(1);
    for (let i = 0; i < 5000 && viewer.socket.readyState === WebSocket.OPEN; i++) viewer.socket.send(one);
    (viewer.socket as unknown as { _socket: { resume(): void } })._socket.resume();
    expect((await viewer.closed).code).toBe(1008);
    expect(viewer.messages.filter((m) => m.type === 'error').length).toBeLessThanOrEqual(11);

    const big = await connect(server.wsUrl('room=junk&role=view'));
    big.socket.send(Buffer.alloc(4096));
    expect((await big.closed).code).toBe(1009);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('error replies are short and never echo what was sent', async () => {
    const publisher = await connect(await server.publishUrl('echo'));
    const junk = 'x'.repeat(900_000);
    publisher.socket.send(JSON.stringify({ type: junk }));
    publisher.socket.send(JSON.stringify({ type: 'config', [junk.slice(0, 100_000)]: 1 }));
    await publisher.until(() => publisher.messages.filter((m) => m.type === 'error').length >= 2);
    for (const error of publisher.messages.filter((m) => m.type === 'error')) {
      expect((error.message as string).length).toBeLessThanOrEqual(200);
      expect(error.message as string).not.toContain('x'.repeat(300));
    }
    publisher.socket.close();
  });
});
