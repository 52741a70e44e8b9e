/**
 * Video jobs over HTTP: POST /api/jobs (multipart: `video`, and `style` id or a `styleImage`
 * file, options as fields), GET /api/jobs/:id, GET /api/jobs/:id/events (SSE progress),
 * GET /api/jobs/:id/preview (latest stylized frame), GET /api/jobs/:id/output, DELETE /api/jobs/:id
 * (cancels a job still going; deletes an ended one with its files). The submit's answer carries
 * the job's owner token (`ownerToken`, given once); DELETE needs it (`Authorization: Bearer
 * <token>` or `X-Job-Token`), 403 FORBIDDEN without it. Reading a job needs only its id.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Router, type Request, type Response } from 'express';
import multer from 'multer';
import { LIMITS, parseVideoJobOptions } from '../config.js';
import { decodeImage } from '../codec/image-codec.js';
import { BadInputError, ErrorCode, ForbiddenError, StylizeError } from '../errors.js';
import type { RgbImage } from '../engine/image.js';
import type { Logger } from '../logger.js';
import { UnknownStyleError, type StyleLibrary } from '../styles/style-library.js';
import type { Job } from '../jobs/job-store.js';
import { progressOf, type JobQueue } from '../jobs/job-queue.js';
import { isJobOwner, newJobToken } from '../jobs/job-token.js';
import { parseUpload, requireSpace } from './upload.js';
import { createConnectionCaps } from '../security/connection-caps.js';

const MAX_STYLE_BYTES = 20 * 1024 * 1024;

/**
 * A job as the API shows it (docs/protocol.md, "Video jobs"): while it runs, its `stage` and, once
 * its chunks have timed a frame, `etaS`; `preview` (the URL) only once a painted frame is stored,
 * so that no client asks for one that is not there yet.
 */
export function publicJob(job: Job): Record<string, unknown> {
  return {
    id: job.id,
    status: job.status,
    ...(job.stage ? { stage: job.stage } : {}),
    ...(job.learning ? { learning: job.learning } : {}),
    progress: Math.round(progressOf(job) * 1000) / 1000,
    framesDone: job.framesDone,
    framesTotal: job.framesTotal,
    ...(job.etaS !== undefined ? { etaS: job.etaS } : {}),
    ...(job.hasPreview ? { preview: `/api/jobs/${job.id}/preview` } : {}),
    ...(job.error ? { error: job.error } : {}),
    input: job.inputName,
    style: job.styleName,
    ...(job.info ? { width: job.info.width, height: job.info.height, fps: Math.round(job.info.fps * 1000) / 1000, audio: job.info.audio !== undefined } : {}),
  };
}

const FINAL = new Set(['done', 'failed', 'canceled']);
export interface JobsRoutesDeps {
  runner: JobQueue;
  styles: StyleLibrary;
  uploadsDir: string;
  maxVideoBytes: number;
  /** Uploads are refused (507) when they would leave less than this free. */
  minFreeBytes: number;
  maxImagePixels: number;
  log: Logger;
  /** Open progress event streams (SSE): per client and in all. */
  eventStreams: { perClient: number; total: number };
}

export function jobsRoutes(deps: JobsRoutesDeps): Router {
  const { runner, uploadsDir } = deps;
  const router = Router();
  const streams = createConnectionCaps('job event streams', deps.eventStreams);
  const upload = multer({
    storage: multer.diskStorage({
      // A function, not a path: multer would create a path at start-up, and a full disk must
      // not stop the server from starting (requireSpace creates it per request).
      destination: (_req, _file, done) => done(null, uploadsDir),
      // Our own names only: the client's file name is never a path here.
      filename: (_req, _file, done) => done(null, `${Date.now()}-${Math.random().toString(36).slice(2)}.upload`),
    }),
    limits: { fileSize: deps.maxVideoBytes, files: 2, fields: 20, fieldSize: 4096 },
  });

  const find = async (id: string): Promise<Job> => {
    const job = await runner.get(id);
    if (!job) throw new StylizeError(ErrorCode.NOT_FOUND, `no job "${id.slice(0, 40)}"`);
    return job;
  };

  router.post(
    '/api/jobs',
    requireSpace(uploadsDir, deps.minFreeBytes, deps.maxVideoBytes),
    parseUpload(upload.fields([{ name: 'video', maxCount: 1 }, { name: 'styleImage', maxCount: 1 }])),
    (req, res) => submitJob(req, res, deps),
  );

  router.get('/api/jobs/:id', async (req, res) => {
    res.json(publicJob(await find(req.params.id)));
  });

  router.get('/api/jobs/:id/events', async (req, res) => {
    await find(req.params.id);
    const release = streams.admit(req.ip ?? 'unknown');
    try {
      await streamJobEvents(req, res, deps);
    } finally {
      release();
    }
  });

  router.get('/api/jobs/:id/preview', async (req, res) => {
    await find(req.params.id);
    const jpeg = await runner.preview(req.params.id);
    if (!jpeg) throw new StylizeError(ErrorCode.NOT_FOUND, 'no frame stylized yet');
    res.set('Cache-Control', 'no-store').type('image/jpeg').send(jpeg);
  });

  router.get('/api/jobs/:id/output', async (req, res) => {
    await sendOutput(await find(req.params.id), res, runner);
  });

  router.delete('/api/jobs/:id', async (req, res) => {
    const job = await find(req.params.id);
    if (!isJobOwner(job, ownerTokenOf(req))) {
      throw new ForbiddenError('cancelling or deleting a job needs the owner token its submit answered (Authorization: Bearer <token> or X-Job-Token)');
    }
    if (FINAL.has(job.status)) {
      // Ended: the job and every file of it go now (not only at the retention time).
      await runner.remove(job.id);
      return void res.json({ ...publicJob(job), status: 'deleted' });
    }
    res.json(publicJob((await runner.cancel(job.id))!));
  });

  return router;
}

/** POST /api/jobs once multer has the files: the job is submitted (or refused), and the uploads are removed either way. */
async function submitJob(req: Request, res: Response, deps: JobsRoutesDeps): Promise<void> {
  const files = (req.files ?? {}) as Record<string, Express.Multer.File[] | undefined>;
  const video = files.video?.[0];
  const styleFile = files.styleImage?.[0];
  try {
    if (!video) throw new BadInputError('send the video as multipart/form-data in the field "video"');
    const options = parseVideoJobOptions(req.body as Record<string, unknown>);
    const { style, styleName, styleBytes } = await jobStyle(styleFile, (req.body as { style?: string }).style, deps);
    const owner = newJobToken();
    const job = await deps.runner.submit({
      inputPath: video.path,
      inputName: video.originalname.slice(0, 200),
      style,
      ...(styleBytes ? { styleBytes } : {}),
      styleName,
      options,
      client: req.ip ?? 'unknown',
      ownerTokenHash: owner.hash,
    });
    res.status(202).location(`/api/jobs/${job.id}`).json({ ...publicJob(job), ownerToken: owner.token });
  } finally {
    if (video) await rm(video.path, { force: true });
    if (styleFile) await rm(styleFile.path, { force: true });
  }
}

/** The owner token a request carries: `Authorization: Bearer <token>`, or `X-Job-Token`. */
function ownerTokenOf(req: Request): string | undefined {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '')?.[1];
  return bearer ?? req.get('x-job-token')?.trim();
}

/** The style a job is painted in: an uploaded image (decoded by the runner only once the video has passed its checks), or a style of the library by id. */
async function jobStyle(
  styleFile: Express.Multer.File | undefined,
  styleId: string | undefined,
  deps: Pick<JobsRoutesDeps, 'styles' | 'maxImagePixels'>,
): Promise<{ style: () => Promise<RgbImage>; styleName: string; styleBytes?: () => Promise<Uint8Array> }> {
  if (styleFile) {
    if (styleFile.size > MAX_STYLE_BYTES) throw new StylizeError(ErrorCode.TOO_LARGE, `style image larger than ${MAX_STYLE_BYTES} bytes`);
    return {
      style: () => decodeImage(styleFile.path, { longSide: 1024, minShortSide: LIMITS.minSize, label: 'the style image', maxPixels: deps.maxImagePixels }),
      styleName: styleFile.originalname.slice(0, 200),
    };
  }
  const { styles } = deps;
  const id = styleId ?? styles.defaultId;
  if (!(await styles.has(id))) throw new UnknownStyleError(id);
  return { style: () => styles.decoded(id, 1024, LIMITS.minSize), styleBytes: async () => (await styles.image(id)).bytes, styleName: id };
}

/** Server-sent events: the job now, then every change until it ends (or the client leaves). */
async function streamJobEvents(req: Request<{ id: string }>, res: Response, deps: Pick<JobsRoutesDeps, 'runner' | 'log'>): Promise<void> {
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
  const left = new AbortController();
  req.on('close', () => left.abort());
  try {
    for await (const job of deps.runner.watch(req.params.id, { signal: left.signal })) {
      res.write(`event: progress\ndata: ${JSON.stringify(publicJob(job))}\n\n`);
    }
  } catch (error) {
    // The stream has begun: the client sees it end (and may reconnect); the log says why.
    deps.log.warn({ err: error, job: req.params.id }, 'job event stream failed');
  } finally {
    clearInterval(keepAlive);
    res.end();
  }
}

/** The painted MP4: from this gateway's disk, or passed through from the farm gateway that holds it. */
async function sendOutput(job: Job, res: Response, runner: JobQueue): Promise<void> {
  if (job.status !== 'done') throw new StylizeError(ErrorCode.NOT_READY, `job is ${job.status}; the output exists once it is done`);
  const output = await runner.output(job.id);
  if (!output) throw new StylizeError(ErrorCode.NOT_FOUND, 'the output is gone');
  const name = `${path.parse(job.inputName).name || 'video'}-stylized.mp4`.replace(/[^\w.-]+/g, '_');
  res.type('video/mp4').set('Content-Disposition', `inline; filename="${name}"`);
  if ('path' in output) return void res.sendFile(output.path);
  if (output.size !== undefined) res.set('Content-Length', String(output.size));
  await pipeline(output.stream, res);
}
