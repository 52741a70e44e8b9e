/**
 * The long side a style image is seen at, for live frames and video jobs alike: the working
 * frame's long side (where the strokes are painted), but a square style gets at most
 * STYLE_PIXELS_PER_WORK_PIXEL times the working frame's pixels. For 16:9 and narrower frames
 * nothing changes (16/9 ≤ 2: the long side wins); a 4:1 frame does not ask for a style four
 * times as long (issue 20: a 10 000 px style for a 10 000×16 frame). Never below the network's
 * least side.
 */
export const STYLE_PIXELS_PER_WORK_PIXEL = 2;

export function styleSideFor(work: { width: number; height: number }, minSide: number): number {
  const long = Math.max(work.width, work.height);
  return Math.max(minSide, Math.min(Math.round(long), Math.floor(Math.sqrt(STYLE_PIXELS_PER_WORK_PIXEL * work.width * work.height))));
}
