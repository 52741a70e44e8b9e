/**
 * Video jobs over HTTP: POST /api/jobs (multipart: `video`, and `style` id or a `styleImage`
 * file, options as fields), GET /api/jobs/:id, GET /api/jobs/:id/events (SSE progress),
 * GET /api/jobs/:id/preview (latest stylized frame), GET /api/jobs/:id/output, DELETE /api/jobs/:id.
 */
import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Router, type Response } from 'express';
import multer from 'multer';
import { LIMITS, parseVideoJobOptions } from '../config.js';
import { decodeImage } from '../codec/image-codec.js';
import { BadInputError, ErrorCode, StylizeError } from '../errors.js';
import { UnknownStyleError, type StyleLibrary } from '../styles/style-library.js';
import type { Job } from '../video/jobs/job-store.js';
import { progressOf, type JobRunner } from '../video/jobs/job-runner.js';

const MAX_STYLE_BYTES = 20 * 1024 * 1024;

export function publicJob(job: Job): Record<string, unknown> {
  return {
    id: job.id,
    status: job.status,
    progress: Math.round(progressOf(job) * 1000) / 1000,
    framesDone: job.framesDone,
    framesTotal: job.framesTotal,
    ...(job.error ? { error: job.error } : {}),
    input: job.inputName,
    style: job.styleName,
    ...(job.info ? { width: job.info.width, height: job.info.height, fps: Math.round(job.info.fps * 1000) / 1000, audio: job.info.audio !== undefined } : {}),
  };
}

const FINAL = new Set(['done', 'failed', 'canceled']);

export function jobsRoutes(runner: JobRunner, styles: StyleLibrary, uploadsDir: string, maxVideoBytes: number): Router {
  const router = Router();
  const upload = multer({
    storage: multer.diskStorage({
      destination: (_req, _file, done) => {
        mkdir(uploadsDir, { recursive: true }).then(() => done(null, uploadsDir), (e: Error) => done(e, uploadsDir));
      },
      // Our own names only: the client's file name is never a path here.
      filename: (_req, _file, done) => done(null, `${Date.now()}-${Math.random().toString(36).slice(2)}.upload`),
    }),
    limits: { fileSize: maxVideoBytes, files: 2, fields: 20 },
  });

  const find = async (id: string): Promise<Job> => {
    const job = await runner.get(id);
    if (!job) throw new StylizeError(ErrorCode.NOT_FOUND, `no job "${id}"`);
    return job;
  };

  router.post('/api/jobs', upload.fields([{ name: 'video', maxCount: 1 }, { name: 'styleImage', maxCount: 1 }]), async (req, res) => {
    const files = (req.files ?? {}) as Record<string, Express.Multer.File[] | undefined>;
    const video = files.video?.[0];
    const styleFile = files.styleImage?.[0];
    try {
      if (!video) throw new BadInputError('send the video as multipart/form-data in the field "video"');
      const options = parseVideoJobOptions(req.body as Record<string, unknown>);
      const body = req.body as { style?: string };
      let style;
      let styleName: string;
      if (styleFile) {
        if (styleFile.size > MAX_STYLE_BYTES) throw new StylizeError(ErrorCode.TOO_LARGE, `style image larger than ${MAX_STYLE_BYTES} bytes`);
        style = await decodeImage(styleFile.path, { longSide: 1024, minShortSide: LIMITS.minSize, label: 'the style image' });
        styleName = styleFile.originalname;
      } else {
        const id = body.style ?? styles.defaultId;
        if (!(await styles.has(id))) throw new UnknownStyleError(id);
        style = await styles.decoded(id, 1024, LIMITS.minSize);
        styleName = id;
      }
      const job = await runner.submit({ inputPath: video.path, inputName: video.originalname, style, styleName, options });
      res.status(202).location(`/api/jobs/${job.id}`).json(publicJob(job));
    } finally {
      if (video) await rm(video.path, { force: true });
      if (styleFile) await rm(styleFile.path, { force: true });
    }
  });

  router.get('/api/jobs/:id', async (req, res) => {
    res.json(publicJob(await find(req.params.id)));
  });

  router.get('/api/jobs/:id/events', async (req, res) => {
    const job = await find(req.params.id);
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    const send = (j: Job): void => {
      res.write(`event: progress\ndata: ${JSON.stringify(publicJob(j))}\n\n`);
    };
    send(job);
    if (FINAL.has(job.status)) return void res.end();
    const onUpdate = (update: Job): void => {
      if (update.id !== job.id) return;
      send(update);
      if (FINAL.has(update.status)) end(res);
    };
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    const end = (r: Response): void => {
      clearInterval(keepAlive);
      runner.off('update', onUpdate);
      r.end();
    };
    runner.on('update', onUpdate);
    req.on('close', () => end(res));
  });

  router.get('/api/jobs/:id/preview', async (req, res) => {
    await find(req.params.id);
    const file = runner.previewPath(req.params.id);
    if (!(await stat(file).catch(() => undefined))) throw new StylizeError(ErrorCode.NOT_FOUND, 'no frame stylized yet');
    res.set('Cache-Control', 'no-store').type('image/jpeg').sendFile(file);
  });

  router.get('/api/jobs/:id/output', async (req, res) => {
    const job = await find(req.params.id);
    if (job.status !== 'done') throw new StylizeError(ErrorCode.NOT_READY, `job is ${job.status}; the output exists once it is done`);
    const name = `${path.parse(job.inputName).name || 'video'}-stylized.mp4`.replace(/[^\w.-]+/g, '_');
    res.type('video/mp4').set('Content-Disposition', `inline; filename="${name}"`).sendFile(runner.outputPath(job.id));
  });

  router.delete('/api/jobs/:id', async (req, res) => {
    await find(req.params.id);
    res.json(publicJob((await runner.cancel(req.params.id))!));
  });

  return router;
}
