/**
 * What the fan-out benches share: a camera-like JPEG, a publisher that sends it at a steady
 * rate, viewers that count and time what they receive, and the CPU and memory of the processes
 * that carry the frames (read from /proc). Latency is publisher send → viewer receive, both
 * clocks in this process.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import WebSocket from 'ws';
import { drawScene } from '../fixtures/draw.js';
import { encodeImage } from '../server/codec/image-codec.js';
import { decodeFrame, encodeFrame, isProtocolError } from '../server/live/protocol.js';

/** The drawn scene plus sensor-like noise: about the size of a real 640×360 camera JPEG. */
export async function cameraJpeg(): Promise<Buffer> {
  const scene = drawScene(640, 360);
  let noise = 1;
  const data = scene.data.map((v) => {
    noise = (Math.imul(noise, 1103515245) + 12345) >>> 0;
    return Math.max(0, Math.min(255, v + ((noise >>> 24) % 25) - 12));
  });
  return encodeImage({ ...scene, data }, 'jpeg', 85);
}

export function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws)).once('error', reject);
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function round(v: number): number {
  return Math.round(v * 10) / 10;
}

/** When each frame was sent, by seq (shared by the publisher and the viewers). */
export type SendClock = Map<number, number>;

export interface Audience {
  sockets: WebSocket[];
  /** Frames each viewer got since the last reset. */
  counts: number[];
  /** Added latencies (ms) of about 50 sampled viewers since the last reset. */
  latencies: number[];
  reset(): void;
  close(): void;
}

export async function openAudience(urls: string[], sentAt: SendClock): Promise<Audience> {
  const n = urls.length;
  const counts = new Array<number>(n).fill(0);
  const latencies: number[] = [];
  // Timing every viewer would make this process the bottleneck at 500: ~50 are enough for a p95.
  const sampled = (i: number): boolean => i % Math.max(1, Math.floor(n / 50)) === 0;
  const sockets = await Promise.all(
    urls.map(async (url, i) => {
      const ws = await open(url);
      ws.on('message', (data: Buffer, isBinary) => {
        if (!isBinary) return;
        counts[i]!++;
        if (!sampled(i)) return;
        const frame = decodeFrame(data);
        const t = isProtocolError(frame) ? undefined : sentAt.get(frame.seq);
        if (t !== undefined) latencies.push(performance.now() - t);
      });
      return ws;
    }),
  );
  return {
    sockets,
    counts,
    latencies,
    reset() {
      counts.fill(0);
      latencies.length = 0;
    },
    close() {
      for (const ws of sockets) ws.terminate();
    },
  };
}

/** Sends `frames` frames at `fps`, seqs from `first`; `everySecond` runs once per second of frames. */
export function sendFrames(
  publisher: WebSocket,
  jpeg: Buffer,
  options: { fps: number; frames: number; first: number; sentAt: SendClock; everySecond?: () => void },
): Promise<void> {
  const { fps, frames, first, sentAt } = options;
  let i = 0;
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (i >= frames) {
        clearInterval(timer);
        resolve();
        return;
      }
      const seq = first + i;
      sentAt.set(seq, performance.now());
      sentAt.delete(seq - fps * 30); // a frame not seen within 30 s is lost, not late
      publisher.send(encodeFrame({ seq, timestampMs: seq }, jpeg));
      if (i % fps === 0) options.everySecond?.();
      i++;
    }, 1000 / fps);
  });
}

export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks (100/s)
}

export function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))!;
  return Math.round(Number(line.replace(/\D+/g, '')) / 1024);
}

export interface ProcessFigures {
  cpuPct: number;
  /** RSS after the first second and at the end (the first sample is before any frame arrived). */
  rssMbStartEnd: [number | undefined, number | undefined];
}

/** CPU and RSS of some processes from now until `finish()`; `sample()` takes an RSS reading. */
export function watchProcesses(pids: Record<string, number>): { sample(): void; finish(): Record<string, ProcessFigures> } {
  const cpuStart = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuSeconds(pid)]));
  const rss: Record<string, number[]> = Object.fromEntries(Object.keys(pids).map((name) => [name, []]));
  const wallStart = performance.now();
  return {
    sample() {
      for (const [name, pid] of Object.entries(pids)) rss[name]!.push(rssMb(pid));
    },
    finish() {
      const wall = (performance.now() - wallStart) / 1000;
      return Object.fromEntries(
        Object.entries(pids).map(([name, pid]) => {
          const samples = rss[name]!;
          return [name, { cpuPct: round(((cpuSeconds(pid) - cpuStart[name]!) / wall) * 100), rssMbStartEnd: [samples[1] ?? samples[0], samples.at(-1)] }];
        }),
      );
    },
  };
}

export interface Delivery {
  sentFrames: number;
  fpsPerViewerMin: number;
  fpsPerViewerMedian: number;
  viewersBelow95pct: number;
  latencyP50Ms: number;
  latencyP95Ms: number;
}

/**
 * One measured window: `seconds` of frames to an audience already connected, then a second for
 * the last ones to arrive. Returns delivery and the watched processes' figures (this process
 * included, as `bench`: on a small machine the viewers' side takes CPU too).
 */
export async function measureWindow(options: {
  publisher: WebSocket;
  jpeg: Buffer;
  audience: Audience;
  fps: number;
  seconds: number;
  first: number;
  sentAt: SendClock;
  pids: Record<string, number>;
}): Promise<{ delivery: Delivery; processes: Record<string, ProcessFigures>; loadAvg1: number }> {
  const { audience, fps, seconds } = options;
  audience.reset();
  const watch = watchProcesses({ ...options.pids, bench: process.pid });
  const frames = fps * seconds;
  await sendFrames(options.publisher, options.jpeg, { fps, frames, first: options.first, sentAt: options.sentAt, everySecond: () => watch.sample() });
  await sleep(1000);
  const processes = watch.finish();
  const counts = [...audience.counts].sort((a, b) => a - b);
  const latencies = [...audience.latencies].sort((a, b) => a - b);
  const n = counts.length;
  return {
    delivery: {
      sentFrames: frames,
      fpsPerViewerMin: round(counts[0]! / seconds),
      fpsPerViewerMedian: round(counts[Math.floor(n / 2)]! / seconds),
      viewersBelow95pct: counts.filter((c) => c < frames * 0.95).length,
      latencyP50Ms: round(latencies[Math.floor(latencies.length * 0.5)] ?? Number.NaN),
      latencyP95Ms: round(latencies[Math.floor(latencies.length * 0.95)] ?? Number.NaN),
    },
    processes,
    loadAvg1: round(os.loadavg()[0]!),
  };
}
