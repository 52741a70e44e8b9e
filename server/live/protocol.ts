/**
 * The live WebSocket protocol (docs/protocol.md). Parsing never throws on client input: every
 * function returns either a value or a ProtocolError describing what was wrong.
 *
 * Binary frame: uint32 BE seq | uint32 BE timestampMs (sender's clock mod 2³²) | JPEG bytes.
 * Text: JSON objects with a "type".
 */
import { z } from 'zod';
import { describeIssues } from '../config.js';
import { FRAME_HEADER_BYTES, type FrameHeader } from './frame.js';
import { liveSettingsSchema, type LiveSettings } from './live-settings.js';

export { FRAME_HEADER_BYTES, encodeFrame, type FrameHeader } from './frame.js';

const JPEG_SOI = [0xff, 0xd8];

export interface EncodedFrame extends FrameHeader {
  jpeg: Uint8Array;
}

/** A client mistake, with the stable code the server reports in {"type":"error"}. */
export interface ProtocolError {
  code: 'BAD_FRAME' | 'BAD_MESSAGE' | 'UNKNOWN_TYPE';
  message: string;
}

export function decodeFrame(data: Uint8Array): EncodedFrame | ProtocolError {
  if (data.length < FRAME_HEADER_BYTES) {
    return { code: 'BAD_FRAME', message: `binary message of ${data.length} bytes is shorter than the 8-byte frame header` };
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const jpeg = data.subarray(FRAME_HEADER_BYTES);
  if (jpeg.length < 4 || jpeg[0] !== JPEG_SOI[0] || jpeg[1] !== JPEG_SOI[1]) {
    return { code: 'BAD_FRAME', message: 'frame payload is not a JPEG (no FF D8 start marker)' };
  }
  return { seq: view.getUint32(0), timestampMs: view.getUint32(4), jpeg };
}

export function isProtocolError(value: unknown): value is ProtocolError {
  return typeof value === 'object' && value !== null && 'code' in value && 'message' in value && !('type' in value);
}

/**
 * Publisher → server: any subset of the live settings (live/live-settings.ts), applied from
 * the next frame on; `targetFps: null` turns the deadline off.
 */
export const configMessageSchema = liveSettingsSchema
  .extend({ targetFps: liveSettingsSchema.shape.targetFps.nullable() })
  .partial()
  .extend({ type: z.literal('config') })
  .strict();
export type ConfigMessage = z.infer<typeof configMessageSchema>;

export type ClientMessage = ConfigMessage;

export function parseClientMessage(text: string): ClientMessage | ProtocolError {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { code: 'BAD_MESSAGE', message: 'text message is not valid JSON' };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { code: 'BAD_MESSAGE', message: 'text message must be a JSON object with a "type"' };
  }
  const type = (json as { type?: unknown }).type;
  if (type !== 'config') {
    // Name the type only if it is short: replies never echo much of what a client sent.
    const named = typeof type === 'string' && type.length <= 32 ? ` ${JSON.stringify(type)}` : '';
    return { code: 'UNKNOWN_TYPE', message: `unknown message type${named}; expected "config"` };
  }
  const parsed = configMessageSchema.safeParse(json);
  if (!parsed.success) {
    return {
      code: 'BAD_MESSAGE',
      message: describeIssues(parsed.error, 'message'),
    };
  }
  return parsed.data;
}

/** Server → clients, about once a second. */
export interface StatsMessage {
  type: 'stats';
  /** Frames per second over the last few seconds (stream-stats.ts): non-zero while frames come, however slowly. */
  inputFps: number;
  outputFps: number;
  framesIn: number;
  framesOut: number;
  /** Frames replaced by a newer one before their turn (latest frame wins) or over the publish cap: by design, not errors. */
  framesDropped: number;
  stepsPerFrame: number;
  /** Working size the stylizer runs at (deadline mode may lower it). */
  width: number;
  height: number;
  stylizeMs: number;
  /** Age of a frame when its stylizing starts (time spent waiting), ms. */
  queueAgeMs: number;
  /** A frame's arrival at the server → its painted frame ready to send (moving average), ms. */
  latencyMs: number;
  targetFps: number | null;
  viewers: number;
  model: string;
  style: string | null;
  /** Frames this client was skipped for because its connection was still busy. */
  skipped?: number;
  /** The stream's learned painter (settings.painter 'learned'): learning or painting, training steps, frames seen; null without one. */
  painter?: { state: 'learning' | 'ready'; steps: number; framesSeen: number; loss: number | null; shownLoss: number | null; blend?: 'flow' | 'residual' } | null;
}

export interface ErrorMessage {
  type: 'error';
  code: string;
  message: string;
}

export type PublicConfig = Required<Omit<ConfigMessage, 'type' | 'style' | 'targetFps'>> & { style: string | null; targetFps: number | null };

export interface ReadyMessage {
  type: 'ready';
  role: 'publish' | 'view';
  room: string;
  model: string;
  backend: string;
  config: PublicConfig;
  /** The server's limits on what a publisher may ask for. */
  limits: { maxSize: number; maxSteps: number };
}

/** The answer to every config message: the settings now in force, and what was clamped. */
export interface SettingsMessage {
  type: 'settings';
  config: PublicConfig;
  /** Fields asked for beyond the server's limits: what was asked and what is used. */
  limited: Partial<Record<'size' | 'steps', { asked: number; used: number }>>;
}

export type ServerMessage = StatsMessage | ErrorMessage | ReadyMessage | SettingsMessage;

/** Live settings as clients see them (`ready`, GET /api/config, stats): no target rate is null, not 0. */
export function publicTargetFps(targetFps: number): number | null {
  return targetFps > 0 ? targetFps : null;
}

export function publicConfig(settings: LiveSettings): Omit<LiveSettings, 'targetFps'> & { targetFps: number | null } {
  return { ...settings, targetFps: publicTargetFps(settings.targetFps) };
}
