/**
 * The abuse bench's catalogue: issue 10's attacks, numbered as in the issue, each wired to its
 * driver in test/helpers/attacks with the files it needs (made once per run, on first use).
 */
import path from 'node:path';
import {
  type AttackResult,
  type Bounds,
  type Target,
  bigLiveFrame,
  dnsRebinding,
  ffmpegFailingJob,
  fullDiskUploads,
  hugeTextMessage,
  killWorkerMidJob,
  lyingDurationJobs,
  makeFfmpegFailingVideo,
  makeLyingDurationMkv,
  makeSmallVideo,
  malformedMultipart,
  muteViewerFlood,
  perAddressCap,
  pixelBombJob,
  pixelBombLive,
  roomFlood,
  svgStyleFlood,
} from '../test/helpers/attacks.js';

export interface AttackContext {
  target: Target;
  serverPid: number;
  dataDir: string;
  /** The small file system's mount point (attacks with needsSmallFs). */
  fsDir?: string;
  durationMs: number;
  /** How long a request the attack needs answered may wait (answerWithin). */
  answerTimeoutMs: number;
  signal: AbortSignal;
  media: Media;
}

export interface AttackSpec {
  id: string;
  title: string;
  /** The data dir lives on a small file system that the attack fills. */
  needsSmallFs?: boolean;
  /** Flags for `stylize serve` in this attack (an operator's setting it is meant to show). */
  serverArgs?: string[];
  run(ctx: AttackContext): Promise<AttackResult>;
}

/** Files made on first use in the run's temp dir. */
export interface Media {
  smallVideo(): Promise<string>;
  tenSecondVideo(): Promise<string>;
  lyingMkv(): Promise<string>;
  failingVideo(): Promise<string>;
}

export function createMedia(dir: string, { mkvFrames }: { mkvFrames: number }): Media {
  const once = <T>(make: () => Promise<T>): (() => Promise<T>) => {
    let made: Promise<T> | undefined;
    return () => (made ??= make());
  };
  return {
    smallVideo: once(() => makeSmallVideo(path.join(dir, 'small.mp4'))),
    // 20 frames a chunk (2 s at 10 fps): ten chunks, so a worker is surely busy when killed.
    tenSecondVideo: once(() => makeSmallVideo(path.join(dir, 'ten-seconds.mp4'), { seconds: 10 })),
    lyingMkv: once(() => makeLyingDurationMkv(path.join(dir, 'says-10-s.mkv'), { frames: mkvFrames })),
    failingVideo: once(() => makeFfmpegFailingVideo(path.join(dir, 'undecodable.avi'))),
  };
}

const bounds = (ctx: AttackContext): Bounds => ({ durationMs: ctx.durationMs, signal: ctx.signal, answerTimeoutMs: ctx.answerTimeoutMs });

export const ATTACKS: AttackSpec[] = [
  { id: '1a', title: 'live config size 1024, steps 2 + one 1820×1024 JPEG', run: (ctx) => bigLiveFrame(ctx.target, { size: 1024, ...bounds(ctx) }) },
  { id: '1b', title: 'live config size 360, steps 2 + one 1820×1024 JPEG', run: (ctx) => bigLiveFrame(ctx.target, { size: 360, ...bounds(ctx) }) },
  { id: '2', title: '10 000 POST /api/rooms (JSON and text/plain)', run: (ctx) => roomFlood(ctx.target, bounds(ctx)) },
  { id: '3', title: 'four 310 KB filter-bomb SVG style uploads', run: (ctx) => svgStyleFlood(ctx.target, bounds(ctx)) },
  { id: '4a', title: '501-byte JPEG claiming 16383², live, 6 publishers', run: (ctx) => pixelBombLive(ctx.target, bounds(ctx)) },
  { id: '4b', title: '501-byte JPEG claiming 16383² as a job styleImage', run: async (ctx) => pixelBombJob(ctx.target, { video: await ctx.media.smallVideo(), ...bounds(ctx) }) },
  { id: '5', title: 'viewer sends 2 M one-byte messages, never reads', run: (ctx) => muteViewerFlood(ctx.target, bounds(ctx)) },
  {
    id: '6',
    title: '3 jobs of an MKV whose Duration says 10 s',
    run: async (ctx) => lyingDurationJobs(ctx.target, { video: await ctx.media.lyingMkv(), healthyVideo: await ctx.media.smallVideo(), ...bounds(ctx) }),
  },
  {
    id: '7',
    title: 'uploads on a full disk, then a restart',
    needsSmallFs: true,
    run: async (ctx) => fullDiskUploads(ctx.target, { fsDir: ctx.fsDir!, dataDir: ctx.dataDir, video: await ctx.media.smallVideo(), ...bounds(ctx) }),
  },
  { id: '8', title: '40 WebSocket clients behind one address', run: (ctx) => perAddressCap(ctx.target, bounds(ctx)) },
  {
    id: '8b',
    title: '40 WebSocket clients behind one proxy, --trust-proxy loopback',
    serverArgs: ['--trust-proxy', 'loopback'],
    run: (ctx) => perAddressCap(ctx.target, bounds(ctx)),
  },
  {
    id: '9a',
    title: 'SIGKILL a chunk worker mid-job',
    run: async (ctx) => killWorkerMidJob(ctx.target, { video: await ctx.media.tenSecondVideo(), serverPid: ctx.serverPid, ...bounds(ctx) }),
  },
  { id: '9b', title: 'malformed multipart to /api/jobs and /api/styles', run: (ctx) => malformedMultipart(ctx.target, bounds(ctx)) },
  { id: '9c', title: '900 KB WebSocket text messages', run: (ctx) => hugeTextMessage(ctx.target, bounds(ctx)) },
  { id: '9d', title: 'a job whose ffmpeg fails', run: async (ctx) => ffmpegFailingJob(ctx.target, { video: await ctx.media.failingVideo(), ...bounds(ctx) }) },
  { id: '9e', title: 'DNS rebinding (Host and Origin evil.example)', run: (ctx) => dnsRebinding(ctx.target, bounds(ctx)) },
  {
    id: '9f',
    title: 'DNS rebinding, --allowed-hosts 127.0.0.1,localhost',
    serverArgs: ['--allowed-hosts', '127.0.0.1,localhost'],
    run: (ctx) => dnsRebinding(ctx.target, bounds(ctx)),
  },
];

/** Round 3 (issue 20), each area in its own file; joined here so that --only and the report see one catalogue. */
export async function withRound3(): Promise<AttackSpec[]> {
  const [jobs, farm, live, done] = await Promise.all([import('./abuse-r3-jobs.js'), import('./abuse-r3-farm.js'), import('./abuse-r3-live.js'), import('./abuse-r3-done.js')]);
  return [...ATTACKS, ...jobs.R3_JOBS_ATTACKS, ...farm.R3_FARM_ATTACKS, ...live.R3_LIVE_ATTACKS, ...done.R3_DONE_ATTACKS];
}

/** `--only 1,9c`: "1" picks 1a and 1b; "9c" only 9c. */
export async function selectAttacks(only: string | undefined): Promise<AttackSpec[]> {
  const all = await withRound3();
  if (!only) return all;
  const wanted = only.split(',').map((s) => s.trim()).filter(Boolean);
  const picked = all.filter((a) => wanted.some((w) => a.id === w || a.id.replace(/[a-z]$/, '') === w));
  if (picked.length === 0) throw new Error(`--only ${only}: no such attack (ids: ${all.map((a) => a.id).join(', ')})`);
  return picked;
}
