/**
 * The worker farm end to end: a real redis-server, one `stylize serve` gateway and 1, 2, 4 …
 * `stylize worker` processes (1 wasm thread each) on this machine, one video job each run
 * (default: the 5 s Big Buck Bunny with audio at the job defaults). Prints per run the end-to-end
 * time, frames per second, chunks, and the chunk phases from the gateway's /metrics (wait for a
 * worker, transfer over the blob endpoints, paint); then a simulated scaling curve for 1–64
 * workers from the measured costs:
 *   T(W) = fixed + rounds(W) · (b · (chunk frames + burn-in) + transfer)
 * with b the painting seconds per frame (burn-in included) and `fixed` (upload, probe,
 * assembly, queue) what the 1-worker run spent outside its chunks. On a 2-core machine, more
 * than 2 workers share the cores: the measured curve flattens at 2 by construction, the simulated
 * one shows what separate machines would do.
 *
 *   npm run bench -- farm [--workers 1,2,4] [--clip <file>] [--size 144] [--steps 2] [--model auto]
 */
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { balancedChunkFrames, defaultChunkFrames } from '../server/jobs/chunk-plan.js';
import { BURN_IN_FRAMES } from '../server/jobs/job-queue.js';
import { probeVideo } from '../server/video/ffmpeg.js';
import { startGateway, startWorker, waitForWorkers, type FarmProcess } from '../test/helpers/farm.js';
import { BBB_MP4, tempDir } from '../test/helpers/paths.js';
import { startRedis } from '../test/helpers/redis.js';

interface RunFigures {
  workers: number;
  seconds: number;
  frames: number;
  fps: number;
  chunks: number;
  waitS: number;
  transferS: number;
  paintS: number;
}

const round = (x: number, digits = 2): number => Number(x.toFixed(digits));

function metric(text: string, name: string, phase: string): number {
  const match = new RegExp(`^${name}\\{phase="${phase}"\\} ([0-9.e+-]+)`, 'm').exec(text);
  return match ? Number(match[1]) : 0;
}

async function runOnce(workers: number, clip: string, fields: Record<string, string>, model: string, dir: string): Promise<RunFigures> {
  const redis = await startRedis();
  const processes: FarmProcess[] = [];
  try {
    for (let i = 0; i < workers; i++) processes.push(startWorker(redis.url, { dataDir: path.join(dir, `w${workers}-${i}`), args: ['--model', model] }));
    const gateway = await startGateway(redis.url, { dataDir: path.join(dir, `g${workers}`), args: ['--model', model] });
    processes.push(gateway);
    await waitForWorkers(gateway, workers, 300_000);
    const form = new FormData();
    form.append('video', new Blob([new Uint8Array(await readFile(clip))]), path.basename(clip));
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    const started = performance.now();
    const res = await fetch(`${gateway.url}/api/jobs`, { method: 'POST', body: form });
    if (res.status !== 202) throw new Error(`POST /api/jobs: ${res.status} ${await res.text()}`);
    const { id } = (await res.json()) as { id: string };
    let job: { status: string; framesTotal: number; error?: string };
    for (;;) {
      job = (await (await fetch(`${gateway.url}/api/jobs/${id}`)).json()) as typeof job;
      if (['done', 'failed', 'canceled'].includes(job.status)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const seconds = (performance.now() - started) / 1000;
    if (job.status !== 'done') throw new Error(`job ${job.status}: ${job.error ?? ''}`);
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    const chunks = metric(text, 'stylize_chunk_seconds_count', 'paint');
    return {
      workers,
      seconds: round(seconds, 1),
      frames: job.framesTotal,
      fps: round(job.framesTotal / seconds),
      chunks,
      waitS: round(metric(text, 'stylize_chunk_seconds_sum', 'wait') / Math.max(1, chunks)),
      transferS: round(metric(text, 'stylize_chunk_seconds_sum', 'transfer') / Math.max(1, chunks)),
      paintS: round(metric(text, 'stylize_chunk_seconds_sum', 'paint') / Math.max(1, chunks)),
    };
  } finally {
    await Promise.all(processes.map((p) => p.stop()));
    await redis.stop();
  }
}

export async function runFarmBench(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      workers: { type: 'string', default: '1,2,4' },
      clip: { type: 'string', default: BBB_MP4 },
      size: { type: 'string', default: '144' },
      steps: { type: 'string', default: '2' },
      model: { type: 'string', default: 'auto' },
    },
  });
  const { dir, cleanup } = await tempDir('stylize-bench-farm-');
  const fields = { size: values.size, stepsPerFrame: values.steps };
  const runs: RunFigures[] = [];
  try {
    for (const workers of values.workers.split(',').map(Number)) {
      const figures = await runOnce(workers, values.clip, fields, values.model, dir);
      runs.push(figures);
      console.log(JSON.stringify({ bench: 'farm', clip: path.basename(values.clip), ...fields, model: values.model, ...figures }));
    }
  } finally {
    await cleanup();
  }
  // The simulated curve, from the 1-worker run's costs (or the first run's).
  const base = runs[0]!;
  const { fps } = await probeVideo(values.clip);
  const chunkFrames = (w: number): number => balancedChunkFrames(base.frames, w, defaultChunkFrames(fps, BURN_IN_FRAMES));
  const perFrame = base.paintS / (base.frames / base.chunks + BURN_IN_FRAMES);
  const chunkS = (w: number): number => perFrame * (chunkFrames(w) + BURN_IN_FRAMES) + base.transferS;
  const fixed = base.seconds - Math.ceil(base.chunks / base.workers) * chunkS(base.workers);
  for (const w of [1, 2, 4, 8, 16, 32, 64]) {
    const chunks = Math.ceil(base.frames / chunkFrames(w));
    const seconds = fixed + Math.ceil(chunks / w) * chunkS(w);
    console.log(JSON.stringify({ simulated: true, workers: w, chunks, chunkFrames: chunkFrames(w), seconds: round(seconds, 1), speedup: round(base.seconds / seconds) }));
  }
}
