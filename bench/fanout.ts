/**
 * Fan-out: 1 publisher + N viewers on loopback against `stylize serve --engine passthrough`
 * (frames returned unpainted, so only delivery is measured), 640×360 JPEG at 15 fps.
 *
 *   npm run bench -- fanout [--viewers 10,100,500] [--seconds 10] [--fps 15]
 *
 * Prints per N: delivered fps per viewer (min / median), viewers below 95 % of the frames,
 * p95 added latency (publisher send → viewer receive), the server's CPU and RSS.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { drawScene } from '../fixtures/draw.js';
import { encodeImage } from '../server/codec/image-codec.js';
import { decodeFrame, encodeFrame, isProtocolError } from '../server/realtime/protocol.js';
import { startServe } from './process.js';

export async function runFanoutBench(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { viewers: { type: 'string', default: '10,100,500' }, seconds: { type: 'string', default: '10' }, fps: { type: 'string', default: '15' } },
  });
  const fps = Number(values.fps);
  const seconds = Number(values.seconds);
  // The drawn scene plus sensor-like noise: about the size of a real 640×360 camera JPEG.
  const scene = drawScene(640, 360);
  let noise = 1;
  const data = scene.data.map((v) => {
    noise = (Math.imul(noise, 1103515245) + 12345) >>> 0;
    return Math.max(0, Math.min(255, v + ((noise >>> 24) % 25) - 12));
  });
  const jpeg = await encodeImage({ ...scene, data }, 'jpeg', 85);
  for (const n of values.viewers.split(',').map(Number)) {
    const server = await startServe(['--engine', 'passthrough', '--max-connections-per-ip', String(n + 10), '--log-level', 'warn']);
    const { port } = server;
    try {
      const res = await fetch(`http://127.0.0.1:${port}/api/rooms`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ room: 'bench' }) });
      const { publishToken } = (await res.json()) as { publishToken: string };
      const publisher = await open(`ws://127.0.0.1:${port}/ws?room=bench&role=publish&token=${publishToken}`);
      const sentAt = new Map<number, number>();
      const latencies: number[] = [];
      const counts = new Array<number>(n).fill(0);
      const viewers = await Promise.all(
        Array.from({ length: n }, async (_, i) => {
          const ws = await open(`ws://127.0.0.1:${port}/ws?room=bench&role=view`);
          ws.on('message', (data: Buffer, isBinary) => {
            if (!isBinary) return;
            counts[i]!++;
            const frame = decodeFrame(data);
            const t = isProtocolError(frame) ? undefined : sentAt.get(frame.seq);
            if (t !== undefined && i % Math.max(1, Math.floor(n / 50)) === 0) latencies.push(performance.now() - t);
          });
          return ws;
        }),
      );
      const cpuStart = cpuSeconds(server.child.pid!);
      const wallStart = performance.now();
      const rss: number[] = [];
      let seq = 0;
      await new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          if (seq >= fps * seconds) {
            clearInterval(timer);
            resolve();
            return;
          }
          sentAt.set(seq, performance.now());
          publisher.send(encodeFrame({ seq, timestampMs: seq }, jpeg));
          if (seq % fps === 0) rss.push(rssMb(server.child.pid!));
          seq++;
        }, 1000 / fps);
      });
      await new Promise((r) => setTimeout(r, 1000));
      const cpu = cpuSeconds(server.child.pid!) - cpuStart;
      const wall = (performance.now() - wallStart) / 1000;
      const sorted = [...counts].sort((a, b) => a - b);
      latencies.sort((a, b) => a - b);
      const line = {
        bench: 'fanout',
        viewers: n,
        frameBytes: jpeg.length,
        sentFrames: seq,
        fpsPerViewerMin: round(sorted[0]! / seconds),
        fpsPerViewerMedian: round(sorted[Math.floor(n / 2)]! / seconds),
        viewersBelow95pct: counts.filter((c) => c < seq * 0.95).length,
        latencyP95Ms: round(latencies[Math.floor(latencies.length * 0.95)] ?? Number.NaN),
        serverCpuPct: round((cpu / wall) * 100),
        serverRssMbStartEnd: [rss[1] ?? rss[0], rss.at(-1)],
        cores: os.availableParallelism(),
      };
      process.stdout.write(`${JSON.stringify(line)}\n`);
      for (const v of [publisher, ...viewers]) v.terminate();
    } finally {
      await server.stop();
    }
  }
}

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws)).once('error', reject);
  });
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks (100/s)
}

function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))!;
  return Math.round(Number(line.replace(/\D+/g, '')) / 1024);
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}
