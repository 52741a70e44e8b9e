/**
 * Round 3's attacks (issue 20) on the farm side, numbered "20.<item>" as in the issue: each wired to
 * its driver in test/helpers/attacks/ and replayed by `npm run bench -- abuse --only 20.<item>`.
 * The target server of the bench is a plain `stylize serve`: these drivers start a farm of their
 * own (a redis-server and a gateway) beside it, and stop it before they return.
 */
import { farmBlobNames, redisAwayAndFull, silentWorker } from '../test/helpers/attacks/r3-farm.js';
import type { AttackSpec } from './abuse-attacks.js';

export const R3_FARM_ATTACKS: AttackSpec[] = [
  {
    id: '20.9',
    title: 'farm: Redis full (maxmemory 1, noeviction), then killed; a worker with a dead REDIS_URL',
    run: async (ctx) => redisAwayAndFull({ video: await ctx.media.smallVideo(), durationMs: ctx.durationMs, signal: ctx.signal, answerTimeoutMs: ctx.answerTimeoutMs }),
  },
  {
    id: '20.10',
    title: 'farm of two workers, one killed -9 mid-job: what the survivor logs about the chunks',
    run: async (ctx) => silentWorker({ video: await ctx.media.tenSecondVideo(), durationMs: ctx.durationMs, signal: ctx.signal, answerTimeoutMs: ctx.answerTimeoutMs }),
  },
  {
    id: '20.13',
    title: 'farm: secret holder PUTs chunks/evil.sh and a segment of a job that does not exist; STYLIZE_FARM_SECRET',
    run: async (ctx) => farmBlobNames({ video: await ctx.media.smallVideo(), durationMs: ctx.durationMs, signal: ctx.signal, answerTimeoutMs: ctx.answerTimeoutMs }),
  },
];
