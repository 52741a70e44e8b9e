/**
 * The video-file panel: upload a file with the chosen style and settings, follow the job over
 * server-sent events (progress bar, what the job is doing and the time it has left, and a preview
 * of the latest painted frame once the server has one), then play or download the result. The
 * submit answers the job's owner token: kept here, and sent to cancel.
 */
import { createPreviewGate, describeJob, type JobView } from './job-progress.js';
import type { MotionMode } from './live-client.js';

export interface VideoJobSettings {
  style: string | undefined;
  size: number;
  stepsPerFrame: number;
  /** 0 … 1: how much of the style (the server turns it into α and β). */
  styleStrength: number;
  preserveColors: boolean;
  motion: MotionMode;
  temporalWeight: number;
}

export function setUpVideoJobs(settings: () => VideoJobSettings, showError: (message: string) => void): void {
  const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
  const fileInput = $<HTMLInputElement>('job-file');
  const go = $<HTMLButtonElement>('job-go');
  const cancel = $<HTMLButtonElement>('job-cancel');
  const bar = $<HTMLProgressElement>('job-bar');
  const text = $('job-text');
  const preview = $<HTMLImageElement>('job-preview');
  const result = $<HTMLVideoElement>('job-result');
  const download = $<HTMLAnchorElement>('job-download');
  let events: EventSource | undefined;
  /** Re-renders the progress line every second between events: the time left counts down. */
  let ticker: number | undefined;
  let current: string | undefined;
  /** The owner token of `current` (POST /api/jobs answered it; DELETE needs it). */
  let ownerToken: string | undefined;

  // The CSS shows each at twice this width, or the panel's if narrower (a small frame stays crisp).
  preview.addEventListener('load', () => preview.style.setProperty('--natural-width', `${preview.naturalWidth}px`));
  result.addEventListener('loadedmetadata', () => result.style.setProperty('--natural-width', `${result.videoWidth}px`));

  fileInput.addEventListener('change', () => {
    const file = fileInput.files?.[0];
    $('job-name').textContent = file ? file.name : 'no file chosen';
    go.disabled = !file;
  });

  go.addEventListener('click', async () => {
    const file = fileInput.files?.[0];
    if (!file) return;
    const s = settings();
    const form = new FormData();
    form.append('video', file);
    if (s.style) form.append('style', s.style);
    form.append('size', String(s.size));
    form.append('stepsPerFrame', String(Math.max(1, s.stepsPerFrame)));
    form.append('styleStrength', String(s.styleStrength));
    form.append('preserveColors', String(s.preserveColors));
    form.append('motion', s.motion);
    form.append('temporalWeight', String(s.temporalWeight));
    form.append('painter', $<HTMLInputElement>('job-painter').checked ? 'learned' : 'off');
    go.disabled = true;
    result.hidden = true;
    download.hidden = true;
    preview.hidden = true;
    $('job-progress').hidden = false;
    text.textContent = 'uploading…';
    const response = await fetch('/api/jobs', { method: 'POST', body: form });
    const body = (await response.json()) as Partial<JobView> & { error?: unknown; ownerToken?: string };
    if (!response.ok || !body.id) {
      go.disabled = false;
      $('job-progress').hidden = true;
      const problem = body.error as { message?: string } | undefined;
      return showError(problem?.message ?? `upload failed (${response.status})`);
    }
    ownerToken = body.ownerToken;
    follow(body.id);
  });

  cancel.addEventListener('click', () => {
    if (!current) return;
    const headers: Record<string, string> = ownerToken ? { Authorization: `Bearer ${ownerToken}` } : {};
    void fetch(`/api/jobs/${current}`, { method: 'DELETE', headers });
  });

  function follow(id: string): void {
    current = id;
    cancel.hidden = false;
    events?.close();
    window.clearInterval(ticker);
    events = new EventSource(`/api/jobs/${id}/events`);
    // The server names the preview (`preview`) only once one is stored: never a request for a frame that is not there.
    const previews = createPreviewGate();
    let latest: { job: JobView; at: number } | undefined;
    ticker = window.setInterval(() => {
      if (latest) text.textContent = describeJob(latest.job, (performance.now() - latest.at) / 1000);
    }, 1000);
    events.addEventListener('progress', (event) => {
      const job = JSON.parse((event as MessageEvent<string>).data) as JobView;
      latest = { job, at: performance.now() };
      bar.value = job.progress;
      text.textContent = describeJob(job);
      const url = previews.next(job, Date.now());
      if (url) {
        preview.src = url;
        preview.hidden = false;
      }
      if (job.status === 'done' || job.status === 'failed' || job.status === 'canceled') {
        window.clearInterval(ticker);
        events?.close();
        cancel.hidden = true;
        go.disabled = !fileInput.files?.[0];
        if (job.status === 'failed') showError(`The video could not be painted: ${job.error ?? 'unknown error'}`);
        if (job.status === 'done') {
          result.src = `/api/jobs/${id}/output`;
          result.hidden = false;
          download.href = `/api/jobs/${id}/output`;
          download.hidden = false;
        }
      }
    });
  }
}
