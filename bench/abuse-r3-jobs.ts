/**
 * Round 3's attacks (issue 20) on the jobs side, numbered "20.<item>" as in the issue: each wired to
 * its driver in test/helpers/attacks/ and replayed by `npm run bench -- abuse --only 20.<item>`.
 */
import { jobDeleteByStranger, queueHogging } from '../test/helpers/attacks/r3-jobs.js';
import type { AttackSpec } from './abuse-attacks.js';

export const R3_JOBS_ATTACKS: AttackSpec[] = [
  {
    id: '20.4',
    title: 'client A submits two 10 s jobs, then client B a small one (B should not wait for A\'s jobs)',
    run: async (ctx) =>
      queueHogging(ctx.target, { video: await ctx.media.tenSecondVideo(), shortVideo: await ctx.media.smallVideo(), durationMs: ctx.durationMs, signal: ctx.signal, answerTimeoutMs: ctx.answerTimeoutMs }),
  },
  {
    id: '20.11',
    title: 'cancel and delete another client\'s job by its id alone (owner token needed: 403 FORBIDDEN)',
    run: async (ctx) => jobDeleteByStranger(ctx.target, { video: await ctx.media.smallVideo(), durationMs: ctx.durationMs, signal: ctx.signal, answerTimeoutMs: ctx.answerTimeoutMs }),
  },
];
