/**
 * A live stream's settings: the one schema. The pipeline paints with them; the WebSocket
 * protocol's config message (live/protocol.ts) is derived from this schema, so a field or a
 * limit is written once, and the pipeline never needs the protocol layer.
 */
import { z } from 'zod';
import { MOTION_MODES, PAINTER_MODES } from '../config.js';

export const liveSettingsSchema = z.object({
  style: z.string().min(1).max(128),
  /** Short side of the stream, in pixels. */
  size: z.number().int().min(32).max(1024),
  steps: z.number().int().min(0).max(50),
  contentWeight: z.number().finite().min(0).max(1e6),
  styleWeight: z.number().finite().min(0).max(1e6),
  preserveColors: z.boolean(),
  /** 0: off. */
  targetFps: z.number().finite().min(0).max(60),
  /** How warm starts follow the video: 'flow', 'residual' (cheap) or 'none'. */
  motion: z.enum(MOTION_MODES),
  /** Ruder et al.'s temporal loss (0 = off); needs motion 'flow'. */
  temporalWeight: z.number().finite().min(0).max(1e9),
  /** 'learned': a painter learnt for the style on the stream's own frames takes over once it paints better (live-painter.ts). */
  painter: z.enum(PAINTER_MODES),
});

export type LiveSettings = z.infer<typeof liveSettingsSchema>;
