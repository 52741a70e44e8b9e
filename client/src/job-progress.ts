/**
 * What the video panel says about a job, without the DOM: the progress line (stage before the
 * first frame, frames, the time left counted down between events) and when to fetch a preview
 * (only once the server says one exists: `preview` in the job; at most once a second).
 */

/** A job as GET /api/jobs/:id and its event stream give it (docs/protocol.md, "Video jobs"). */
export interface JobView {
  id: string;
  status: 'queued' | 'running' | 'done' | 'failed' | 'canceled';
  progress: number;
  framesDone: number;
  framesTotal: number;
  error?: string;
  /** What a running job is doing; 'learning-painter' with `learning`: steps done of planned. */
  stage?: 'starting' | 'decoding' | 'learning-painter' | 'painting-first-frame' | 'painting' | 'assembling';
  learning?: { step: number; steps: number };
  /** About how many seconds of painting are left (once a frame has been timed). */
  etaS?: number;
  /** The preview's URL, present once a painted frame is stored. */
  preview?: string;
}

/** "8 s", "2 min 05 s", "1 h 04 min". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** The job's stage in words, before frames come (undefined once it paints them). */
function stageWords(job: JobView): string | undefined {
  switch (job.stage) {
    case 'starting':
      return 'starting the painters';
    case 'decoding':
      return 'reading the video';
    case 'learning-painter':
      return job.learning ? `teaching the painter this style: step ${job.learning.step}/${job.learning.steps}` : 'teaching the painter this style';
    case 'painting-first-frame':
      return 'painting the first frame (it takes the most steps)';
    default:
      return undefined;
  }
}

/**
 * The progress line. `secondsSince`: how long ago the job was reported, so that the time left
 * counts down between events (a frame can take several seconds).
 */
export function describeJob(job: JobView, secondsSince = 0): string {
  const percent = `${Math.round(job.progress * 100)} %`;
  if (job.stage === 'assembling') return `${job.status} · putting the video together${job.framesTotal ? ` · ${job.framesTotal} frames` : ''} · ${percent}`;
  const parts = [job.status, stageWords(job) ?? `${job.framesDone}/${job.framesTotal} frames`, percent];
  if (job.status === 'running' && job.etaS !== undefined) {
    const left = job.etaS - secondsSince;
    parts.push(left >= 1 ? `about ${formatDuration(left)} left` : 'almost done');
  }
  return parts.join(' · ');
}

/**
 * When to (re)load the preview: only while the job says one exists, at most every `everyMs`;
 * `next` answers the URL to load now (a fresh query each time: the frame changes), or undefined.
 */
export function createPreviewGate(everyMs = 1000): { next(job: JobView, now: number): string | undefined } {
  let last = Number.NEGATIVE_INFINITY;
  return {
    next(job, now) {
      if (!job.preview || now - last < everyMs) return undefined;
      last = now;
      return `${job.preview}${job.preview.includes('?') ? '&' : '?'}t=${Math.round(now)}`;
    },
  };
}
