/** What GET /api/jobs/:id answers (the fields the tests read). */
export interface JobView {
  id: string;
  status: string;
  /** 0–1. */
  progress: number;
  framesDone: number;
  framesTotal: number;
  error?: string;
  /** While running: 'starting', 'decoding', 'learning-painter', 'painting-first-frame', 'painting', 'assembling'. */
  stage?: string;
  /** Seconds of painting left, once a frame has been timed. */
  etaS?: number;
  /** The preview's URL, once one is stored. */
  preview?: string;
}
