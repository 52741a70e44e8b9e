/**
 * Fan-out: 1 publisher + N viewers on loopback against `stylize serve --engine passthrough`
 * (frames returned unpainted, so only delivery is measured), 640×360 JPEG at 15 fps.
 *
 *   npm run bench -- fanout [--viewers 10,100,500] [--seconds 10] [--fps 15]
 *   npm run bench -- fanout --gateways 2 [--viewers 100] [--rounds 2]     (bench/fanout-farm.ts)
 *
 * Prints per N: delivered fps per viewer (min / median), viewers below 95 % of the frames,
 * p50 / p95 added latency (publisher send → viewer receive), the server's CPU and RSS. With
 * `--gateways 2`: first the same one-gateway row (no Redis) as a baseline, then the publisher on
 * gateway A of a farm and the viewers all on A, then all on B, alternated `--rounds` times.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { runCrossGatewayFanout } from './fanout-farm.js';
import { cameraJpeg, measureWindow, open, openAudience, type SendClock } from './fanout-measure.js';
import { startServe } from './process.js';

export async function runFanoutBench(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      viewers: { type: 'string' },
      seconds: { type: 'string', default: '10' },
      fps: { type: 'string', default: '15' },
      gateways: { type: 'string', default: '1' },
      rounds: { type: 'string', default: '2' },
    },
  });
  const fps = Number(values.fps);
  const seconds = Number(values.seconds);
  const gateways = Number(values.gateways);
  if (gateways !== 1 && gateways !== 2) throw new Error('--gateways is 1 (one server, no Redis) or 2 (a farm: publisher on A, viewers on A or B)');
  const jpeg = await cameraJpeg();
  const viewerCounts = (values.viewers ?? (gateways === 1 ? '10,100,500' : '100')).split(',').map(Number);
  for (const n of viewerCounts) {
    const baseline = await oneGateway(n, { fps, seconds, jpeg });
    process.stdout.write(`${JSON.stringify(gateways === 1 ? baseline : { ...baseline, config: 'one gateway, no Redis' })}\n`);
    if (gateways === 2) await runCrossGatewayFanout(n, { fps, seconds, jpeg, rounds: Number(values.rounds) });
  }
}

/** One `stylize serve` without Redis: the publisher and every viewer on it. */
async function oneGateway(n: number, options: { fps: number; seconds: number; jpeg: Buffer }): Promise<Record<string, unknown>> {
  const server = await startServe(['--engine', 'passthrough', '--max-connections-per-ip', String(n + 10), '--log-level', 'warn']);
  const { port } = server;
  try {
    const res = await fetch(`http://127.0.0.1:${port}/api/rooms`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ room: 'bench' }) });
    const { publishToken } = (await res.json()) as { publishToken: string };
    const publisher = await open(`ws://127.0.0.1:${port}/ws?room=bench&role=publish&token=${publishToken}`);
    const sentAt: SendClock = new Map();
    const audience = await openAudience(Array.from({ length: n }, () => `ws://127.0.0.1:${port}/ws?room=bench&role=view`), sentAt);
    const { delivery, processes, loadAvg1 } = await measureWindow({ publisher, jpeg: options.jpeg, audience, fps: options.fps, seconds: options.seconds, first: 0, sentAt, pids: { server: server.child.pid! } });
    publisher.terminate();
    audience.close();
    return {
      bench: 'fanout',
      viewers: n,
      frameBytes: options.jpeg.length,
      ...delivery,
      serverCpuPct: processes.server!.cpuPct,
      serverRssMbStartEnd: processes.server!.rssMbStartEnd,
      benchCpuPct: processes.bench!.cpuPct,
      cores: os.availableParallelism(),
      loadAvg1,
    };
  } finally {
    await server.stop();
  }
}
