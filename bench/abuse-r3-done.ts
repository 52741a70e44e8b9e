/**
 * Round 3's attacks (issue 20) on the done side, numbered "20.<item>" as in the issue: each wired to
 * its driver in test/helpers/attacks/ and replayed by `npm run bench -- abuse --only 20.<item>`.
 * Their files are made on first use in the run's temp dir (beside the attack's data dir).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { sceneJpeg, startHealthyPublisher } from '../test/helpers/attacks.js';
import {
  chunkDecodeCost,
  eventStreamFlood,
  makeLong1080p,
  makeSliverVideo,
  makeTwoStreamMkv,
  makeVfrVideo,
  painterPathIsDirectory,
  painterTrainingFlood,
  secondStreamJob,
  sliverVideoJob,
  styleUploadFlood,
  vfrJob,
} from '../test/helpers/attacks/r3-done.js';
import type { AttackContext, AttackSpec } from './abuse-attacks.js';
import { startAbuseServer } from './abuse-server.js';

/** The run's temp dir (the parent of every attack's data dir). */
const runDir = (ctx: AttackContext): string => path.dirname(ctx.dataDir);

const made = new Map<string, Promise<string>>();
function media(ctx: AttackContext, name: string, make: (file: string) => Promise<string>): Promise<string> {
  const file = path.join(runDir(ctx), 'r3-done', name);
  let p = made.get(file);
  if (!p) {
    p = mkdir(path.dirname(file), { recursive: true }).then(() => make(file));
    made.set(file, p);
  }
  return p;
}

const bounds = (ctx: AttackContext): { durationMs: number; signal: AbortSignal; answerTimeoutMs: number } => ({
  durationMs: ctx.durationMs,
  signal: ctx.signal,
  answerTimeoutMs: ctx.answerTimeoutMs,
});

async function workDir(ctx: AttackContext): Promise<string> {
  const dir = path.join(runDir(ctx), 'r3-done', 'out');
  await mkdir(dir, { recursive: true });
  return dir;
}

/**
 * 20.12 needs the server's every log line, which the bench's context does not carry: it runs
 * its own `stylize serve --painter learned` beside the bench's, with a live stream on it.
 */
async function painterDirectoryAttack(ctx: AttackContext): ReturnType<AttackSpec['run']> {
  const dataDir = path.join(runDir(ctx), 'data-20.12-own');
  const server = await startAbuseServer(dataDir, { extraArgs: ['--painter', 'learned'] });
  const lines: string[] = [];
  let partial = '';
  const take = (chunk: Buffer): void => {
    const parts = `${partial}${chunk.toString('utf8')}`.split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  };
  server.child.stdout!.on('data', take);
  server.child.stderr!.on('data', take);
  const stream = await startHealthyPublisher({ baseUrl: server.baseUrl }, { jpeg: await sceneJpeg(256, 144) });
  try {
    return await painterPathIsDirectory({
      dataDir,
      logLines: () => lines,
      framesBack: () => stream.samples.filter((s) => s.ms !== undefined).length,
      ...bounds(ctx),
    });
  } finally {
    stream.stop();
    await server.stop();
  }
}

export const R3_DONE_ATTACKS: AttackSpec[] = [
  {
    id: '20.1',
    title: 'a 10 000×16 video job, then another client’s small job',
    run: async (ctx) => sliverVideoJob(ctx.target, { video: await media(ctx, 'sliver.mp4', makeSliverVideo), healthyVideo: await ctx.media.smallVideo(), ...bounds(ctx) }),
  },
  {
    id: '20.3',
    title: '150 distinct 3 MB PNG style uploads from one client',
    run: (ctx) => styleUploadFlood(ctx.target, { dataDir: ctx.dataDir, ...bounds(ctx) }),
  },
  {
    id: '20.5',
    title: 'an MKV: 32×32 stream 0 beside a 7680×4320 stream 1',
    run: async (ctx) => secondStreamJob(ctx.target, { video: await media(ctx, 'two-streams.mkv', makeTwoStreamMkv), workDir: await workDir(ctx), ...bounds(ctx) }),
  },
  {
    id: '20.6',
    title: 'decode seconds of early / middle / late 64-frame chunks of a 960-frame 1080p clip',
    run: async (ctx) => chunkDecodeCost({ video: await media(ctx, 'long-1080p.mp4', (f) => makeLong1080p(f)), ...bounds(ctx) }),
  },
  {
    id: '20.7',
    title: '3000 job event streams (SSE) from one client',
    run: async (ctx) => eventStreamFlood(ctx.target, { video: await ctx.media.tenSecondVideo(), serverPid: ctx.serverPid, ...bounds(ctx) }),
  },
  {
    id: '20.8',
    title: 'a VFR MP4 with audio (48 frames over 5 s)',
    run: async (ctx) => vfrJob(ctx.target, { video: await media(ctx, 'vfr.mp4', makeVfrVideo), workDir: await workDir(ctx), ...bounds(ctx) }),
  },
  {
    id: '20.12',
    title: "--painter learned: a directory at a kept painter's path",
    run: painterDirectoryAttack,
  },
  {
    id: '20.14',
    title: '30 style uploads at once, --upload-painter-steps 150',
    serverArgs: ['--upload-painter-steps', '150'],
    run: (ctx) => painterTrainingFlood(ctx.target, bounds(ctx)),
  },
];
