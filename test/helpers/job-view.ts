/** What GET /api/jobs/:id answers (the fields the tests read). */
export interface JobView {
  id: string;
  status: string;
  /** 0–1. */
  progress: number;
  framesDone: number;
  framesTotal: number;
  error?: string;
}
