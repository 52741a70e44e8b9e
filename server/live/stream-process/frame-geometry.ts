/**
 * A live frame's sizes, from its header alone (before any pixel is decoded): the stream size it
 * is brought to (its short side the stream's size), the memory cap on the working size, and the
 * size its style is seen at. A frame whose longest side is more than LIMITS.maxAspectRatio times
 * its shortest is refused (BadFrameError, naming the limit): at a short side of 144, a 10 000×16
 * frame would be a 90 000×144 stream, a 4 800 px style and a 20 000×32 working frame, held on
 * the painter until the hard limit (issue 20, item 2).
 *
 * Within that bound everything is bounded by pixels whatever the shape: the stream size by
 * maxAspectRatio × size², the working frame by maxWorkPixels (or, where the network's least side
 * wins, maxAspectRatio × minSide²), and the style as engine/style-side.ts says.
 */
import { sizeForShortSide } from '../../codec/image-codec.js';
import { LIMITS } from '../../config.js';
import { styleSideFor } from '../../engine/style-side.js';
import { BadFrameError } from '../frame.js';

export { STYLE_PIXELS_PER_WORK_PIXEL } from '../../engine/style-side.js';

type Size = { width: number; height: number };

export interface FrameGeometry {
  /** The frame as the publisher sent it (its header). */
  source: Size;
  /** The stream size: the frame brought to the stream's short side. */
  full: Size;
  /** The memory cap on the working size (≤ 1): the working frame is at most full × cap. */
  cap: number;
  /** The largest working frame's pixels (full × cap²). */
  pixels: number;
  /** The long side the style is seen at, px. */
  styleSide: number;
}

/** Refuses a frame whose longest side is more than LIMITS.maxAspectRatio times its shortest. */
export function checkFrameShape(source: Size, label: string): void {
  const long = Math.max(source.width, source.height);
  const short = Math.min(source.width, source.height);
  if (long > LIMITS.maxAspectRatio * short) {
    throw new BadFrameError(`${label} is ${source.width}×${source.height}: its longest side may be at most ${LIMITS.maxAspectRatio} times its shortest`);
  }
}

/**
 * The sizes of a frame of `source` (its header) on a stream of short side `shortSide`, painted at
 * most at `maxWorkPixels` (Infinity: no cap), on a network whose least side is `minSide`.
 */
export function frameGeometry(source: Size, shortSide: number, maxWorkPixels: number, minSide: number, label = 'the frame'): FrameGeometry {
  checkFrameShape(source, label);
  const full = sizeForShortSide(source, shortSide);
  const fullPixels = full.width * full.height;
  const cap = Math.min(1, Math.sqrt(maxWorkPixels / fullPixels));
  const pixels = fullPixels * cap * cap;
  const styleSide = styleSideFor({ width: full.width * cap, height: full.height * cap }, minSide);
  return { source, full, cap, pixels, styleSide };
}
