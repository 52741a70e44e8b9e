/** Frames as they move through a live stream. */
import type { FrameHeader } from '../realtime/protocol.js';

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
}
