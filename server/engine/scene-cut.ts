/**
 * Scene-cut detection for the warm start: a tiny luminance thumbnail per frame; when the mean
 * absolute difference to the previous one is large, the previous stylized output is a bad seed
 * and the frame starts from its own content instead.
 */
import type { RgbImage } from './image.js';

export const THUMB_W = 16;
export const THUMB_H = 9;
/** Mean absolute luminance change (0–255) above which a frame counts as a new scene. */
export const DEFAULT_CUT_THRESHOLD = 28;
/**
 * The same for live streams, higher: a stream painted at ~3 fps sees a handheld close-up change
 * by more than 28 between painted frames (8 of 18 cockatoo frames were called cuts and restarted
 * from the photo with one step: style match 46 / 69 % by the outside judge / the loss net). At 60
 * none is, and the flow warm start (which drops what the motion does not explain) carries
 * the painting through the rest: 65 / 74 %, flicker 3.5 → 2.3, structure loss 0.36 → 0.27.
 * `npm run bench -- quality --long --configs live --cut-threshold 60`. Webcams rarely cut.
 */
export const LIVE_CUT_THRESHOLD = 60;

/** Box-averaged luminance on a 16×9 grid. */
export function lumaThumbnail(image: RgbImage): Float32Array {
  const sums = new Float32Array(THUMB_W * THUMB_H);
  const counts = new Uint32Array(THUMB_W * THUMB_H);
  for (let y = 0; y < image.height; y++) {
    const ty = Math.min(THUMB_H - 1, Math.floor((y * THUMB_H) / image.height));
    for (let x = 0; x < image.width; x++) {
      const tx = Math.min(THUMB_W - 1, Math.floor((x * THUMB_W) / image.width));
      const i = (y * image.width + x) * 3;
      const cell = ty * THUMB_W + tx;
      sums[cell]! += 0.299 * image.data[i]! + 0.587 * image.data[i + 1]! + 0.114 * image.data[i + 2]!;
      counts[cell]!++;
    }
  }
  for (let c = 0; c < sums.length; c++) sums[c] = counts[c]! > 0 ? sums[c]! / counts[c]! : 0;
  return sums;
}

export function thumbnailDistance(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

/** Remembers the last thumbnail; `isCut(frame)` says whether this frame starts a new scene. */
export function createSceneCutDetector(threshold = DEFAULT_CUT_THRESHOLD): { isCut(frame: RgbImage): boolean; reset(): void } {
  let previous: Float32Array | undefined;
  return {
    isCut(frame) {
      const thumb = lumaThumbnail(frame);
      const cut = previous === undefined || thumbnailDistance(thumb, previous) > threshold;
      previous = thumb;
      return cut;
    },
    reset() {
      previous = undefined;
    },
  };
}
