/**
 * A live stream's stroke painter (issue 22; the `keyframes` painter mode): the U-Net taught to copy
 * the optimiser's keyframe paintings of the style (train-stroke-painter.ts) paints every frame at
 * the full working size in one pass (~45 ms at 256×144 here). It is not trained in the stream: a
 * built-in painting's comes shipped; an uploaded style's is taught by the server's background
 * training, and the stream, painted by the optimiser meanwhile (LEARNING), looks for it every
 * few seconds and switches to it (READY) once it is kept.
 *
 * READY needs a painter trained to PAINTER_TUNING.stroke.minSteps: there it beats the live
 * optimiser on the keyframes by the reference gap (0.64 vs 1.0 after 88 steps; 0.45 after 500 on
 * the mirrored cockatoo, `npm run bench -- live`), so it is used as soon as it is kept.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { RgbImage } from '../../engine/image.js';
import { paintImage } from '../../engine/painter-net/paint-with.js';
import type { PainterNet } from '../../engine/painter-net/painter-net.js';
import { loadPainter, type PainterMeta } from '../../engine/painter-net/painter-store.js';
import { PAINTER_EXTENSION, painterKey, type PainterFor } from '../../engine/painter-net/painter-key.js';
import { PAINTER_TUNING } from '../../painter/painter-tuning.js';
import { LivePainterState, type LivePainter } from './live-painter.js';

/** While LEARNING, how often the stream looks for a stroke painter kept by the background training, ms. */
export const STROKE_LOOK_EVERY_MS = 3000;

export interface StrokeLivePainterOptions {
  /** Where kept painters are looked for, first first (the data directory's, then the shipped one). */
  dirs: readonly string[];
  what: PainterFor;
  warn?: (message: string) => void;
  /** How often to look while LEARNING (default STROKE_LOOK_EVERY_MS). */
  lookEveryMs?: number;
}

export async function createStrokeLivePainter(options: StrokeLivePainterOptions): Promise<LivePainter> {
  let painter: PainterNet | undefined;
  let meta: PainterMeta | undefined;
  let lookedAt = Number.NEGATIVE_INFINITY;
  let disposed = false;

  const name = `${painterKey(options.what)}${PAINTER_EXTENSION}`;
  /**
   * Files already opened and passed over (damaged, or not trained far enough), by their mtime:
   * not opened again every look until a new save replaces them (warned once per version).
   */
  const passedOver = new Map<string, number>();

  /** Opens the first kept painter trained far enough, if any (read only: nothing is written). */
  async function look(): Promise<void> {
    lookedAt = performance.now();
    for (const dir of options.dirs) {
      const file = path.join(dir, name);
      const info = await stat(file).catch(() => undefined);
      if (!info?.isFile() || passedOver.get(file) === info.mtimeMs) continue;
      try {
        const opened = await loadPainter(file);
        if (disposed || opened.meta.steps < PAINTER_TUNING.stroke.minSteps) {
          opened.painter.dispose();
          passedOver.set(file, info.mtimeMs);
          continue;
        }
        painter = opened.painter;
        meta = opened.meta;
        return;
      } catch (error) {
        passedOver.set(file, info.mtimeMs);
        options.warn?.((error as Error).message);
      }
    }
  }
  await look();

  const state = (): LivePainterState => (painter ? LivePainterState.READY : LivePainterState.LEARNING);
  return {
    get state() {
      return state();
    },
    async offer() {},
    async train() {
      if (!painter && !disposed && performance.now() - lookedAt >= (options.lookEveryMs ?? STROKE_LOOK_EVERY_MS)) await look();
      return 0;
    },
    async picture(photo: RgbImage) {
      if (!painter) throw new RangeError('the stroke painter is not ready');
      return paintImage(painter, photo);
    },
    stats() {
      return { state: state(), steps: meta?.steps ?? 0, framesSeen: meta?.framesSeen ?? 0, loss: undefined, shownLoss: undefined };
    },
    async save() {},
    dispose() {
      if (disposed) return;
      disposed = true;
      painter?.dispose();
      painter = undefined;
    },
  };
}
