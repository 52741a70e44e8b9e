/**
 * A live stream's settings: the one schema. The pipeline paints with them; the WebSocket
 * protocol's config message (live/protocol.ts) is derived from this schema, so a field or a
 * limit is written once, and the pipeline never needs the protocol layer. The ranges are
 * config.ts's LIMITS, and the defaults its tables (`liveDefaults`).
 */
import { z } from 'zod';
import { DEFAULTS, LIMITS, LIVE_PAINTER_MODES, MOTION_MODES, OPTIMIZER_NAMES, type ServerOptions } from '../config.js';

export const liveSettingsSchema = z.object({
  style: z.string().min(1).max(128),
  /** Short side of the stream, in pixels. */
  size: z.number().int().min(LIMITS.minSize).max(LIMITS.maxStreamSize),
  steps: z.number().int().min(0).max(LIMITS.maxFrameSteps),
  /** 0 (the photo) … 1 (all style): α and β follow (config.ts resolveCostWeights). */
  styleStrength: z.number().finite().min(0).max(1),
  /** The optimiser recipe (engine/optimiser-recipe.ts); 'adam-pixels': the seed's. */
  optimizer: z.enum(OPTIMIZER_NAMES),
  preserveColors: z.boolean(),
  /** 0: off. */
  targetFps: z.number().finite().min(0).max(LIMITS.maxTargetFps),
  /** How warm starts follow the video: 'flow', 'residual' (cheap) or 'none'. */
  motion: z.enum(MOTION_MODES),
  /** Ruder et al.'s temporal loss (0 = off); needs motion 'flow'. */
  temporalWeight: z.number().finite().min(0).max(LIMITS.maxTemporalWeight),
  /**
   * 'keyframes': the style's stroke painter, taught by the optimiser's keyframes, paints once there
   * is one (stroke-live-painter.ts); 'learned': a painter learnt for the style on the stream's own
   * frames takes over once it paints better (live-painter.ts); 'off': the optimiser alone.
   */
  painter: z.enum(LIVE_PAINTER_MODES),
});

export type LiveSettings = z.infer<typeof liveSettingsSchema>;

/** The numeric settings, each with the range a publisher may name. */
export type LiveRanges = Record<'size' | 'steps' | 'styleStrength' | 'targetFps' | 'temporalWeight', { min: number; max: number }>;

/**
 * A stream's settings before its publisher says otherwise: the server's own options where it
 * has them (--size, --steps, --target-fps, --painter), the engine's defaults for the rest.
 */
export function liveDefaults(options: Pick<ServerOptions, 'liveSize' | 'liveSteps' | 'targetFps' | 'livePainter'>, style: string): LiveSettings {
  return {
    style,
    size: options.liveSize,
    steps: options.liveSteps,
    styleStrength: DEFAULTS.styleStrength,
    optimizer: DEFAULTS.optimizer,
    preserveColors: DEFAULTS.preserveColors,
    targetFps: options.targetFps,
    motion: DEFAULTS.motion,
    temporalWeight: DEFAULTS.temporalWeight,
    painter: options.livePainter,
  };
}

/** Read from the schema itself (so they cannot drift from it), with size and steps capped by this server's budgets. */
export function liveRanges(budgets: { maxSize: number; maxSteps: number }): LiveRanges {
  const shape = liveSettingsSchema.shape;
  const range = (field: z.ZodNumber, cap = Infinity): { min: number; max: number } => ({ min: field.minValue ?? 0, max: Math.min(field.maxValue ?? Infinity, cap) });
  return {
    size: range(shape.size, budgets.maxSize),
    steps: range(shape.steps, budgets.maxSteps),
    styleStrength: range(shape.styleStrength),
    targetFps: range(shape.targetFps),
    temporalWeight: range(shape.temporalWeight),
  };
}
