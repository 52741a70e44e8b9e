/**
 * A live stream's learned painter while its settings ask for one (settings.painter 'learned'):
 * made for the style, weights and working size, replaced when they change, kept (if it earned
 * it) and freed when dropped. Between frames it takes the last frame to learn from, and trains.
 */
import type { RgbImage } from '../../engine/image.js';
import { LIVE_PAINTER, LivePainterState, type LivePainter } from './live-painter.js';

export interface StreamPainter {
  readonly current: LivePainter | undefined;
  /** The painter for `key` (undefined: none wanted); a new key drops the old painter first, then `make`s one. */
  use(key: string | undefined, make: () => Promise<LivePainter>): Promise<void>;
  /** The last frame for the painter to learn from (its photo and what the stream showed), handed over in idle(). */
  offerLater(photo: RgbImage, shown: RgbImage): void;
  /**
   * Between frames (FrameStylizer.idle): `last` is the last frame's time and budget. While it
   * learns, trains for up to LIVE_PAINTER.learningShare of that frame's time; once it paints,
   * only in what the budget left, in small steps, stopping as soon as `shouldStop()`.
   */
  idle(last: { processMs: number; budgetMs: number } | undefined, shouldStop: () => boolean): Promise<number>;
  /** Keeps the painter (if it earned it) and frees it; safe twice. */
  drop(): Promise<void>;
}

export function createStreamPainter(): StreamPainter {
  let painter: LivePainter | undefined;
  let painterKey: string | undefined;
  let toOffer: { photo: RgbImage; shown: RgbImage } | undefined;

  async function drop(): Promise<void> {
    const p = painter;
    painter = undefined;
    painterKey = undefined;
    toOffer = undefined;
    if (!p) return;
    try {
      await p.save();
    } catch (error) {
      // Keeping it is a bonus (it is learnt again next time); a full disk must not fail the frame.
      process.stderr.write(`warning: the learned painter could not be kept: ${(error as Error).message}\n`);
    } finally {
      p.dispose();
    }
  }

  return {
    get current() {
      return painter;
    },
    async use(key, make) {
      if (key === painterKey) return;
      await drop();
      if (!key) return;
      painter = await make();
      painterKey = key;
    },
    offerLater(photo, shown) {
      toOffer = { photo, shown };
    },
    async idle(last, shouldStop) {
      if (!painter || !last) return 0;
      const p = painter;
      if (toOffer) await p.offer(toOffer.photo, toOffer.shown);
      toOffer = undefined;
      const learning = p.state === LivePainterState.LEARNING;
      const ms = learning || !Number.isFinite(last.budgetMs) ? LIVE_PAINTER.learningShare * last.processMs : last.budgetMs - last.processMs;
      // Painting: only small steps that fit what this frame left, never saved up (a frame must not wait).
      const taken = learning ? await p.train(ms) : await p.train(ms, shouldStop, { small: true });
      // Kept when it has just proved itself, then every saveEvery steps.
      if ((learning && p.stats().state === LivePainterState.READY) || p.stats().steps % LIVE_PAINTER.saveEvery < taken) await p.save();
      return taken;
    },
    drop,
  };
}
