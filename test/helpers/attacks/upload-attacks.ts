/**
 * Attacks over plain HTTP (issue 10, items 2, 3, 4 as a job, 6 and the HTTP parts of 9): room
 * creation floods, style and job uploads. Each takes the target and bounds and returns what the
 * attacker saw.
 */
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import { type AttackResult, type Bounds, type HttpAnswer, type Target, answerKey, answerWithin, count, postMultipart, request, sleep } from './http.js';
import { filterBombSvg, pixelBombJpeg } from './media.js';
import { chunkWorkers } from './process-tree.js';

const from = (target: Target): { from?: string } => (target.from ? { from: target.from } : {});
const remaining = (deadline: number): number => Math.max(0, deadline - performance.now());

interface PublicJob {
  id: string;
  status: string;
  framesDone?: number;
  framesTotal?: number;
  error?: string;
}

async function getJob(target: Target, id: string): Promise<PublicJob | undefined> {
  const answer = await request(`${target.baseUrl}/api/jobs/${id}`, { timeoutMs: 30_000 });
  return answer.status === 200 ? (JSON.parse(answer.body) as PublicJob) : undefined;
}

/** Polls a job until `done(job)` or the deadline; the last state seen. */
export async function pollJob(target: Target, id: string, done: (job: PublicJob) => boolean, deadline: number, signal?: AbortSignal): Promise<PublicJob | undefined> {
  let job: PublicJob | undefined;
  while (performance.now() < deadline && !signal?.aborted) {
    job = (await getJob(target, id)) ?? job;
    if (job && done(job)) return job;
    await sleep(Math.min(500, remaining(deadline)), signal);
  }
  return job ?? (await getJob(target, id));
}

const FINAL = new Set(['done', 'failed', 'canceled']);

async function submitJob(
  target: Target,
  video: Buffer,
  extra: { styleImage?: Buffer; signal?: AbortSignal | undefined } = {},
  timeoutMs = 60_000,
): Promise<{ answer: HttpAnswer; job?: PublicJob }> {
  const answer = await postMultipart(
    `${target.baseUrl}/api/jobs`,
    [
      { name: 'video', filename: 'clip.mkv', contentType: 'video/x-matroska', data: video },
      ...(extra.styleImage ? [{ name: 'styleImage', filename: 'style.jpg', contentType: 'image/jpeg', data: extra.styleImage }] : []),
    ],
    { timeoutMs, ...from(target), ...(extra.signal ? { signal: extra.signal } : {}) },
  );
  return { answer, ...(answer.status === 202 ? { job: JSON.parse(answer.body) as PublicJob } : {}) };
}

/**
 * 2. Up to `rooms` POST /api/rooms, `concurrency` at a time, alternating a JSON body and a
 * `Content-Type: text/plain` one (what any web page may send cross-origin without a preflight).
 * Then a different client (the default address) tries to create one room.
 */
export async function roomFlood(target: Target, { rooms = 10_000, concurrency = 64, ...bounds }: Bounds & { rooms?: number; concurrency?: number }): Promise<AttackResult> {
  const answers = {};
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const deadline = performance.now() + bounds.durationMs;
  const started = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < rooms && performance.now() < deadline && !bounds.signal?.aborted) {
      const n = next++;
      const json = n % 2 === 0;
      const answer = await request(`${target.baseUrl}/api/rooms`, {
        method: 'POST',
        headers: { 'Content-Type': json ? 'application/json' : 'text/plain;charset=UTF-8' },
        body: json ? JSON.stringify({ room: `flood-${n}` }) : '{"room":"x"}',
        agent,
        timeoutMs: remaining(deadline) + 1000,
        ...from(target),
      });
      count(answers, `${json ? 'json' : 'text/plain'} ${answerKey(answer)}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedMs = performance.now() - started;
  agent.destroy();
  const victim = await request(`${target.baseUrl}/api/rooms`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}', timeoutMs: answerWithin(bounds) });
  return {
    attack: `${rooms} POST /api/rooms (JSON and text/plain)`,
    answers,
    observed: { sent: next, elapsedMs: Math.round(elapsedMs), anotherClientCreatesRoom: answerKey(victim) },
  };
}

/** 3. `uploads` concurrent POST /api/styles of the ~310 KB filter-bomb SVG (6000×6000). */
export async function svgStyleFlood(target: Target, { uploads = 4, ...bounds }: Bounds & { uploads?: number }): Promise<AttackResult> {
  const answers = {};
  const svg = filterBombSvg();
  const results = await Promise.all(
    Array.from({ length: uploads }, (_, i) =>
      postMultipart(`${target.baseUrl}/api/styles`, [{ name: 'image', filename: `bomb-${i}.svg`, contentType: 'image/svg+xml', data: svg }], {
        timeoutMs: bounds.durationMs,
        ...(bounds.signal ? { signal: bounds.signal } : {}),
        ...from(target),
      }),
    ),
  );
  for (const answer of results) count(answers, answerKey(answer) === 'timeout' ? 'no answer within the attack' : answerKey(answer));
  return { attack: `${uploads} SVG style uploads (${Math.round(svg.length / 1000)} KB, filter chain, 6000×6000)`, answers, observed: { answeredMs: results.map((r) => Math.round(r.ms)) } };
}

/** 4 (job). POST /api/jobs with a small valid `video` and the pixel-bomb JPEG as `styleImage`. */
export async function pixelBombJob(target: Target, { video, ...bounds }: Bounds & { video: string }): Promise<AttackResult> {
  const answers = {};
  const { answer, job } = await submitJob(target, await readFile(video), { styleImage: await pixelBombJpeg(), signal: bounds.signal }, answerWithin(bounds));
  count(answers, answerKey(answer));
  const deadline = performance.now() + bounds.durationMs;
  const last = job ? await pollJob(target, job.id, (j) => FINAL.has(j.status), deadline, bounds.signal) : undefined;
  return { attack: 'job with a 16383×16383-claiming styleImage', answers, observed: { answerMs: Math.round(answer.ms), job: last ?? null } };
}

/**
 * 6. `jobs` uploads of an MKV whose Duration says 10 s but which holds many more frames; then
 * another client submits a small `healthyVideo` and waits for it to start.
 */
export async function lyingDurationJobs(
  target: Target,
  { video, healthyVideo, jobs = 3, ...bounds }: Bounds & { video: string; healthyVideo: string; jobs?: number },
): Promise<AttackResult> {
  const answers = {};
  const bytes = await readFile(video);
  const accepted: { framesTotal: number | undefined; status: string }[] = [];
  for (let i = 0; i < jobs && !bounds.signal?.aborted; i++) {
    const { answer, job } = await submitJob(target, bytes, { signal: bounds.signal }, answerWithin(bounds));
    count(answers, answerKey(answer));
    if (job) accepted.push({ framesTotal: job.framesTotal, status: job.status });
  }
  const healthy = await submitJob({ baseUrl: target.baseUrl }, await readFile(healthyVideo), { signal: bounds.signal }, answerWithin(bounds));
  const submittedAt = performance.now();
  const deadline = submittedAt + bounds.durationMs;
  let healthyStartedAfterMs: number | null = null;
  let healthyStatus = answerKey(healthy.answer);
  if (healthy.job) {
    const last = await pollJob(target, healthy.job.id, (j) => j.status !== 'queued', deadline, bounds.signal);
    healthyStatus = last?.status ?? healthyStatus;
    if (last && last.status !== 'queued') healthyStartedAfterMs = Math.round(performance.now() - submittedAt);
  }
  return {
    attack: `${jobs} jobs of an MKV that says 10 s (${Math.round(bytes.length / 1e6)} MB)`,
    answers,
    observed: { accepted, anotherClientsJob: healthyStatus, anotherClientsJobStartedAfterMs: healthyStartedAfterMs },
  };
}

/** 9. Malformed multipart bodies to POST /api/jobs and POST /api/styles. */
export async function malformedMultipart(target: Target, bounds: Bounds): Promise<AttackResult> {
  const answers = {};
  const b = 'abuse-b';
  const cases: Record<string, { contentType: string; body: string }> = {
    unterminated: { contentType: `multipart/form-data; boundary=${b}`, body: `--${b}\r\nContent-Disposition: form-data; name="video"; filename="a.mp4"\r\n\r\npartial` },
    'no boundary': { contentType: 'multipart/form-data', body: `--${b}\r\nContent-Disposition: form-data; name="x"\r\n\r\n1\r\n--${b}--\r\n` },
    'bad part header': { contentType: `multipart/form-data; boundary=${b}`, body: `--${b}\r\nthis is not a header\r\n\r\ndata\r\n--${b}--\r\n` },
  };
  for (const route of ['/api/jobs', '/api/styles']) {
    for (const [name, c] of Object.entries(cases)) {
      const answer = await request(`${target.baseUrl}${route}`, {
        method: 'POST',
        headers: { 'Content-Type': c.contentType },
        body: c.body,
        timeoutMs: answerWithin(bounds),
        ...from(target),
      });
      count(answers, `${route} ${name}: ${answerKey(answer)}`);
    }
  }
  return { attack: 'malformed multipart bodies', answers, observed: {} };
}

/** 9. A job whose video ffprobe accepts but ffmpeg cannot decode: what error text the job shows. */
export async function ffmpegFailingJob(target: Target, { video, ...bounds }: Bounds & { video: string }): Promise<AttackResult> {
  const answers = {};
  const { answer, job } = await submitJob(target, await readFile(video), { signal: bounds.signal }, answerWithin(bounds));
  count(answers, answerKey(answer));
  const deadline = performance.now() + bounds.durationMs;
  const last = job ? await pollJob(target, job.id, (j) => FINAL.has(j.status), deadline, bounds.signal) : undefined;
  if (last) count(answers, `job ${last.status}`);
  return { attack: 'a job whose ffmpeg fails', answers, observed: { jobError: last?.error ?? null, answerBody: job ? null : answer.body.slice(0, 300) } };
}

/**
 * 9. SIGKILL a chunk worker mid-job: submit `video` (long enough for several chunks), wait until
 * the job runs and a worker process of `serverPid` exists (it has a chunk: one job runs at a
 * time and its chunks fill every worker), kill it, and see how the job ends.
 */
export async function killWorkerMidJob(target: Target, { video, serverPid, ...bounds }: Bounds & { video: string; serverPid: number }): Promise<AttackResult> {
  const answers = {};
  const { answer, job } = await submitJob(target, await readFile(video), { signal: bounds.signal }, answerWithin(bounds));
  count(answers, answerKey(answer));
  const deadline = performance.now() + bounds.durationMs;
  if (!job) return { attack: 'SIGKILL a chunk worker mid-job', answers, observed: {} };
  let killed: { pid: number; framesDone: number | undefined } | undefined;
  while (performance.now() < deadline && killed === undefined && !bounds.signal?.aborted) {
    const state = await getJob(target, job.id);
    const worker = chunkWorkers(serverPid)[0];
    if (state?.status === 'running' && worker !== undefined) {
      process.kill(worker, 'SIGKILL');
      killed = { pid: worker, framesDone: state.framesDone };
    } else await sleep(200, bounds.signal);
  }
  const last = await pollJob(target, job.id, (j) => FINAL.has(j.status), deadline, bounds.signal);
  count(answers, `job ${last?.status ?? 'unknown'}`);
  return { attack: 'SIGKILL a chunk worker mid-job', answers, observed: { killedWorker: killed ?? null, job: last ?? null } };
}
