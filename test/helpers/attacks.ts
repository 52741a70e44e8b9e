/**
 * Reusable, deterministic attacks on a running `stylize serve` (issue 10), for the abuse bench
 * and for tests: loopback only, each bounded in count and time, each returning what the
 * attacker observed. See the files under attacks/ for how each one is made.
 */
export * from './attacks/http.js';
export * from './attacks/media.js';
export * from './attacks/live-attacks.js';
export * from './attacks/upload-attacks.js';
export * from './attacks/disk.js';
export * from './attacks/process-tree.js';
export * from './attacks/healthy-client.js';
export * from './attacks/r3-done.js';
export { jobDeleteByStranger, queueHogging } from './attacks/r3-jobs.js';
export * from './attacks/r3-farm.js';
export * from './attacks/r3-live.js';
