/**
 * GET /api/config: what the pages need to start where the server does — the live defaults (the
 * same settings `ready` carries), the range of every slider, the choices of every menu and a
 * video job's defaults. All of it is read from config.ts and the live settings' schema, so the
 * page keeps no copy of a default or a limit.
 */
import { LIVE_PAINTER_MODES, MOTION_MODES, schemaDefaults, videoJobOptionsSchema, type LivePainterMode, type MotionMode, type ParsedVideoJobOptions } from '../config.js';
import { liveRanges, type LiveRanges, type LiveSettings } from '../live/live-settings.js';
import { publicConfig, type PublicConfig } from '../live/protocol.js';

export interface PageConfig extends PublicConfig {
  /** What each numeric live setting may be on this server (size and steps within its budgets). */
  ranges: LiveRanges;
  choices: { motion: readonly MotionMode[]; painter: readonly LivePainterMode[] };
  /** The server's limits on what a publisher may ask for (as in `ready`). */
  limits: { maxSize: number; maxSteps: number };
  /** A video job's defaults (POST /api/jobs fills in the same). */
  video: ParsedVideoJobOptions;
  /** Who can reach this server: `loopbackOnly`, this machine alone (the default --host). */
  network: { loopbackOnly: boolean };
}

export function pageConfig(defaults: LiveSettings, limits: { maxSize: number; maxSteps: number }, network: PageConfig['network'] = { loopbackOnly: false }): PageConfig {
  return {
    ...publicConfig(defaults),
    ranges: liveRanges(limits),
    choices: { motion: MOTION_MODES, painter: LIVE_PAINTER_MODES },
    limits,
    video: schemaDefaults(videoJobOptionsSchema) as ParsedVideoJobOptions,
    network,
  };
}
