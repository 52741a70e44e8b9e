/** Messages between the server and a live stream process (child_process IPC, advanced serialization). */
import type { EngineOptions } from '../../engine/load-engine.js';
import type { CostHint, LiveSettings } from './frame-stylizer.js';
import type { StylizedFrame } from '../frame.js';

export interface StreamProcessInit extends EngineOptions {
  type: 'init';
  stylesDir: string;
  uploadsDir: string;
  maxImagePixels: number;
  /** The most pixels a frame is painted at. */
  maxWorkPixels: number;
  /** The floor of the working size in deadline mode (short side, px). */
  minWorkingSize: number;
  /** Where learned painters are kept (live-painter.ts); without it a stream's painter is not kept. */
  paintersDir?: string;
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
  /** Costs measured on other streams, for a painter that has measured nothing yet. */
  costHint: CostHint | undefined;
}

export type ToStreamProcess = StreamProcessInit | PaintRequest;

export interface StreamProcessInfo {
  backend: string;
  threads: number | undefined;
  model: string;
  description: string;
}

/**
 * What a painted frame reports: the frame itself travels as header + JPEG in `message` (a
 * Uint8Array after IPC); its wait is measured on the server's side.
 */
export interface PaintedReport extends Omit<StylizedFrame, 'message' | 'queueAgeMs'> {
  message: Uint8Array;
  /** Predicted ms for the stream's full plan (its asked steps at full size); undefined until learnt. */
  fullPlanMs: number | undefined;
  /** This painter's cost model after the frame. */
  cost: CostHint | undefined;
  /** The painter's resident memory after the frame, bytes. */
  rss: number;
}

export type FromStreamProcess =
  | ({ type: 'ready' } & StreamProcessInfo)
  | { type: 'painted'; id: number; frame: PaintedReport }
  | { type: 'failed'; id: number; code: string; message: string }
  /** Init failed: the process exits after this. */
  | { type: 'fatal'; code: string; message: string };
