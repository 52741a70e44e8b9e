/**
 * Round 3's attacks (issue 20) on the live side, numbered "20.<item>" as in the issue: each wired to
 * its driver in test/helpers/attacks/ and replayed by `npm run bench -- abuse --only 20.<item>`.
 */
import { sliverLiveFrames } from '../test/helpers/attacks/r3-live.js';
import type { AttackSpec } from './abuse-attacks.js';

export const R3_LIVE_ATTACKS: AttackSpec[] = [
  {
    id: '20.2',
    title: 'a 10 000×16 JPEG as a live frame once a second, beside a healthy stream in another room',
    run: (ctx) => sliverLiveFrames(ctx.target, { intervalMs: 1000, durationMs: ctx.durationMs, signal: ctx.signal, answerTimeoutMs: ctx.answerTimeoutMs }),
  },
];
