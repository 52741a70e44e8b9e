/** Messages between the server and a live painter process (child_process IPC, advanced serialization). */
import type { BackendName, ModelChoice } from '../../config.js';
import type { LiveSettings } from '../frame-stylizer.js';

export interface PainterInit {
  type: 'init';
  model: ModelChoice;
  weights: string | undefined;
  modelsDir: string;
  seed: number;
  backend: BackendName | undefined;
  threads: number | undefined;
  stylesDir: string;
  uploadsDir: string;
  maxImagePixels: number;
  /** The floor of the working size in deadline mode (short side, px). */
  minWorkingSize: number;
}

export interface PaintRequest {
  type: 'paint';
  /** Request number: the answer carries it back. */
  id: number;
  seq: number;
  timestampMs: number;
  jpeg: Uint8Array;
  settings: LiveSettings;
  /** How long this frame may take (the stream's share of the painter), ms. */
  budgetMs: number;
}

export type ToPainter = PainterInit | PaintRequest;

export interface PainterInfo {
  backend: string;
  threads: number | undefined;
  model: string;
  description: string;
}

/** What a painted frame reports; the frame itself travels as header + JPEG in `message`. */
export interface PaintedReport {
  seq: number;
  timestampMs: number;
  message: Uint8Array;
  width: number;
  height: number;
  steps: number;
  workWidth: number;
  workHeight: number;
  warmStarted: boolean;
  /** Decode + stylize + encode inside the painter. */
  processMs: number;
  stylizeMs: number;
  /** Predicted ms for the stream's full plan (its asked steps at full size); undefined until learnt. */
  fullPlanMs: number | undefined;
  /** The painter's resident memory after the frame, bytes. */
  rss: number;
}

export type FromPainter =
  | ({ type: 'ready' } & PainterInfo)
  | { type: 'painted'; id: number; frame: PaintedReport }
  | { type: 'failed'; id: number; code: string; message: string }
  /** Init failed: the process exits after this. */
  | { type: 'fatal'; code: string; message: string };
