/**
 * Fan-out across two gateways of a farm: a real redis-server, two `stylize serve --engine
 * passthrough` processes with REDIS_URL (each its own data directory, so each its own gateway
 * id), the room created on A and its publisher on A. The same N viewers are then connected all
 * to A, or all to B (whose frames come from A over Redis pub/sub), alternated `rounds` times in
 * one run so that both see the same machine. Each configuration gets a second of frames to
 * warm up (B subscribes to the room when its first viewer arrives) before its measured window.
 * One line per window, then one summary line per configuration (means over the rounds; the
 * lowest per-viewer fps of any round).
 */
import os from 'node:os';
import path from 'node:path';
import { tempDir } from '../test/helpers/paths.js';
import { startRedis } from '../test/helpers/redis.js';
import { measureWindow, open, openAudience, round, sendFrames, sleep, type Delivery, type ProcessFigures, type SendClock } from './fanout-measure.js';
import { startServe } from './process.js';

type Side = 'A' | 'B';
const CONFIG: Record<Side, string> = { A: 'farm, viewers on A (the publisher\'s gateway)', B: 'farm, viewers on B (frames over Redis)' };

interface Window {
  on: Side;
  delivery: Delivery;
  processes: Record<string, ProcessFigures>;
}

export async function runCrossGatewayFanout(n: number, options: { fps: number; seconds: number; jpeg: Buffer; rounds: number }): Promise<void> {
  const { fps, seconds, jpeg } = options;
  const redis = await startRedis();
  const { dir, cleanup } = await tempDir('stylize-bench-fanout-');
  const servers: Awaited<ReturnType<typeof startServe>>[] = [];
  try {
    const gateway = async (name: string): Promise<Awaited<ReturnType<typeof startServe>>> => {
      const args = ['--engine', 'passthrough', '--max-connections-per-ip', String(n + 10), '--log-level', 'warn', '--data-dir', path.join(dir, name)];
      const server = await startServe(args, { REDIS_URL: redis.url });
      servers.push(server);
      return server;
    };
    const a = await gateway('a');
    const b = await gateway('b');
    const room = `bench-${n}`;
    const res = await fetch(`http://127.0.0.1:${a.port}/api/rooms`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ room }) });
    if (res.status !== 201) throw new Error(`POST /api/rooms on A: ${res.status} ${await res.text()}`);
    const { publishToken } = (await res.json()) as { publishToken: string };
    const publisher = await open(`ws://127.0.0.1:${a.port}/ws?room=${room}&role=publish&token=${publishToken}`);
    const pids = { gatewayA: a.child.pid!, gatewayB: b.child.pid!, redis: redis.pid()! };
    const sentAt: SendClock = new Map();
    const windows: Window[] = [];
    let seq = 0;
    for (let r = 1; r <= options.rounds; r++) {
      for (const on of ['A', 'B'] as const) {
        const port = on === 'A' ? a.port : b.port;
        const audience = await openAudience(Array.from({ length: n }, () => `ws://127.0.0.1:${port}/ws?room=${room}&role=view`), sentAt);
        await sendFrames(publisher, jpeg, { fps, frames: fps, first: seq, sentAt });
        seq += fps;
        await sleep(500);
        const { delivery, processes, loadAvg1 } = await measureWindow({ publisher, jpeg, audience, fps, seconds, first: seq, sentAt, pids });
        seq += fps * seconds;
        audience.close();
        windows.push({ on, delivery, processes });
        const cpuPct = Object.fromEntries(Object.entries(processes).map(([k, v]) => [k, v.cpuPct]));
        const rssMbStartEnd = Object.fromEntries(Object.entries(processes).filter(([k]) => k !== 'bench').map(([k, v]) => [k, v.rssMbStartEnd]));
        process.stdout.write(`${JSON.stringify({ bench: 'fanout', config: CONFIG[on], round: r, viewers: n, frameBytes: jpeg.length, ...delivery, cpuPct, rssMbStartEnd, loadAvg1 })}\n`);
        await sleep(1000); // the viewers' departure settles before the next window
      }
    }
    publisher.terminate();
    for (const on of ['A', 'B'] as const) process.stdout.write(`${JSON.stringify(summary(on, windows.filter((w) => w.on === on), n))}\n`);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await redis.stop();
    await cleanup();
  }
}

function summary(on: Side, windows: Window[], n: number): Record<string, unknown> {
  const mean = (pick: (w: Window) => number): number => round(windows.reduce((s, w) => s + pick(w), 0) / windows.length);
  const names = Object.keys(windows[0]!.processes);
  return {
    bench: 'fanout',
    summary: true,
    config: CONFIG[on],
    rounds: windows.length,
    viewers: n,
    fpsPerViewerMin: Math.min(...windows.map((w) => w.delivery.fpsPerViewerMin)),
    fpsPerViewerMedian: mean((w) => w.delivery.fpsPerViewerMedian),
    viewersBelow95pct: mean((w) => w.delivery.viewersBelow95pct),
    latencyP50Ms: mean((w) => w.delivery.latencyP50Ms),
    latencyP95Ms: mean((w) => w.delivery.latencyP95Ms),
    cpuPct: Object.fromEntries(names.map((k) => [k, mean((w) => w.processes[k]!.cpuPct)])),
    rssMbEnd: Object.fromEntries(names.filter((k) => k !== 'bench').map((k) => [k, Math.max(...windows.map((w) => w.processes[k]!.rssMbStartEnd[1] ?? 0))])),
    cores: os.availableParallelism(),
  };
}
