/**
 * Round 3 (issue 20) attacks for the items already fixed: 1 (video part), 3, 5, 6, 7, 8, 12, 14.
 * Each is bounded in count and time, takes the target (the attacker's address in `from`) and
 * returns what the attacker saw and what a healthy second client (127.0.0.1) got beside it. They
 * speak only HTTP (or, for 6, the compiled decoder of the tree under test), so the same driver
 * measures the code before the fixes and after.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { ROOT } from '../paths.js';
import { type AttackResult, type Bounds, type HttpAnswer, type Target, answerKey, answerWithin, count, postMultipart, request, sleep } from './http.js';
import { pollJob } from './upload-attacks.js';

const run = promisify(execFile);
const FINAL = new Set(['done', 'failed', 'canceled']);
const seconds = (ms: number): number => Math.round(ms / 100) / 10;
const from = (target: Target): { from?: string } => (target.from ? { from: target.from } : {});

async function ffmpeg(args: string[]): Promise<void> {
  await run('ffmpeg', ['-v', 'error', '-y', ...args], { maxBuffer: 16 * 1024 * 1024 });
}

// ---- media ------------------------------------------------------------------------------------

/** 1. A 10 000×16 H.264 MP4 of one second (a few KB). */
export async function makeSliverVideo(file: string): Promise<string> {
  await ffmpeg(['-f', 'lavfi', '-i', 'color=c=red:size=10000x16:rate=24:duration=1', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', file]);
  return file;
}

/** 5. An MKV whose stream 0 is 32×32 red and whose stream 1 is 7680×4320 blue (2 s, 10 fps). */
export async function makeTwoStreamMkv(file: string): Promise<string> {
  await ffmpeg([
    '-f', 'lavfi', '-i', 'color=c=red:size=32x32:rate=10:duration=2',
    '-f', 'lavfi', '-i', 'color=c=blue:size=7680x4320:rate=10:duration=2',
    '-map', '0:v', '-map', '1:v', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', file,
  ]);
  return file;
}

/** 6. A 1080p H.264 MP4 of `frames` frames at 30 fps, a keyframe every 2 s. */
export async function makeLong1080p(file: string, { frames = 960 }: { frames?: number } = {}): Promise<string> {
  await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=30', '-frames:v', String(frames), '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '60', '-pix_fmt', 'yuv420p', file]);
  return file;
}

/** 8. A variable-rate MP4: 2 of every 5 frames of 24 fps kept over 5 s, beside 5 s of audio. */
export async function makeVfrVideo(file: string): Promise<string> {
  await ffmpeg([
    '-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=24', '-f', 'lavfi', '-i', 'sine=f=440:d=5', '-t', '5',
    '-vf', "select='lt(mod(n\\,5)\\,2)'", '-fps_mode', 'vfr', '-c:v', 'libx264', '-c:a', 'aac', '-shortest', file,
  ]);
  return file;
}

/** 3. A distinct `side`×`side` noise PNG, stored (≈ 3 MB at 1000²) for each `n`. */
export async function noisePng(n: number, side = 1000): Promise<Buffer> {
  const data = Buffer.alloc(side * side * 3);
  let x = (n + 1) * 2654435761;
  for (let i = 0; i < data.length; i += 1) {
    x = (x * 1103515245 + 12345) >>> 0;
    data[i] = x >>> 24;
  }
  return sharp(data, { raw: { width: side, height: side, channels: 3 } }).png({ compressionLevel: 0 }).toBuffer();
}

// ---- shared -----------------------------------------------------------------------------------

interface JobView {
  id: string;
  status: string;
  error?: string;
  framesDone?: number;
  framesTotal?: number;
}

/** Cheap job settings (both trees accept them): the attacks are about decoding, not painting. */
const CHEAP = { size: '32', stepsPerFrame: '1', firstFrameSteps: '2' };

export async function submitVideo(target: Target, video: string, bounds: Bounds, fields: Record<string, string> = CHEAP): Promise<{ answer: HttpAnswer; job?: JobView }> {
  const answer = await postMultipart(
    `${target.baseUrl}/api/jobs`,
    [{ name: 'video', filename: path.basename(video), contentType: 'application/octet-stream', data: await readFile(video) }, ...Object.entries(fields).map(([name, data]) => ({ name, data }))],
    { timeoutMs: answerWithin(bounds), ...from(target), ...(bounds.signal ? { signal: bounds.signal } : {}) },
  );
  return { answer, ...(answer.status === 202 ? { job: JSON.parse(answer.body) as JobView } : {}) };
}

/** Submits `video` and waits (up to `waitMs`) for the job to end: its answer, end state and seconds. */
async function jobOutcome(target: Target, video: string, bounds: Bounds, waitMs: number, fields?: Record<string, string>): Promise<{ answer: string; status: string; error?: string; seconds: number; id?: string; message?: string }> {
  const started = performance.now();
  const { answer, job } = await submitVideo(target, video, bounds, fields);
  if (!job) return { answer: answerKey(answer), status: 'refused', seconds: seconds(performance.now() - started), message: messageOf(answer.body) };
  const last = await pollJob(target, job.id, (j) => FINAL.has(j.status), performance.now() + waitMs, bounds.signal);
  return {
    answer: answerKey(answer),
    status: last?.status ?? 'unknown',
    ...(last?.error ? { error: last.error.slice(0, 200) } : {}),
    seconds: seconds(performance.now() - started),
    id: job.id,
  };
}

function messageOf(body: string): string {
  try {
    return ((JSON.parse(body) as { error?: { message?: string } }).error?.message ?? body).slice(0, 200);
  } catch {
    return body.slice(0, 200);
  }
}

async function downloadOutput(target: Target, id: string, file: string): Promise<boolean> {
  const res = await fetch(`${target.baseUrl}/api/jobs/${id}/output`, { signal: AbortSignal.timeout(60_000) }).catch(() => undefined);
  if (!res?.ok) return false;
  await writeFile(file, new Uint8Array(await res.arrayBuffer()));
  return true;
}

/** Seconds of the first video and audio streams of a file (frames / rate for the video). */
async function streamSeconds(file: string): Promise<{ videoS: number | null; audioS: number | null; size: string }> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'stream=codec_type,nb_read_frames,avg_frame_rate,duration,width,height', '-of', 'json', file]);
  const streams = (JSON.parse(stdout) as { streams: { codec_type: string; nb_read_frames?: string; avg_frame_rate?: string; duration?: string; width?: number; height?: number }[] }).streams;
  const video = streams.find((s) => s.codec_type === 'video');
  const audio = streams.find((s) => s.codec_type === 'audio');
  const [n, d] = (video?.avg_frame_rate ?? '0/1').split('/').map(Number);
  const fps = d ? n! / d : 0;
  return {
    videoS: video && fps > 0 ? Math.round((Number(video.nb_read_frames) / fps) * 100) / 100 : null,
    audioS: audio?.duration ? Math.round(Number(audio.duration) * 100) / 100 : null,
    size: video ? `${video.width}×${video.height}` : '–',
  };
}

/** Mean RGB of a file's first frame. */
async function firstFrameColour(file: string): Promise<number[]> {
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-i', file, '-frames:v', '1', '-vf', 'scale=1:1:flags=area', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { encoding: 'buffer' });
  return [...(stdout as Buffer).subarray(0, 3)];
}

async function bytesUnder(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const s = await stat(path.join(dir, name)).catch(() => undefined);
    if (s?.isFile()) total += s.size;
  }
  return total;
}

const mb = (bytes: number): number => Math.round(bytes / 1e5) / 10;

// ---- 1, 5, 8: one odd video ---------------------------------------------------------------------

/**
 * 1 (video). The attacker submits a 10 000×16 video; then another client submits a small one that
 * works on a fresh server. Before: accepted, failed after ~20 s in the wasm engine, and the
 * poisoned chunk process failed the next job too. After: 400 naming the aspect limit.
 */
export async function sliverVideoJob(target: Target, { video, healthyVideo, ...bounds }: Bounds & { video: string; healthyVideo: string }): Promise<AttackResult> {
  const answers = {};
  const attacker = await jobOutcome(target, video, bounds, answerWithin(bounds));
  count(answers, attacker.answer);
  if (attacker.status !== 'refused') count(answers, `job ${attacker.status}`);
  const healthy = await jobOutcome({ baseUrl: target.baseUrl }, healthyVideo, bounds, answerWithin(bounds));
  return {
    attack: 'a 10 000×16 video job, then another client’s small job',
    answers,
    observed: { attackersJob: attacker, anotherClientsJob: healthy },
  };
}

/**
 * 5. An MKV with a 32×32 stream 0 beside a 7680×4320 stream 1: which one the job paints (the
 * output's first frame: red is stream 0, blue stream 1) and how long it takes.
 */
export async function secondStreamJob(target: Target, { video, workDir, ...bounds }: Bounds & { video: string; workDir: string }): Promise<AttackResult> {
  const answers = {};
  const job = await jobOutcome(target, video, bounds, answerWithin(bounds));
  count(answers, job.answer);
  count(answers, `job ${job.status}`);
  const observed: Record<string, unknown> = { job };
  if (job.status === 'done' && job.id) {
    const out = path.join(workDir, `${job.id}.mp4`);
    if (await downloadOutput(target, job.id, out)) {
      const rgb = await firstFrameColour(out);
      observed.outputFirstFrameRgb = rgb;
      observed.painted = rgb[0]! > rgb[2]! ? 'stream 0 (32×32 red)' : 'stream 1 (7680×4320 blue)';
      observed.output = (await streamSeconds(out)).size;
    }
  }
  return { attack: 'an MKV: 32×32 stream 0, 7680×4320 stream 1', answers, observed };
}

/** 8. A variable-rate MP4 with audio: the output's video seconds beside its audio seconds. */
export async function vfrJob(target: Target, { video, workDir, ...bounds }: Bounds & { video: string; workDir: string }): Promise<AttackResult> {
  const answers = {};
  const input = await streamSeconds(video);
  const job = await jobOutcome(target, video, bounds, answerWithin(bounds));
  count(answers, job.answer);
  count(answers, `job ${job.status}`);
  const observed: Record<string, unknown> = { job, input: { videoS: input.videoS, audioS: input.audioS } };
  if (job.status === 'done' && job.id) {
    const out = path.join(workDir, `${job.id}.mp4`);
    if (await downloadOutput(target, job.id, out)) {
      const o = await streamSeconds(out);
      observed.output = { videoS: o.videoS, audioS: o.audioS };
    }
  }
  return { attack: 'a VFR MP4 (2 of 5 frames of 24 fps kept, 5 s) with audio', answers, observed };
}

// ---- 6: decode cost ----------------------------------------------------------------------------

interface Decoder {
  probeVideo(file: string): Promise<{ frames: number; width: number; height: number }>;
  decodeRgbFrames(file: string, info: unknown, size: { width: number; height: number }, range: { start: number; end: number }): AsyncGenerator<Uint8Array>;
}

/**
 * 6. The decode seconds of an early and a late 64-frame chunk of a long 1080p clip, through the
 * compiled decoder of the tree under test (dist/server/video/ffmpeg.js), at a job's 640×360.
 */
export async function chunkDecodeCost({ video, chunk = 64, ...bounds }: Bounds & { video: string; chunk?: number }): Promise<AttackResult> {
  const answers = {};
  const decoder = (await import(pathToFileURL(path.join(ROOT, 'dist/server/video/ffmpeg.js')).href)) as Decoder;
  const info = await decoder.probeVideo(video);
  const size = { width: 640, height: 360 };
  const starts = [0, Math.floor(info.frames / 2 / chunk) * chunk, info.frames - chunk];
  const observed: Record<string, unknown> = { clip: `${info.width}×${info.height}, ${info.frames} frames` };
  for (const start of starts) {
    if (bounds.signal?.aborted) break;
    const t = performance.now();
    let n = 0;
    for await (const _frame of decoder.decodeRgbFrames(video, info, size, { start, end: start + chunk })) {
      n += 1;
      if (bounds.signal?.aborted) break;
    }
    observed[`[${start},${start + chunk}) s`] = Math.round((performance.now() - t) / 10) / 100;
    count(answers, `${n} frames decoded`);
  }
  return { attack: `decode seconds of ${chunk}-frame chunks of a 1080p clip`, answers, observed };
}

// ---- 3: style uploads --------------------------------------------------------------------------

/**
 * 3. Up to `uploads` distinct ~3 MB PNGs to POST /api/styles from one client, one after another,
 * within the attack; then another client uploads one. MB added to the styles folder on disk.
 */
export async function styleUploadFlood(target: Target, { dataDir, uploads = 150, ...bounds }: Bounds & { dataDir: string; uploads?: number }): Promise<AttackResult> {
  const answers = {};
  const stylesDir = path.join(dataDir, 'styles');
  const before = await bytesUnder(stylesDir);
  const deadline = performance.now() + bounds.durationMs;
  const started = performance.now();
  let sent = 0;
  let next = noisePng(0);
  while (sent < uploads && performance.now() < deadline && !bounds.signal?.aborted) {
    const png = await next;
    next = noisePng(sent + 1);
    const answer = await postMultipart(`${target.baseUrl}/api/styles`, [{ name: 'image', filename: `s${sent}.png`, contentType: 'image/png', data: png }], {
      timeoutMs: answerWithin(bounds),
      ...from(target),
      ...(bounds.signal ? { signal: bounds.signal } : {}),
    });
    count(answers, answerKey(answer));
    sent += 1;
  }
  const elapsedMs = performance.now() - started;
  const healthy = await postMultipart(`${target.baseUrl}/api/styles`, [{ name: 'image', filename: 'mine.png', contentType: 'image/png', data: await noisePng(99_999, 200) }], { timeoutMs: answerWithin(bounds) });
  return {
    attack: `${uploads} distinct 3 MB PNG style uploads from one client`,
    answers,
    observed: { sent, seconds: seconds(elapsedMs), stylesOnDiskMbAdded: mb((await bytesUnder(stylesDir)) - before), anotherClientsUpload: answerKey(healthy) },
  };
}

// ---- 7: event streams --------------------------------------------------------------------------

/** Opens an SSE stream and resolves with its status once the head arrives; the body is left open. */
function openEventStream(url: string, fromAddress: string | undefined, timeoutMs: number): Promise<{ status: number | string; close(): void }> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, ...(fromAddress ? { localAddress: fromAddress } : {}) });
    const close = (): void => void req.destroy();
    const timer = setTimeout(() => {
      resolve({ status: 'timeout', close });
      close();
    }, timeoutMs);
    req.on('response', (res) => {
      clearTimeout(timer);
      res.resume();
      res.on('error', () => undefined);
      if (res.statusCode !== 200) close();
      resolve({ status: res.statusCode ?? 0, close });
    });
    req.on('error', (e) => {
      clearTimeout(timer);
      resolve({ status: (e as NodeJS.ErrnoException).code ?? e.message, close });
    });
  });
}

const fdCount = async (pid: number): Promise<number | null> => (await readdir(`/proc/${pid}/fd`).catch(() => null))?.length ?? null;

/**
 * 7. One client opens up to `streams` job event streams (SSE) on its own running job, `concurrency`
 * at a time, and holds them; then another client opens one and asks for /api/config.
 */
export async function eventStreamFlood(
  target: Target,
  { video, serverPid, streams = 3000, concurrency = 64, ...bounds }: Bounds & { video: string; serverPid: number; streams?: number; concurrency?: number },
): Promise<AttackResult> {
  const answers = {};
  const { answer, job } = await submitVideo(target, video, bounds, { size: '64', stepsPerFrame: '20', firstFrameSteps: '50' });
  count(answers, `job ${answerKey(answer)}`);
  if (!job) return { attack: 'event-stream flood', answers, observed: { job: messageOf(answer.body) } };
  const url = `${target.baseUrl}/api/jobs/${job.id}/events`;
  const fdsBefore = await fdCount(serverPid);
  const open: { close(): void }[] = [];
  const deadline = performance.now() + bounds.durationMs;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < streams && performance.now() < deadline && !bounds.signal?.aborted) {
      next += 1;
      const s = await openEventStream(url, target.from, Math.max(1000, deadline - performance.now()));
      count(answers, typeof s.status === 'number' ? `HTTP ${s.status}` : s.status);
      open.push(s);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const fdsDuring = await fdCount(serverPid);
  const healthyStream = await openEventStream(url, undefined, 10_000);
  const config = await request(`${target.baseUrl}/api/config`, { timeoutMs: 10_000 });
  const state = await request(`${target.baseUrl}/api/jobs/${job.id}`, { timeoutMs: 10_000 });
  healthyStream.close();
  for (const s of open) s.close();
  await request(`${url.replace(/\/events$/, '')}`, { method: 'DELETE', timeoutMs: 10_000 });
  return {
    attack: `${streams} job event streams from one client`,
    answers,
    observed: {
      opened: next,
      serverFds: { before: fdsBefore, during: fdsDuring },
      anotherClientsStream: healthyStream.status,
      anotherClientsConfig: `${answerKey(config)} in ${Math.round(config.ms)} ms`,
      jobDuringFlood: state.status === 200 ? (JSON.parse(state.body) as JobView).status : answerKey(state),
    },
  };
}

// ---- 14: painter trainings dropped ---------------------------------------------------------------

/**
 * 14. `styles` distinct style uploads at once, each from its own address (127.0.0.10…), on a
 * server that trains each upload's painter; then what GET /api/styles says of their painters.
 */
export async function painterTrainingFlood(target: Target, { styles = 30, ...bounds }: Bounds & { styles?: number }): Promise<AttackResult> {
  const answers = {};
  const images = await Promise.all(Array.from({ length: styles }, (_, i) => noisePng(1000 + i, 96)));
  const results = await Promise.all(
    images.map((data, i) =>
      postMultipart(`${target.baseUrl}/api/styles`, [{ name: 'image', filename: `p${i}.png`, contentType: 'image/png', data }], {
        timeoutMs: answerWithin(bounds),
        from: `127.0.0.${10 + i}`,
        ...(bounds.signal ? { signal: bounds.signal } : {}),
      }),
    ),
  );
  const ids = new Set<string>();
  for (const r of results) {
    count(answers, answerKey(r));
    if (r.status === 201) ids.add((JSON.parse(r.body) as { id: string }).id);
  }
  // What the page sees: the painter state of each upload, read a few times over the attack.
  const seen: Record<string, number> = {};
  const deadline = performance.now() + Math.min(bounds.durationMs, 10_000);
  let last: Record<string, number> = {};
  do {
    const list = await request(`${target.baseUrl}/api/styles`, { timeoutMs: 10_000 });
    if (list.status !== 200) break;
    last = {};
    for (const s of JSON.parse(list.body) as { id: string; painter?: { state?: string } }[]) {
      if (ids.has(s.id)) count(last, s.painter?.state ?? 'no painter state');
    }
    for (const [k, n] of Object.entries(last)) seen[k] = Math.max(seen[k] ?? 0, n);
    await sleep(1000, bounds.signal);
  } while (performance.now() < deadline && !bounds.signal?.aborted);
  return { attack: `${styles} style uploads at once, painters trained`, answers, observed: { statesAtEnd: last, mostSeenPerState: seen } };
}

// ---- 12: a directory at a painter's path -----------------------------------------------------------

/**
 * 12. On a server with `--painter learned` and a live stream painting: waits (up to `waitMs`)
 * until the stream keeps a painter file under `<data dir>/painters`, puts a directory at its
 * path, and counts over `watchMs` the server's log lines naming it and the stream's frames.
 */
export async function painterPathIsDirectory({
  dataDir,
  logLines,
  framesBack,
  waitMs = 90_000,
  watchMs = 10_000,
  ...bounds
}: Bounds & { dataDir: string; logLines: () => readonly string[]; framesBack: () => number; waitMs?: number; watchMs?: number }): Promise<AttackResult> {
  const answers = {};
  const dir = path.join(dataDir, 'painters');
  const started = performance.now();
  let kept: string | undefined;
  while (!kept && performance.now() < started + waitMs && !bounds.signal?.aborted) {
    kept = (await readdir(dir).catch(() => [] as string[])).find((n) => n.endsWith('.slpaint'));
    if (!kept) await sleep(250, bounds.signal);
  }
  if (!kept) return { attack: "a directory at a kept painter's path", answers: { [`no painter kept in ${waitMs / 1000} s`]: 1 }, observed: {} };
  const keptAfterS = seconds(performance.now() - started);
  const file = path.join(dir, kept);
  await rm(file, { force: true });
  await mkdir(file);
  count(answers, 'directory made at a kept painter’s path');
  const fromLine = logLines().length;
  const fromFrames = framesBack();
  await sleep(watchMs, bounds.signal);
  const lines = logLines().slice(fromLine).filter((l) => l.includes(kept));
  return {
    attack: "a directory at a kept painter's path",
    answers,
    observed: {
      keptAfterS,
      logLinesNamingIt: lines.length,
      overS: watchMs / 1000,
      streamFramesBackMeanwhile: framesBack() - fromFrames,
      firstLine: lines[0]?.slice(0, 200) ?? null,
    },
  };
}
