/**
 * What paints a live stream's frames, injected into the socket server: the painter pool (a
 * stream process per stream, painting in turns) or `passthrough` (frames returned as they came,
 * for fan-out load tests). A stream asks for its turn first, then hands over the newest frame.
 */
import { encodeFrame, type IncomingFrame, type StylizedFrame } from './frame.js';
import type { LiveSettings } from './live-settings.js';
import type { Turn } from './paint-turns.js';

export interface StreamProcessor {
  /** Waits until this stream may paint (its turn at the CPU). */
  turn(): Promise<Turn>;
  process(frame: IncomingFrame, settings: LiveSettings, turn: Turn): Promise<StylizedFrame>;
  /** Frees what the stream holds (its stream process). Safe twice. */
  close(): void;
}

export interface FrameProcessor {
  /** What paints, for /healthz and `ready`. */
  readonly backend: string;
  readonly model: string;
  /** Whether another stream may start now (the cap on live streams). */
  canOpen(): boolean;
  /** Throws BusyError at the cap. */
  open(stream: string): StreamProcessor;
  close(): Promise<void>;
}

const FREE_TURN: Turn = { budgetMs: Number.POSITIVE_INFINITY, release: () => undefined };

/** Frames as they came, with the stream's header: what the fan-out bench measures. */
export function createPassthroughProcessor(): FrameProcessor {
  return {
    backend: 'none',
    model: 'passthrough',
    canOpen: () => true,
    open: () => ({
      turn: async () => FREE_TURN,
      async process(frame) {
        return {
          seq: frame.seq,
          timestampMs: frame.timestampMs,
          message: encodeFrame(frame, frame.jpeg),
          width: 0,
          height: 0,
          steps: 0,
          workWidth: 0,
          workHeight: 0,
          warmStarted: false,
          processMs: performance.now() - frame.receivedAt,
          stylizeMs: 0,
          queueAgeMs: 0,
        };
      },
      close: () => undefined,
    }),
    close: async () => undefined,
  };
}
