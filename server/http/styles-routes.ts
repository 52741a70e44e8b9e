/**
 * GET /api/styles, GET /api/styles/:id/image, POST /api/styles (multipart field "image"). An
 * upload starts learning its live painter in the background (`training`); the list says how far
 * that is for each upload (`painter`: waiting, learning, ready, failed or dropped). Uploads are
 * rate-limited per client, refused (507) when the disk would be left too full, and count
 * against the client's and the library's quotas (styles/upload-quota.ts).
 */
import { Router, type NextFunction, type Request, type Response } from 'express';
import multer from 'multer';
import { BadInputError, RateLimitedError } from '../errors.js';
import { createRateLimiter } from '../security/rate-limit.js';
import type { PainterTraining } from '../painter/painter-training.js';
import type { StyleLibrary } from '../styles/style-library.js';
import { parseUpload, requireSpace } from './upload.js';

export interface StyleUploadLimits {
  maxBytes: number;
  /** Where uploads are kept: its disk must keep `minFreeBytes` free. */
  dir: string;
  minFreeBytes: number;
  /** Uploads one client may send a minute. */
  perMinute: number;
}

export function stylesRoutes(styles: StyleLibrary, limits: StyleUploadLimits, training?: PainterTraining): Router {
  const router = Router();
  const upload = multer({ storage: multer.memoryStorage(), limits: { fileSize: limits.maxBytes, files: 1 } });
  const limiter = createRateLimiter(limits.perMinute);

  router.get('/api/styles', async (_req, res) => {
    res.json(
      (await styles.list()).map(({ id, name, url }) => {
        const painter = training?.status(id);
        return { id, name, url, ...(painter ? { painter } : {}) };
      }),
    );
  });

  router.get('/api/styles/:id/image', async (req, res) => {
    const { bytes, contentType } = await styles.image(req.params.id);
    res.type(contentType).set('Cache-Control', 'public, max-age=3600').send(bytes);
  });

  const rateLimit = (req: Request, _res: Response, next: NextFunction): void => {
    const wait = limiter.take(req.ip ?? 'unknown');
    next(wait > 0 ? new RateLimitedError(`too many styles uploaded from this address; try again in ${wait} s`, wait) : undefined);
  };

  router.post('/api/styles', rateLimit, requireSpace(limits.dir, limits.minFreeBytes, limits.maxBytes), parseUpload(upload.single('image')), async (req, res) => {
    if (!req.file) throw new BadInputError('send the style as multipart/form-data with the file in the field "image"');
    const style = await styles.add(req.file.buffer, req.file.originalname, req.ip ?? 'unknown');
    training?.enqueue(style.id);
    const painter = training?.status(style.id);
    res.status(201).json({ id: style.id, name: style.name, url: style.url, ...(painter ? { painter } : {}) });
  });

  return router;
}
