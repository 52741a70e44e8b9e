/** Frames as they move through a live stream, and the binary form they travel in. */
import { ErrorCode, StylizeError } from '../errors.js';
import type { LivePainterStats } from './stream-process/live-painter.js';

/** A publisher's frame that is not painted as it is (its shape, say); the stream goes on. */
export class BadFrameError extends StylizeError {
  constructor(message: string) {
    super(ErrorCode.BAD_FRAME, message);
  }
}

/** Binary frame: uint32 BE seq | uint32 BE timestampMs (sender's clock mod 2³²) | JPEG bytes. */
export const FRAME_HEADER_BYTES = 8;

export interface FrameHeader {
  seq: number;
  timestampMs: number;
}

/** A frame ready to send: encoded once, the same buffer for every client. */
export function encodeFrame(header: FrameHeader, jpeg: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + jpeg.length);
  out.writeUInt32BE(header.seq >>> 0, 0);
  out.writeUInt32BE(header.timestampMs >>> 0, 4);
  out.set(jpeg, FRAME_HEADER_BYTES);
  return out;
}

/** A publisher's frame as received: still JPEG. */
export interface IncomingFrame extends FrameHeader {
  jpeg: Uint8Array;
  /** performance.now() when it arrived. */
  receivedAt: number;
}

/** A stylized frame, encoded once for everyone, with what it took. */
export interface StylizedFrame extends FrameHeader {
  /** Header + JPEG, ready to send as one binary WebSocket message. */
  message: Buffer;
  width: number;
  height: number;
  steps: number;
  /** Size the optimiser ran at (smaller than width×height in deadline mode). */
  workWidth: number;
  workHeight: number;
  warmStarted: boolean;
  /** Decode + stylize + encode. */
  processMs: number;
  stylizeMs: number;
  /** How long the frame waited before its processing started. */
  queueAgeMs: number;
  /** The stream's learned painter (live-painter.ts), when it has one. */
  painter?: LivePainterStats;
}
