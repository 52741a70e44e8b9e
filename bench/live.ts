/**
 * Live streaming, end to end: a real clip played at its native rate through the WebSocket as a
 * publisher, against `stylize serve` running in its own process (as in production).
 *
 *   npm run bench -- live [--clip <file>] [--seconds 20] [--size 144] [--target-fps 10]
 *                         [--serve-args="--max-frame-ms 30000"] [--configs default,random-deadline,random-fixed,plain-deadline,plain-fixed,vgg19-deadline,vgg19-fixed]
 *
 * Prints one JSON line per configuration: input and output fps, p50/p95 latency (send → stylized
 * frame back), frames dropped, steps per frame and working size chosen, and how the stream
 * started: the time from the first frame sent to the first painted frame back, and the working
 * sizes of the first painted frames (the progressive cold start), and a timeline about every 5 s
 * (output fps, working size, steps, the learned painter's state with --serve-args="--painter
 * learned"). `default` is `stylize serve`
 * as it starts, with nothing set (the shipped VGG19, the default target rate, steps and floor).
 * `optimiser` and `gram-painter` are the same with `--painter off` (the optimiser alone, the
 * live default before issue 22) and `--painter learned` (issue 12's Gram-trained painter).
 *
 * With `--judge 10,60,110` (source frame indices) each configuration's last output of those
 * frames in its final `--judge-seconds` is judged against the 200-step still of the frame
 * (live-judge.ts: reference gap and patch gap, no neural network), the warped flicker of its last
 * 30 outputs is measured, and a side-by-side (photo | live | still) is written to `--out`.
 * `--mirror` plays the clip mirrored (frames no painter trained on). `--then <clip>` plays a
 * second clip after half of --seconds (a scene change): the judged frames are then its frames,
 * and each of their outputs after the change is judged too (`recovery`: seconds after the change,
 * reference gap), to show how soon the painting is back.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { decodeFrame, encodeFrame, isProtocolError, type StatsMessage } from '../server/live/protocol.js';
import { startServe } from './process.js';
import { BBB_MP4 } from '../test/helpers/paths.js';
import { DEFAULTS } from '../server/config.js';
import { judgeRun, loadPlaylist, stillsFor, type Playlist } from './live-judge.js';


interface LiveConfig {
  name: string;
  /** Send no config at all: the server's defaults. */
  defaults?: boolean;
  serveArgs: string[];
  targetFps: number;
  steps: number;
  /** Sent with the config; unset = the server's defaults (flow + temporal loss). */
  motion?: 'flow' | 'residual' | 'none';
  temporalWeight?: number;
}

export async function runLiveBench(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      clip: { type: 'string', default: BBB_MP4 },
      seconds: { type: 'string', default: '20' },
      size: { type: 'string', default: '144' },
      'target-fps': { type: 'string', default: '10' },
      /** More `stylize serve` flags for every configuration, e.g. "--max-frame-ms 30000" on a loaded machine. */
      'serve-args': { type: 'string', default: '' },
      configs: { type: 'string', default: 'default,vgg19-fixed,random-deadline' },
      mirror: { type: 'boolean', default: false },
      judge: { type: 'string', default: '' },
      'judge-seconds': { type: 'string', default: '10' },
      'still-steps': { type: 'string', default: String(DEFAULTS.steps) },
      /** A second clip, played after the first's half of --seconds (a scene change). */
      then: { type: 'string' },
      style: { type: 'string', default: 'starry-night' },
      out: { type: 'string', default: 'bench/out/live' },
    },
  });
  const size = Number(values.size);
  const targetFps = Number(values['target-fps']);
  const random = ['--model', 'random-multiscale'];
  const shipped = ['--model', 'vgg19-blocks1-3'];
  const all: LiveConfig[] = [
    { name: 'default', serveArgs: [], targetFps: 0, steps: 0, defaults: true },
    { name: 'optimiser', serveArgs: ['--painter', 'off'], targetFps: 0, steps: 0, defaults: true },
    { name: 'gram-painter', serveArgs: ['--painter', 'learned'], targetFps: 0, steps: 0, defaults: true },
    { name: 'random-deadline', serveArgs: random, targetFps, steps: 4 },
    { name: 'random-fixed', serveArgs: random, targetFps: 0, steps: 2 },
    // What following the motion costs: the same, with the plain warm start.
    { name: 'plain-deadline', serveArgs: random, targetFps, steps: 4, motion: 'none', temporalWeight: 0 },
    { name: 'plain-fixed', serveArgs: random, targetFps: 0, steps: 2, motion: 'none', temporalWeight: 0 },
    // The shipped ImageNet VGG19 blocks 1–3 (what `auto` runs when no full VGG19 is installed).
    { name: 'vgg19-deadline', serveArgs: shipped, targetFps, steps: 4 },
    { name: 'vgg19-fixed', serveArgs: shipped, targetFps: 0, steps: 2 },
  ];
  const clips = [values.clip, ...(values.then ? [values.then] : [])];
  const playlist = await loadPlaylist(clips, size, values.mirror, Number(values.seconds) / 2 + 2);
  const fps = playlist.fps;
  const [first] = playlist.raw;
  // With --then, the judged frames are the second clip's.
  const offset = values.then ? playlist.firstLength : 0;
  const judge = values.judge ? await stillsFor(values.judge.split(',').map((i) => offset + Number(i)), playlist.raw, values.style, Number(values['still-steps'])) : undefined;
  const clipName = clips.map((c) => `${path.basename(c, path.extname(c))}${values.mirror ? '-mirrored' : ''}`).join('-then-');
  for (const config of all.filter((c) => values.configs.split(',').includes(c.name))) {
    const extra = values['serve-args'].split(' ').filter(Boolean);
    const result = await runOne({ ...config, serveArgs: [...config.serveArgs, ...extra] }, playlist, Number(values.seconds), size);
    const quality = judge ? await judgeRun(result.outputs, playlist, judge, Number(values['judge-seconds']) * fps, path.join(values.out, `${clipName}-${config.name}.png`)) : {};
    const { outputs: _outputs, ...figures } = result;
    process.stdout.write(`${JSON.stringify({ bench: 'live', clip: clipName, size: `${first!.width}x${size}`, ...figures, ...quality })}\n`);
  }
}

async function runOne(config: LiveConfig, playlist: Playlist, seconds: number, size: number) {
  const { fps } = playlist;
  const server = await startServe([
    ...(config.defaults ? [] : ['--size', String(size), '--steps', String(config.steps)]),
    '--log-level',
    'warn',
    ...config.serveArgs,
  ]);
  const { port } = server;
  try {
    const created = await fetch(`http://127.0.0.1:${port}/api/rooms`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ room: 'bench' }),
    });
    const { publishToken } = (await created.json()) as { publishToken: string };
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?room=bench&role=publish&token=${publishToken}`);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    if (!config.defaults) {
      ws.send(JSON.stringify({ type: 'config', targetFps: config.targetFps || null, steps: config.steps, motion: config.motion, temporalWeight: config.temporalWeight }));
    }
    const sentAt = new Map<number, number>();
    const latencies: number[] = [];
    const stats: StatsMessage[] = [];
    let received = 0;
    let firstFrameMs: number | undefined;
    /** The painted frames of the measured window, by seq (for the judges). */
    const outputs = new Map<number, Buffer>();
    let measuring = false;
    ws.on('message', (data: Buffer, isBinary) => {
      if (!isBinary) {
        const message = JSON.parse(data.toString()) as { type: string };
        if (message.type === 'stats') stats.push(message as StatsMessage);
        return;
      }
      const frame = decodeFrame(data);
      if (isProtocolError(frame)) return;
      const t = sentAt.get(frame.seq);
      if (t !== undefined) latencies.push(performance.now() - t);
      firstFrameMs ??= performance.now() - sentAt.get(0)!;
      if (measuring) outputs.set(frame.seq, Buffer.from(frame.jpeg));
      received++;
    });
    // Warm-up: 2 s not counted (XNNPACK caches, the deadline controller's first estimates).
    const warmupMs = 2000;
    const started = performance.now();
    let seq = 0;
    let measuredFrom = Number.POSITIVE_INFINITY;
    let receivedAtStart = 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const elapsed = performance.now() - started;
        if (elapsed > warmupMs && measuredFrom === Number.POSITIVE_INFINITY) {
          measuredFrom = seq;
          receivedAtStart = received;
          latencies.length = 0;
          measuring = true;
        }
        if (elapsed > warmupMs + seconds * 1000) {
          clearInterval(timer);
          resolve();
          return;
        }
        sentAt.set(seq, performance.now());
        ws.send(encodeFrame({ seq, timestampMs: Math.round(performance.now()) }, playlist.frames[playlist.at(seq)]!));
        seq++;
      }, 1000 / fps);
    });
    await new Promise((r) => setTimeout(r, 1000));
    ws.close();
    latencies.sort((a, b) => a - b);
    const pct = (p: number): number => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? Number.NaN);
    const last = stats.at(-1);
    // Working heights in the stats of the first seconds: the cold start's coarse frames, then the plan's.
    const startHeights = [...new Set(stats.slice(0, 4).filter((m) => m.framesOut > 0).map((m) => m.height))];
    const sent = seq - measuredFrom;
    const out = received - receivedAtStart;
    return {
      outputs,
      config: config.name,
      model: last?.model,
      targetFps: last?.targetFps ?? (config.targetFps || null),
      inputFps: round(sent / seconds),
      outputFps: round(out / seconds),
      latencyP50Ms: pct(0.5),
      latencyP95Ms: pct(0.95),
      dropped: sent - out,
      stepsPerFrame: last?.stepsPerFrame,
      workingSize: last ? `${last.width}x${last.height}` : null,
      stylizeMs: last?.stylizeMs,
      latencyMsServer: last?.latencyMs,
      statsFps: last ? { in: last.inputFps, out: last.outputFps } : null,
      firstFrameMs: firstFrameMs === undefined ? null : Math.round(firstFrameMs),
      startHeights,
      // Every 5th stats message (about 5 s apart): the stream over time (with --painter learned: learning, then painting).
      timeline: stats.filter((_, i) => i % 5 === 4).map((m) => ({
        fps: m.outputFps,
        size: `${m.width}x${m.height}`,
        steps: m.stepsPerFrame,
        ...(m.painter ? { painter: `${m.painter.state} ${m.painter.steps}${m.painter.blend ? ` ${m.painter.blend}` : ""}` } : {}),
      })),
    };
  } finally {
    await server.stop();
  }
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}
